"""The push routes' checks that need no request: limits, refusals, quoting and bounded JSON.

Hostile traffic costs little and says little: every answer and log line is short and shows what it
quotes escaped (`shown`), refusals are counted (`RefusalLog`: the first of each kind in a minute is
logged, the rest summed up in one line at the end of that minute), a Graph body is parsed with a
bound on its objects (`loads_bounded`) and each item checked for shape and size (`graph_item`).

Limits, and why these numbers:
- MAX_ITEMS (1,000) items per Graph POST. Graph batches the notices that are due together into
  one POST; a mailbox can hold at most 1,000 subscriptions (Graph's documented quota for Outlook
  events), so even one notice for each of them fits, and Crewboard holds one per calendar. More
  is no notice Graph sends: 400, unread past the count.
- MAX_GOOGLE_CHANNEL_ID (64) characters for a Google channel id and MAX_TOKEN (256) for its token,
  as Google documents them; MAX_ID (256) for a Graph subscription id (a GUID) and MAX_TOKEN for
  clientState (Graph: 128). Ours are 32 and 43 characters.
- MAX_MESSAGE_NUMBER (2**63 - 1): Google's message numbers are 64-bit counters; anything longer
  is refused (400).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("sync.push_receiver")  # one logger name for every push line, as before

MAX_VALIDATION_TOKEN = 4096
MAX_ITEMS = 1000
MAX_OBJECTS = 4 * MAX_ITEMS + 1  # JSON objects in a body: an item, its resourceData, and room to spare
MAX_ID = 256
MAX_GOOGLE_CHANNEL_ID = 64  # Google's documented limit for a channel id
MAX_TOKEN = 256
MAX_MESSAGE_NUMBER = 2**63 - 1
SUMMARY_EVERY = 60.0  # seconds: one summary line of the refusals not logged one by one
SHOWN = 80  # characters of a quoted id shown in an answer or a log line


class Rejection(Exception):
    """A refusal: `kind` is one of a few fixed phrases (what is counted), `detail` what it is about."""

    def __init__(self, status: int, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.status = status
        self.kind = kind
        self.detail = detail

    @property
    def reason(self) -> str:
        return f"{self.kind} {self.detail}" if self.detail else self.kind


def shown(text: str, limit: int = SHOWN) -> str:
    """`text` as it may appear in an answer or a log line: printable ASCII, at most `limit`
    characters of it, everything else escaped (so no line break, terminal escape or lone surrogate
    gets through, and a 1 MB id costs a line of 100 characters)."""
    head = text[:limit]
    out = [ch if " " <= ch <= "~" and ch != "\\" else "\\\\" if ch == "\\" else _escape(ch) for ch in head]
    if len(text) > limit:
        out.append(f"... ({len(text)} characters)")
    return "".join(out)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


class RefusalLog:
    """Refusals counted by kind: the first of each kind in a period is logged with its detail, the
    others are summed up in one line when the period ends. A flood of forged notices thus writes a
    few lines a minute, not one per request, and cannot push the log's history out."""

    MAX_SOURCES = 1000  # addresses told apart in a period; the rest count as "others"

    def __init__(self, every: float = SUMMARY_EVERY) -> None:
        self._every = every
        self._seen: set[tuple[int, str]] = set()
        self._counts: Counter[tuple[int, str]] = Counter()
        self._sources: Counter[str] = Counter()
        self._level = logging.INFO  # the summary's: WARNING if any refusal is in it, INFO for replays only
        self._timer: asyncio.TimerHandle | None = None
        self.total: Counter[tuple[int, str]] = Counter()  # since the start: (status, kind) -> count

    def note(self, status: int, kind: str, detail: str, source: str, level: int = logging.WARNING) -> None:
        """Count a refusal (or, at INFO, a notice ignored); log it if it is its period's first."""
        key = (status, kind)
        self.total[key] += 1
        if key not in self._seen:
            self._seen.add(key)
            what = f"{kind} {shown(detail)}" if detail else kind
            verb = "refused" if level >= logging.WARNING else "ignored"
            log.log(level, "push notice %s (%d): %s [from %s]", verb, status, what, shown(source, 64))
            self._arm()
            return
        self._counts[key] += 1
        self._level = max(self._level, level)
        if source in self._sources or len(self._sources) < self.MAX_SOURCES:
            self._sources[source] += 1
        else:
            self._sources["others"] += 1
        self._arm()

    def _arm(self) -> None:
        if self._timer is None:
            with contextlib.suppress(RuntimeError):  # no running loop: summed up at flush()
                self._timer = asyncio.get_running_loop().call_later(self._every, self.flush)

    def flush(self) -> None:
        """Log the period's summary (if anything was not logged) and start a new period."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        counts, sources, level = self._counts, self._sources, self._level
        self._seen, self._counts, self._sources, self._level = set(), Counter(), Counter(), logging.INFO
        if not counts:
            return
        kinds = "; ".join(f"{status} {kind}: {n}" for (status, kind), n in counts.most_common(8))
        top = ", ".join(f"{shown(source, 64)} ({n})" for source, n in sources.most_common(3))
        log.log(
            level,
            "push notices refused or ignored and not logged one by one in the last %.0f s: %d (%s); from %d "
            "address(es), most from %s",
            self._every,
            sum(counts.values()),
            kinds,
            len(sources),
            top,
        )


class TooManyObjects(Exception):
    pass


def loads_bounded(body: bytes, max_objects: int) -> Any:
    """JSON, given up on at the object after `max_objects`: a body of 24,000 tiny items stops
    costing time and memory a sixth of the way in, and no spelling of the keys avoids the count.
    Every object opens with a `{` byte in any of JSON's encodings, so a body with no more of those
    than `max_objects` is parsed without the count, at the decoder's full speed."""
    if body.count(b"{") <= max_objects:
        return json.loads(body)
    made = 0

    def counted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal made
        made += 1
        if made > max_objects:
            raise TooManyObjects
        return dict(pairs)

    return json.loads(body, object_pairs_hook=counted)


def graph_item(item: Any) -> tuple[str, str, Any] | Rejection:
    """An item's (subscriptionId, clientState, lifecycleEvent), checked for shape and size only."""
    if not isinstance(item, dict):
        return Rejection(400, "notification item is not an object")
    subscription = item.get("subscriptionId")
    if not isinstance(subscription, str) or not subscription:
        return Rejection(400, "notification item has no subscriptionId")
    if len(subscription) > MAX_ID:
        return Rejection(400, "subscriptionId too long", f"({len(subscription)} characters)")
    client_state = item.get("clientState")
    if not is_text(subscription) or (isinstance(client_state, str) and not is_text(client_state)):
        return Rejection(400, "notification item is not valid Unicode", "(a lone surrogate)")
    if not isinstance(client_state, str) or len(client_state) > MAX_TOKEN:
        # Looked up all the same, with an empty state: an unknown subscription says 404 first.
        client_state = "\0"
    raw = item.get("lifecycleEvent")
    if raw is not None and (not isinstance(raw, str) or len(raw) > 64):
        raw = "unknown"
    return subscription, client_state, raw


def is_text(value: str) -> bool:
    """Whether `value` is text (JSON's \\ud800 escapes make strings no UTF-8 can carry)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def summary_of(refusals: list[Rejection]) -> Rejection:
    """One refusal for a batch whose every item was refused: the most common status, the count per
    kind, and the first item's detail (so the answer stays short whatever the batch's size)."""
    if len(refusals) == 1:
        return refusals[0]
    status = Counter(r.status for r in refusals).most_common(1)[0][0]
    kinds = Counter(r.kind for r in refusals)
    first = next(r for r in refusals if r.status == status)
    counted = ", ".join(f"{kind} x{n}" for kind, n in kinds.most_common(4))
    detail = f"({len(refusals)}: {counted}); the first: {first.reason}"
    return Rejection(status, "every notification item refused", detail)


_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # every control character but TAB


def has_control(text: str) -> bool:
    """Whether `text` holds a control character: h11 lets ESC and its kin through in header values,
    where they would reach a terminal that shows the log."""
    return _CONTROL.search(text) is not None


def ascii_digits(text: str) -> bool:
    """Plain 0-9 only: str.isdigit also says yes to "²" and "١", which int() may refuse."""
    return bool(text) and text.isascii() and text.isdigit()


def sender_named(source: str, headers: Mapping[str, str]) -> str:
    """The address to name in the log: a relay on this computer (a loopback peer) passes on its
    client's as the last X-Forwarded-For entry; from anywhere else the header could be anyone's."""
    forwarded = headers.get("x-forwarded-for", "")
    if not forwarded or not _is_loopback(source):
        return source
    return f"{forwarded.rsplit(',', 1)[-1].strip()[:64]} via {source}"


def _is_loopback(source: str) -> bool:
    try:
        return ipaddress.ip_network(source, strict=False).is_loopback
    except ValueError:
        return False
