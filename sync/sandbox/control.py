"""The sandbox's control API: accounts, tokens, faults, push pausing and the request log.

Plain HTTP, JSON in and out. Bad input answers 400 {"error": "<one sentence>"}; an unknown
account email answers 404. Provider-specific work is delegated to each `ProviderSandbox`.

Only this computer's programs may use it, and a web page must not be able to: a request whose Host is
not a loopback name with the control port (localhost, 127.0.0.1, [::1]; a DNS-rebound name is not)
or whose Origin is another site answers 403, and a body that is not declared application/json (a
form, or a cross-site `text/plain` POST that needs no preflight) answers 415. A request without a
body and without a Content-Type (a plain `POST /push/pause`) is still accepted from programs.

  GET    /                                  {"google","microsoft","graph","control","ca"}
  GET    /accounts                          every account of every provider
  POST   /accounts                          {"provider","email","timezone","name"?} → 201
  POST   /accounts/{email}/calendars        {"name"} → 201
  POST   /accounts/{email}/calendars/{id}/share   {"with","role"} (Google)
  POST   /accounts/{email}/events           a `base.EVENT_SPEC` with ISO strings, "calendar"?
  POST   /accounts/{email}/token            {"access_token","expires_in","refresh_token",...}
  POST   /accounts/{email}/revoke | /expire-access | /invalidate-cursors
  POST   /accounts/{email}/lifecycle        {"event","calendar"?} (Microsoft): a Graph lifecycle
                                            notice to each live subscription of the account (of
                                            one calendar); subscriptionRemoved also drops them
  GET    /faults; DELETE /faults
  POST   /faults                            {"kind","provider"?,"account"?,"count"|"seconds",
                                             "retry_after"?,"hold_seconds"?,"status"?}
  POST   /push/pause; POST /push/resume
  POST   /push/drop                         loses the held notifications ({"dropped": n}); a Graph
                                            subscription that lost one gets a `missed` notice
  GET    /push                              {"paused","held","dropped","totals","channels","deliveries"}:
                                            totals counts every notice by outcome (delivered,
                                            refused, unreachable); channels lists the live Google
                                            channels and Graph subscriptions; deliveries the
                                            recent ones in detail
  GET    /requests?account=&since=&site=    since: a sequence number or an ISO time
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from sync.sandbox.base import InvalidInput, ProviderSandbox, Request, Response, UnknownAccount
from sync.sandbox.push import PushSender
from sync.sandbox.web import FAULT_KINDS, Fault, ServerContext, json_body


class _Urls(Protocol):
    def as_json(self) -> dict[str, str | None]: ...


class ControlledSandbox(Protocol):
    """What the control API drives. `server.Sandbox` is one; it is declared here so that this
    module need not import the server that mounts it."""

    @property
    def context(self) -> ServerContext: ...
    @property
    def providers(self) -> dict[str, ProviderSandbox]: ...
    @property
    def push(self) -> PushSender: ...
    @property
    def urls(self) -> _Urls: ...
    def provider_for(self, email: str) -> ProviderSandbox | None: ...
    def set_push_paused(self, paused: bool) -> None: ...
    def drop_held_push(self) -> int: ...


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> ControlError:
    return ControlError(400, message)


def _parse_when(value: Any, name: str) -> Any:
    if not isinstance(value, str):
        raise _bad(f"{name} must be an ISO 8601 string.")
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _bad(f"{name} is not an ISO 8601 date or time.") from exc
    if parsed.tzinfo is None:
        raise _bad(f"{name} needs a UTC offset.")
    return parsed


def _host_and_port(value: str) -> tuple[str, int | None] | None:
    """The name and port of a Host header value ("localhost:8080", "[::1]:8080"); None when unreadable."""
    try:
        split = urlsplit(f"//{value.strip()}")
        return (split.hostname or "").lower(), split.port
    except ValueError:
        return None


def _is_loopback_name(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class ControlSite:
    name = "control"
    BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, sandbox: ControlledSandbox, listen_host: str = "127.0.0.1") -> None:
        """`listen_host`: the address the sandbox listens on; when it is not loopback (--allow-remote),
        requests naming it are answered too."""
        self.sandbox = sandbox
        listened = listen_host.strip("[]").lower()
        self._also_host = None if _is_loopback_name(listened) else listened
        account = r"(?P<email>[^/]+)"
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"^/$"), self.index),
            ("GET", re.compile(r"^/accounts$"), self.list_accounts),
            ("POST", re.compile(r"^/accounts$"), self.create_account),
            ("POST", re.compile(rf"^/accounts/{account}/calendars$"), self.add_calendar),
            ("POST", re.compile(rf"^/accounts/{account}/calendars/(?P<calendar>[^/]+)/share$"), self.share),
            ("POST", re.compile(rf"^/accounts/{account}/events$"), self.seed_event),
            ("POST", re.compile(rf"^/accounts/{account}/token$"), self.token),
            ("POST", re.compile(rf"^/accounts/{account}/revoke$"), self.revoke),
            ("POST", re.compile(rf"^/accounts/{account}/expire-access$"), self.expire_access),
            ("POST", re.compile(rf"^/accounts/{account}/invalidate-cursors$"), self.invalidate_cursors),
            ("POST", re.compile(rf"^/accounts/{account}/lifecycle$"), self.lifecycle),
            ("GET", re.compile(r"^/faults$"), self.list_faults),
            ("POST", re.compile(r"^/faults$"), self.add_fault),
            ("DELETE", re.compile(r"^/faults$"), self.clear_faults),
            ("POST", re.compile(r"^/push/pause$"), self.push_pause),
            ("POST", re.compile(r"^/push/resume$"), self.push_resume),
            ("POST", re.compile(r"^/push/drop$"), self.push_drop),
            ("GET", re.compile(r"^/push$"), self.push_status),
            ("GET", re.compile(r"^/requests$"), self.requests),
        ]

    def account_of(self, request: Request) -> str | None:
        match = re.match(r"^/accounts/([^/]+)/", request.path)
        return match.group(1).lower() if match else None

    def _check_caller(self, request: Request) -> None:
        """Refuse what only a web page (or a DNS-rebound name) would send; see the module docstring."""
        port = urlsplit(request.base_url).port
        host = _host_and_port(request.header("host") or "")
        if host is None or not self._is_our_host(host[0]) or (host[1] or 80) != port:
            raise ControlError(
                403, "The control API answers only requests to localhost, 127.0.0.1 or [::1] with its port."
            )
        origin = request.header("origin")
        if origin is not None:
            name = urlsplit(origin).hostname if origin != "null" else None
            if name is None or not self._is_our_host(name.lower()):
                raise ControlError(403, "The control API does not answer requests from web pages.")
        if request.method not in self.BODY_METHODS:
            return
        content_type = request.header("content-type")
        media = None if content_type is None else content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and (media is not None or request.body):
            raise ControlError(
                415, "The control API takes JSON bodies only; send them with Content-Type: application/json."
            )

    def _is_our_host(self, name: str) -> bool:
        """A loopback name; with --allow-remote also the address listened on (any IP when all of them)."""
        if _is_loopback_name(name):
            return True
        if self._also_host is None:
            return False
        if name == self._also_host:
            return True
        try:
            ipaddress.ip_address(name)  # a literal address cannot be a rebound DNS name
        except ValueError:
            return False
        return self._also_host in ("0.0.0.0", "::", "")

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        try:
            self._check_caller(request)
            for method, pattern, handler in self._routes:
                match = pattern.match(path)
                if match and method == request.method:
                    return handler(request, **match.groupdict())
            if any(p.match(path) for _m, p, _h in self._routes):
                raise ControlError(405, f"{request.method} is not allowed on {path}.")
            raise ControlError(404, f"There is no control endpoint {path}.")
        except ControlError as error:
            return Response.json(error.status, {"error": error.message})
        except UnknownAccount as error:
            return Response.json(404, {"error": str(error)})
        except (InvalidInput, ValueError) as error:
            return Response.json(400, {"error": str(error)})

    # -- helpers -----------------------------------------------------------------------------------

    def _body(self, request: Request) -> Mapping[str, Any]:
        try:
            return json_body(request)
        except ValueError as exc:
            raise _bad(str(exc)) from exc

    def _owner(self, email: str) -> Any:
        provider = self.sandbox.provider_for(email)
        if provider is None:
            raise ControlError(404, f"There is no account {email} in the sandbox.")
        return provider

    # -- endpoints ---------------------------------------------------------------------------------

    def index(self, request: Request) -> Response:
        return Response.json(200, self.sandbox.urls.as_json())

    def list_accounts(self, request: Request) -> Response:
        accounts: list[dict[str, Any]] = []
        for provider in self.sandbox.providers.values():
            accounts.extend(provider.accounts())
        return Response.json(200, accounts)

    def create_account(self, request: Request) -> Response:
        body = self._body(request)
        provider_name, email, zone = body.get("provider"), body.get("email"), body.get("timezone")
        if not isinstance(provider_name, str) or provider_name not in self.sandbox.providers:
            known = ", ".join(sorted(self.sandbox.providers))
            raise _bad(f"provider must be one of: {known}.")
        if not isinstance(email, str) or not email:
            raise _bad("email is required.")
        if not isinstance(zone, str) or not zone:
            raise _bad("timezone is required (an IANA name such as America/Chicago).")
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise _bad("name must be a string.")
        if self.sandbox.provider_for(email) is not None:
            raise _bad(f"An account {email.lower()} already exists.")
        created = self.sandbox.providers[provider_name].create_account(email, zone, name)
        return Response.json(201, created)

    def add_calendar(self, request: Request, email: str) -> Response:
        provider = self._owner(email)
        name = self._body(request).get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("name is required.")
        return Response.json(201, provider.add_calendar(email, name))

    def share(self, request: Request, email: str, calendar: str) -> Response:
        provider = self._owner(email)
        body = self._body(request)
        with_email, role = body.get("with"), body.get("role", "reader")
        if not isinstance(with_email, str) or not isinstance(role, str):
            raise _bad("with (an email) and role are required.")
        share = getattr(provider, "share_calendar", None)
        if share is None:
            raise _bad(f"The {provider.provider} sandbox cannot share calendars.")
        return Response.json(200, share(email, calendar, with_email, role))

    def seed_event(self, request: Request, email: str) -> Response:
        provider = self._owner(email)
        body = dict(self._body(request))
        calendar = body.pop("calendar", None)
        if calendar is not None and not isinstance(calendar, str):
            raise _bad("calendar must be a calendar name.")
        if not isinstance(body.get("summary"), str):
            raise _bad("summary is required.")
        for key in ("start", "end", "start_date", "end_date"):
            if key in body:
                body[key] = _parse_when(body[key], key)
        return Response.json(201, provider.seed_event(email, calendar, body))

    def token(self, request: Request, email: str) -> Response:
        return Response.json(200, self._owner(email).issue_token(email))

    def revoke(self, request: Request, email: str) -> Response:
        self._owner(email).revoke(email)
        return Response.json(200, {"revoked": email.lower()})

    def expire_access(self, request: Request, email: str) -> Response:
        self._owner(email).expire_access(email)
        return Response.json(200, {"expired": email.lower()})

    def invalidate_cursors(self, request: Request, email: str) -> Response:
        self._owner(email).invalidate_cursors(email)
        return Response.json(200, {"invalidated": email.lower()})

    def lifecycle(self, request: Request, email: str) -> Response:
        provider = self._owner(email)
        body = self._body(request)
        event, calendar = body.get("event"), body.get("calendar")
        if not isinstance(event, str):
            raise _bad("event is required: reauthorizationRequired, subscriptionRemoved or missed.")
        if calendar is not None and not isinstance(calendar, str):
            raise _bad("calendar must be a calendar id.")
        send = getattr(provider, "lifecycle", None)
        if send is None:
            raise _bad(f"The {provider.provider} sandbox has no lifecycle notifications.")
        return Response.json(200, send(email, event, calendar))

    def list_faults(self, request: Request) -> Response:
        return Response.json(200, [f.describe() for f in self.sandbox.context.faults.active()])

    def add_fault(self, request: Request) -> Response:
        body = self._body(request)
        kind = body.get("kind")
        if kind not in FAULT_KINDS:
            raise _bad(f"kind must be one of: {', '.join(FAULT_KINDS)}.")
        provider = body.get("provider")
        if provider is not None and provider not in ("google", "microsoft"):
            raise _bad("provider must be google or microsoft.")
        account = body.get("account")
        if account is not None:
            if not isinstance(account, str):
                raise _bad("account must be an email.")
            if self.sandbox.provider_for(account) is None:
                raise ControlError(404, f"There is no account {account} in the sandbox.")
        count, seconds = body.get("count"), body.get("seconds")
        if (count is None) == (seconds is None):
            raise _bad("Give exactly one of count (next N requests) or seconds (a duration).")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise _bad("count must be a positive whole number.")
        if seconds is not None and (
            not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0
        ):
            raise _bad("seconds must be a positive number.")
        retry_after = body.get("retry_after", 1)
        if not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 0:
            raise _bad("retry_after must be a whole number of seconds.")
        hold = body.get("hold_seconds", self.sandbox.context.faults.default_hold)
        if not isinstance(hold, int | float) or isinstance(hold, bool) or hold < 0:
            raise _bad("hold_seconds must be a number of seconds.")
        status = body.get("status", 503)
        if kind == "5xx" and status not in (500, 502, 503, 504):
            raise _bad("status must be 500, 502, 503 or 504.")
        fault = Fault(
            kind=kind,
            provider=provider,
            account=account.lower() if isinstance(account, str) else None,
            count=count,
            until=time.monotonic() + float(seconds) if seconds is not None else None,
            retry_after=retry_after,
            hold_seconds=float(hold),
            status=int(status),
        )
        self.sandbox.context.faults.add(fault)
        return Response.json(201, fault.describe())

    def clear_faults(self, request: Request) -> Response:
        self.sandbox.context.faults.clear()
        return Response.json(200, {"faults": 0})

    def push_pause(self, request: Request) -> Response:
        self.sandbox.set_push_paused(True)
        return Response.json(200, {"paused": True})

    def push_resume(self, request: Request) -> Response:
        self.sandbox.set_push_paused(False)
        return Response.json(200, {"paused": False})

    def push_drop(self, request: Request) -> Response:
        return Response.json(200, {"dropped": self.sandbox.drop_held_push()})

    def push_status(self, request: Request) -> Response:
        push = self.sandbox.push
        channels: list[dict[str, Any]] = []
        for provider in self.sandbox.providers.values():
            listed = getattr(provider, "push_channels", None)
            if listed is not None:
                channels.extend(listed())
        return Response.json(
            200,
            {
                "paused": push.paused,
                "held": push.held,
                "dropped": push.dropped,
                "totals": push.totals,
                "channels": channels,
                "deliveries": [
                    {
                        "url": d.notification.url,
                        "provider": d.notification.provider,
                        "status": d.status,
                        "attempts": d.attempts,
                        "error": d.error,
                        "headers": d.headers,
                    }
                    for d in list(push.deliveries)
                ],
            },
        )

    def requests(self, request: Request) -> Response:
        since = request.param("since")
        since_seq: int | None = None
        since_time: dt.datetime | None = None
        if since:
            if since.isdigit():
                since_seq = int(since)
            else:
                try:
                    since_time = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
                except ValueError as exc:
                    raise _bad("since must be a sequence number or an ISO 8601 time.") from exc
                if since_time.tzinfo is None:
                    raise _bad("since needs a UTC offset.")
        site = request.param("site")
        entries = self.sandbox.context.requests.query(request.param("account"), since_seq, since_time, site)
        return Response.json(200, [e.as_json() for e in entries if e.site != "control"])
