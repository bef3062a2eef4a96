"""The emulated Google provider: one site (sign-in + Calendar v3) and its control hooks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.sandbox.base import InvalidInput, Request, Response, Site, UnknownAccount
from sync.sandbox.google_calendar import CalendarApi, error_response
from sync.sandbox.google_events import EventService
from sync.sandbox.google_oauth import GoogleOAuth
from sync.sandbox.google_store import ApiError, Calendar, GoogleStore, not_found
from sync.sandbox.push import PushSender

FULL_SCOPE = "https://www.googleapis.com/auth/calendar"
SANDBOX_CLIENT_ID = "crewboard-sandbox.apps.googleusercontent.com"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
RESPONSE_MAP = {
    "accepted": "accepted",
    "tentative": "tentative",
    "declined": "declined",
    "none": "needsAction",
}


class GoogleSite:
    """`{google}`: /o/oauth2/auth, /o/oauth2/approve, /token, /revoke and /calendar/v3/."""

    name = "google"

    def __init__(self, store: GoogleStore, oauth: GoogleOAuth, api: CalendarApi) -> None:
        self.store = store
        self.oauth = oauth
        self.api = api

    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/calendar/v3/"):
            return self.api.handle(request, path[len("/calendar/v3/") :])
        if path in ("/o/oauth2/auth", "/o/oauth2/v2/auth") and request.method == "GET":
            return self.oauth.authorize(request)
        if path == "/o/oauth2/approve" and request.method == "POST":
            return self.oauth.approve(request)
        if path == "/token":
            return self.oauth.token(request)
        if path in ("/revoke", "/o/oauth2/revoke") and request.method in ("POST", "GET"):
            return self.oauth.revoke(request)
        return error_response(not_found())

    def account_of(self, request: Request) -> str | None:
        if request.path.startswith("/calendar/v3/"):
            token = self.api.bearer(request)
            if not token:
                return None
            with self.store.lock:
                access = self.store.access_tokens.get(token)
                return access.email if access else None
        return self.oauth.account_of(request)


class GoogleSandbox:
    """Google's side of the sandbox, driven by the control API (see `base.ProviderSandbox`)."""

    provider = "google"

    def __init__(self, clock: Callable[[], dt.datetime], push: PushSender) -> None:
        self.clock = clock
        self.push = push
        self.store = GoogleStore(clock)
        self.events = EventService(self.store)
        self.api = CalendarApi(self.store, self.events, push)
        self.oauth = GoogleOAuth(self.store)
        self.site = GoogleSite(self.store, self.oauth, self.api)
        self.url: str | None = None  # set by the server once the site has a port

    def set_urls(self, urls: Mapping[str, str | None]) -> None:
        self.url = urls.get("google")

    def sites(self) -> list[Site]:
        return [self.site]

    # -- accounts --------------------------------------------------------------------------------

    def _account(self, email: str) -> str:
        email = email.strip().lower()
        if email not in self.store.accounts:
            raise UnknownAccount(f"There is no Google account {email} in the sandbox.")
        return email

    def _describe(self, email: str) -> dict[str, Any]:
        account = self.store.accounts[email]
        return {
            "provider": self.provider,
            "email": account.email,
            "name": account.name,
            "timezone": account.timezone,
            "calendars": [
                {"id": c.id, "name": c.summary, "primary": c.primary, "access_role": role}
                for c, role in self.store.visible_calendars(email)
            ],
        }

    def create_account(self, email: str, timezone: str, display_name: str | None = None) -> dict[str, Any]:
        email = email.strip().lower()
        if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
            raise InvalidInput(f"{email!r} is not an email address.")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"{timezone!r} is not an IANA time zone name.") from exc
        with self.store.lock:
            if email in self.store.accounts:
                raise InvalidInput(f"A Google account {email} already exists.")
            self.store.create_account(email, timezone, display_name)
            return self._describe(email)

    def add_calendar(self, email: str, name: str) -> dict[str, Any]:
        with self.store.lock:
            email = self._account(email)
            if not name.strip():
                raise InvalidInput("A calendar needs a name.")
            calendar = self.store.add_calendar(email, name.strip())
            return {"id": calendar.id, "name": calendar.summary, "primary": False, "access_role": "owner"}

    def share_calendar(self, email: str, calendar_id: str, with_email: str, role: str) -> dict[str, Any]:
        """Give another sandbox account `role` (reader, writer, freeBusyReader) on a calendar."""
        if role not in ("freeBusyReader", "reader", "writer"):
            raise InvalidInput("The role must be freeBusyReader, reader or writer.")
        with self.store.lock:
            email = self._account(email)
            other = self._account(with_email)
            calendar = self._calendar_named(email, calendar_id)
            calendar.acl[other] = role
            calendar.change = self.store.next_change()
            return {"id": calendar.id, "shared_with": other, "role": role}

    def accounts(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [
                self._describe(a.email) for a in sorted(self.store.accounts.values(), key=lambda a: a.ordinal)
            ]

    # -- tokens and cursors ----------------------------------------------------------------------

    def issue_token(self, email: str) -> dict[str, Any]:
        with self.store.lock:
            email = self._account(email)
            access, refresh = self.store.mint_tokens(email, [FULL_SCOPE], None)
        assert refresh is not None
        return {
            "access_token": access.token,
            "expires_in": 3599,
            "refresh_token": refresh.token,
            "token_type": "Bearer",
            "scope": FULL_SCOPE,
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "token_uri": f"{self.url}/token" if self.url else None,
        }

    def revoke(self, email: str) -> None:
        self.store.revoke_account(self._account(email))

    def expire_access(self, email: str) -> None:
        self.store.expire_access(self._account(email))

    def invalidate_cursors(self, email: str) -> None:
        self.store.invalidate_cursors(self._account(email))

    def set_push_paused(self, paused: bool) -> None:
        self.push.set_paused(paused)

    def push_channels(self) -> list[dict[str, Any]]:
        """The watch channels that would get a notice now (expired ones are dropped, as on a change)."""
        now_ms = int(self.store.now().timestamp() * 1000)
        with self.store.lock:
            for channel in [c for c in self.store.channels.values() if c.expiration_ms <= now_ms]:
                del self.store.channels[channel.id]
            return [
                {
                    "provider": self.provider,
                    "id": c.id,
                    "account": c.email,
                    "calendar": c.calendar_id,
                    "url": c.address,
                    "expires": dt.datetime.fromtimestamp(c.expiration_ms / 1000, dt.UTC).isoformat(),
                }
                for c in self.store.channels.values()
            ]

    def to_state(self) -> dict[str, Any]:
        return self.store.to_state()

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.store.load_state(state)

    # -- seeding ----------------------------------------------------------------------------------

    def _calendar_named(self, email: str, name: str | None) -> Calendar:
        with self.store.lock:
            for calendar, role in self.store.visible_calendars(email):
                if role != "owner":
                    continue
                if (name is None and calendar.primary) or (
                    name is not None and name in (calendar.summary, calendar.id)
                ):
                    return calendar
        raise InvalidInput(f"{email} has no calendar named {name!r}.")

    def seed_event(self, email: str, calendar_name: str | None, spec: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            email = self._account(email)
            calendar = self._calendar_named(email, calendar_name)
            zone = str(spec.get("timezone") or self.store.accounts[email].timezone)
            resource: dict[str, Any] = {"summary": str(spec["summary"])}
            for key in ("description", "location"):
                if spec.get(key):
                    resource[key] = str(spec[key])
            if "start" in spec and "end" in spec:
                start, end = spec["start"], spec["end"]
                if (
                    not isinstance(start, dt.datetime)
                    or start.tzinfo is None
                    or not isinstance(end, dt.datetime)
                    or end.tzinfo is None
                ):
                    raise InvalidInput("start and end must be aware datetimes.")
                resource["start"] = {
                    "dateTime": start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "timeZone": zone,
                }
                resource["end"] = {
                    "dateTime": end.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "timeZone": zone,
                }
            elif "start_date" in spec and "end_date" in spec:
                resource["start"] = {"date": spec["start_date"].isoformat()}
                resource["end"] = {"date": spec["end_date"].isoformat()}
            else:
                raise InvalidInput("An event spec needs start/end or start_date/end_date.")
            if spec.get("rrule"):
                resource["recurrence"] = list(spec["rrule"])
            show_as = spec.get("show_as", "busy")
            resource["transparency"] = "transparent" if show_as == "free" else "opaque"
            if spec.get("private"):
                resource["visibility"] = "private"
            if spec.get("tentative"):
                resource["status"] = "tentative"
            response = spec.get("response")
            if response is not None:
                if response not in RESPONSE_MAP:
                    raise InvalidInput(f"Unknown response {response!r}.")
                organizer = str(spec.get("organizer") or "dispatch@example.com")
                resource["organizer"] = {"email": organizer}
                resource["creator"] = {"email": organizer}
                resource["attendees"] = [
                    {"email": organizer, "responseStatus": "accepted"},
                    {"email": email, "responseStatus": RESPONSE_MAP[response]},
                ]
            try:
                return self.events.seed(calendar, resource)
            except ApiError as error:
                raise InvalidInput(f"The event spec was refused: {error.message}") from error
