"""The emulated Google account data: accounts, calendars, events, tokens and push channels.

Plain objects behind one re-entrant lock. Events are kept in Google's own JSON shape (as the
calendar owner sees them), with `dateTime` values normalised to UTC; `google_calendar` renders
them for the caller. Every mutation takes the next value of one change counter; sync tokens are
(calendar, counter, epoch) and page tokens are (last sort key, snapshot counter), so neither needs
server-side storage and both survive `--state` persistence.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

GOOGLE_TZ_FALLBACK = "UTC"


class ApiError(Exception):
    """A Calendar API error: HTTP status, Google `reason`, and message."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        domain: str = "global",
        extra: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.extra = dict(extra or {})


def not_found() -> ApiError:
    return ApiError(404, "notFound", "Not Found")


def invalid(message: str, reason: str = "invalid") -> ApiError:
    return ApiError(400, reason, message)


def b64(data: Mapping[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("bad token") from exc
    if not isinstance(data, dict):
        raise ValueError("bad token")
    return data


def random_id(length: int = 26) -> str:
    alphabet = "abcdefghijklmnopqrstuv0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(slots=True)
class Account:
    email: str
    name: str
    timezone: str
    ordinal: int


@dataclass(slots=True)
class Calendar:
    id: str
    summary: str
    time_zone: str
    owner: str
    primary: bool
    ordinal: int
    change: int
    acl: dict[str, str] = field(default_factory=dict)  # email -> accessRole, besides the owner
    epoch: int = 0  # bumped by invalidate-cursors: older sync tokens get 410
    color_id: str = "14"

    def role_of(self, email: str) -> str | None:
        if email == self.owner:
            return "owner"
        return self.acl.get(email)


@dataclass(slots=True)
class StoredEvent:
    resource: dict[str, Any]
    ordinal: int
    change: int


@dataclass(slots=True)
class AccessToken:
    token: str
    email: str
    scopes: list[str]
    expires_at: str  # ISO UTC
    refresh: str | None = None
    valid: bool = True


@dataclass(slots=True)
class RefreshToken:
    token: str
    email: str
    scopes: list[str]
    client_id: str | None
    revoked: bool = False


@dataclass(slots=True)
class AuthCode:
    code: str
    email: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    challenge: str | None
    method: str | None
    expires_at: str
    used: bool = False


@dataclass(slots=True)
class Channel:
    id: str
    resource_id: str
    token: str | None
    address: str
    calendar_id: str
    email: str
    expiration_ms: int
    resource_uri: str
    message_number: int = 0


class GoogleStore:
    """All emulated Google state. Callers hold `lock` around anything that reads and then writes."""

    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.counter = 0
        self.ordinals = 0
        self.accounts: dict[str, Account] = {}
        self.calendars: dict[str, Calendar] = {}
        self.events: dict[str, dict[str, StoredEvent]] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.channels: dict[str, Channel] = {}
        # Called with a calendar id after every change to its events (push notifications).
        self.on_events_changed: Callable[[str], None] | None = None

    # -- counters -----------------------------------------------------------------------------

    def next_change(self) -> int:
        self.counter += 1
        return self.counter

    def next_ordinal(self) -> int:
        self.ordinals += 1
        return self.ordinals

    def now(self) -> dt.datetime:
        return self.clock().astimezone(dt.UTC)

    def now_text(self) -> str:
        return rfc3339(self.now())

    # -- accounts and calendars ---------------------------------------------------------------

    def create_account(self, email: str, timezone: str, name: str | None) -> Account:
        email = email.strip().lower()
        with self.lock:
            if email in self.accounts:
                raise ValueError(f"An account {email} already exists.")
            account = Account(email, name or email.split("@")[0].title(), timezone, self.next_ordinal())
            self.accounts[email] = account
            self.add_calendar(email, name or email, primary=True)
            return account

    def add_calendar(self, email: str, summary: str, primary: bool = False) -> Calendar:
        with self.lock:
            account = self.accounts[email]
            cal_id = email if primary else f"{random_id(26)}@group.calendar.google.com"
            calendar = Calendar(
                cal_id,
                summary,
                account.timezone,
                email,
                primary,
                self.next_ordinal(),
                self.next_change(),
                color_id="14" if primary else "9",
            )
            self.calendars[cal_id] = calendar
            self.events[cal_id] = {}
            return calendar

    def calendar_for(self, email: str, calendar_id: str) -> tuple[Calendar, str]:
        """The calendar and the caller's accessRole on it; 404 when the caller cannot see it."""
        with self.lock:
            if calendar_id == "primary":
                calendar_id = email
            calendar = self.calendars.get(calendar_id)
            role = calendar.role_of(email) if calendar else None
            if calendar is None or role is None:
                raise not_found()
            return calendar, role

    def visible_calendars(self, email: str) -> list[tuple[Calendar, str]]:
        with self.lock:
            result = []
            for calendar in sorted(self.calendars.values(), key=lambda c: (not c.primary, c.ordinal)):
                role = calendar.role_of(email)
                if role is not None:
                    result.append((calendar, role))
            return result

    def touch_events(self, calendar_id: str) -> None:
        if self.on_events_changed is not None:
            self.on_events_changed(calendar_id)

    # -- tokens ---------------------------------------------------------------------------------

    def mint_tokens(
        self, email: str, scopes: list[str], client_id: str | None, with_refresh: bool = True
    ) -> tuple[AccessToken, RefreshToken | None]:
        with self.lock:
            refresh = None
            if with_refresh:
                refresh = RefreshToken("1//" + secrets.token_urlsafe(40), email, scopes, client_id)
                self.refresh_tokens[refresh.token] = refresh
            access = self.mint_access(email, scopes, refresh.token if refresh else None)
            return access, refresh

    def mint_access(self, email: str, scopes: list[str], refresh: str | None) -> AccessToken:
        with self.lock:
            expires = self.now() + dt.timedelta(seconds=3600)
            access = AccessToken(
                "ya29." + secrets.token_urlsafe(48), email, scopes, rfc3339(expires), refresh
            )
            self.access_tokens[access.token] = access
            return access

    def access_token(self, token: str) -> AccessToken | None:
        """The live access token, or None if unknown, expired, expired by control or revoked."""
        with self.lock:
            access = self.access_tokens.get(token)
            if access is None or not access.valid:
                return None
            if parse_rfc3339(access.expires_at) <= self.now():
                return None
            if access.refresh is not None:
                refresh = self.refresh_tokens.get(access.refresh)
                if refresh is not None and refresh.revoked:
                    return None
            return access

    def revoke_account(self, email: str) -> None:
        with self.lock:
            for refresh in self.refresh_tokens.values():
                if refresh.email == email:
                    refresh.revoked = True
            for access in self.access_tokens.values():
                if access.email == email:
                    access.valid = False

    def expire_access(self, email: str) -> None:
        with self.lock:
            for access in self.access_tokens.values():
                if access.email == email:
                    access.valid = False

    def invalidate_cursors(self, email: str) -> None:
        with self.lock:
            for calendar in self.calendars.values():
                if calendar.role_of(email) is not None:
                    calendar.epoch += 1

    # -- persistence ----------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "counter": self.counter,
                "ordinals": self.ordinals,
                "accounts": [asdict(a) for a in self.accounts.values()],
                "calendars": [asdict(c) for c in self.calendars.values()],
                "events": {
                    cal_id: [asdict(e) for e in events.values()] for cal_id, events in self.events.items()
                },
                "access_tokens": [asdict(t) for t in self.access_tokens.values() if t.valid],
                "refresh_tokens": [asdict(t) for t in self.refresh_tokens.values()],
                "channels": [asdict(c) for c in self.channels.values()],
            }

    def load_state(self, state: Mapping[str, Any]) -> None:
        with self.lock:
            self.counter = int(state.get("counter", 0))
            self.ordinals = int(state.get("ordinals", 0))
            self.accounts = {a["email"]: Account(**a) for a in state.get("accounts", [])}
            self.calendars = {c["id"]: Calendar(**c) for c in state.get("calendars", [])}
            self.events = {cal_id: {} for cal_id in self.calendars}
            for cal_id, events in state.get("events", {}).items():
                self.events[cal_id] = {e["resource"]["id"]: StoredEvent(**e) for e in events}
            self.access_tokens = {t["token"]: AccessToken(**t) for t in state.get("access_tokens", [])}
            self.refresh_tokens = {t["token"]: RefreshToken(**t) for t in state.get("refresh_tokens", [])}
            self.channels = {c["id"]: Channel(**c) for c in state.get("channels", [])}
            self.codes = {}


# -- time helpers --------------------------------------------------------------------------------


def rfc3339(value: dt.datetime) -> str:
    """UTC with milliseconds and a Z, as Google writes `updated`/`created`."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_rfc3339(text: str, tz: str | None = None) -> dt.datetime:
    """Parse an RFC 3339 timestamp; without an offset the zone `tz` must be given."""
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    value = dt.datetime.fromisoformat(cleaned)
    if value.tzinfo is None:
        if tz is None:
            raise ValueError("missing offset")
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(dt.UTC)


def render_datetime(instant: dt.datetime, zone: str) -> str:
    local = instant.astimezone(ZoneInfo(zone))
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    offset = local.strftime("%z")
    if offset in ("+0000", ""):
        return text + "Z"
    return f"{text}{offset[:3]}:{offset[3:]}"


def deep_copy(resource: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(resource))
