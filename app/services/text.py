"""Titles and names are one line wherever they are stored.

A name, a service type or a subject travels into places where a line break is a separator: an
e-mail header (a CR/LF in a subject starts a new header, such as Bcc), a log line, a calendar
event's title, a one-line label. So every such text is checked where it enters the store:

- Text a person types (a booking's service, a customer's or a technician's name) is refused with a
  sentence: the person is there to fix it, and silently joining two lines could change what they
  meant ("Leak check" + "Bcc: …" is not a service anyone offers).
- Text from elsewhere (a calendar's name or an event's title from the provider, a subject built
  from stored or remote text) is collapsed to one line: nobody is there to ask, and refusing it
  would lose the record or the alert.
"""

from __future__ import annotations

import re

from app.errors import InvalidInput

# Line and paragraph separators, and every other control character (tab is mere space).
_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` on one line: every run of spaces, line breaks or control characters becomes one space."""
    return " ".join(_BREAKS.sub(" ", text).split())


def typed_line(text: str, what: str) -> str:
    """A single-line `text` a person typed, its spaces tidied; refused when it holds a line break.

    `what` names the field in the sentence ("The service", "A customer's name").
    """
    if _BREAKS.search(text):
        raise InvalidInput(
            f"{what} must be on one line; remove the line break or control character and try again."
        )
    return " ".join(text.split())


def first_upper(text: str) -> str:
    """`text` with its first letter made upper case and the rest left as written.

    (str.capitalize lowercases the rest, which turns an event called 'Car Service' into 'car service'.)
    """
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """`text` ending in one full stop: our messages quote other sentences that may end in one already."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."
