"""The seam between the sandbox's HTTP server and each emulated provider.

The server (web.py) parses HTTP into a `Request`, applies injected faults, logs the request,
and hands it to the provider site that owns the port. A provider answers with a `Response`.
Providers never touch sockets; they are plain objects guarded by their own lock, which keeps
them easy to test and lets `--state FILE` save them as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # without query string, percent-decoded
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host:port of the site that received it

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Who the request acted for, so the request log and per-account faults can name it.
    account: str | None = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode("utf-8"), merged)

    @classmethod
    def html(cls, status: int, text: str) -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


class Site(Protocol):
    """One emulated host (Google, Microsoft identity, Graph). Called from server threads."""

    name: str  # "google", "microsoft" or "graph"

    def handle(self, request: Request) -> Response: ...

    def account_of(self, request: Request) -> str | None:
        """The account email a request acts for, if its credentials name one (for faults)."""
        ...


class ProviderSandbox(Protocol):
    """One emulated provider's state and control hooks, driven by the control API.

    Constructed as `Provider(clock: Callable[[], datetime], push: push.PushSender)`. Optional
    hooks the server and control API use when a provider has them:
    `set_urls(urls: Mapping[str, str | None])` (called once the sites have ports, with the keys of
    `GET /` on the control API), `share_calendar(email, calendar, with_email, role)` and
    `push_channels()` (the live push channels, each {"provider","id","account","calendar","url",
    "expires"}, for `GET /push`).
    Control-API failures are raised as `UnknownAccount` (→ 404) or `InvalidInput` (→ 400).
    """

    provider: str  # "google" or "microsoft"

    def sites(self) -> list[Site]: ...
    def create_account(
        self, email: str, timezone: str, display_name: str | None = None
    ) -> dict[str, Any]: ...
    def add_calendar(self, email: str, name: str) -> dict[str, Any]: ...
    def accounts(self) -> list[dict[str, Any]]: ...
    def issue_token(self, email: str) -> dict[str, Any]: ...
    def revoke(self, email: str) -> None: ...
    def expire_access(self, email: str) -> None: ...
    def invalidate_cursors(self, email: str) -> None: ...
    def set_push_paused(self, paused: bool) -> None: ...
    def to_state(self) -> dict[str, Any]: ...
    def load_state(self, state: Mapping[str, Any]) -> None: ...
    def seed_event(self, email: str, calendar_name: str | None, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create one event from a provider-neutral spec (see `EVENT_SPEC`) and return it as stored.

        `calendar_name` None means the account's primary calendar; otherwise the calendar with that
        name, which must exist. Raises `UnknownAccount` or `InvalidInput`.
        """
        ...


EVENT_SPEC = """
A provider-neutral event for `ProviderSandbox.seed_event`, a plain dict:

  summary      str, required.
  start, end   aware datetimes (timed event), or
  start_date, end_date
               `date`s (all-day; end exclusive). Exactly one of the two pairs.
  timezone     IANA zone the event is written in (required for recurring timed events; defaults to
               the account's zone).
  rrule        list of iCalendar lines without DTSTART: "RRULE:FREQ=WEEKLY;BYDAY=MO",
               "EXDATE;TZID=America/Chicago:20261109T090000", ... (optional).
  show_as      "busy" (default), "free", "tentative", "oof", "workingElsewhere". Google maps
               free → transparent and everything else → opaque; Graph uses it as showAs.
  response     the calendar owner's own answer when someone else organised the event:
               "accepted", "tentative", "declined" or "none" (not yet answered). Absent → the owner
               organised it.
  organizer    email of the organiser when `response` is given (default "dispatch@example.com").
  private      bool: the event is private (Google visibility private, Graph sensitivity private).
  tentative    bool: the event itself is tentative (Google status tentative; Graph showAs tentative).
  description, location   str, optional.
"""


class SandboxError(Exception):
    """A control-API request the sandbox refuses; the message is one sentence."""


class UnknownAccount(SandboxError):
    """No account with that email exists in this provider."""


class InvalidInput(SandboxError):
    """The request names something impossible (bad zone, bad spec, duplicate account)."""
