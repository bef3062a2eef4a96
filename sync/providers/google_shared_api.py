"""One Calendar v3 client for the whole process; each account sends its requests over its own HTTP.

google-api-python-client builds a client by turning the discovery document into Python methods,
and writes a docstring for each from the schemas: about 0.9 MB and 20 ms of CPU per account for
the events collection alone, measured at 1,000 techs (issue 17). None of that depends on the
account. So the collections are built once per API endpoint, and every request is sent with
`HttpRequest.execute(http=...)`, the library's documented way to use another transport, with
the account's authorized `http` (its credentials, refreshed on 401, and its connection).

The shared client's own transport refuses to send anything, so a request that forgot to name
its account fails loudly instead of going out without credentials.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, NoReturn

from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc


class _NoAccountTransport:
    """The shared client's transport: every request must be executed with its account's http."""

    def request(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError("a Google Calendar request was sent without its account's credentials")

    def close(self) -> None:
        """Nothing to close: this transport never opens a connection."""


@dataclass(frozen=True, slots=True)
class CalendarApi:
    """The three collections Crewboard uses; request builders only, safe to share across threads."""

    events: Any
    calendar_list: Any
    channels: Any


_built: dict[str, CalendarApi] = {}
# Building mutates the (shared) discovery document in place while it fixes up each method's
# parameters, so only one thread builds at a time; a built collection is then only read.
_building = threading.Lock()


def _document() -> str:
    """The Calendar v3 discovery document shipped in the client library's wheel (no network)."""
    text: str | None = get_static_doc("calendar", "v3")
    if text is None:
        raise RuntimeError("the Google client library was installed without its Calendar v3 document")
    return text


def calendar_api(api_endpoint: str) -> CalendarApi:
    """The process's request builders for Calendar v3 at `api_endpoint` (Google's or the sandbox's)."""
    found = _built.get(api_endpoint)
    if found is not None:
        return found
    with _building:
        found = _built.get(api_endpoint)
        if found is None:
            service = build_from_document(
                _document(),
                http=_NoAccountTransport(),
                client_options={"api_endpoint": api_endpoint},
            )
            found = CalendarApi(service.events(), service.calendarList(), service.channels())
            _built[api_endpoint] = found
        return found
