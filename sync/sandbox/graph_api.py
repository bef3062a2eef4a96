"""Over 500 lines: one host for every Graph route the product uses, each as Microsoft answers it.

The emulated Microsoft Graph v1.0 host: /me, calendars, events, calendarView, delta, subscriptions.

Requests authenticate with bearer tokens minted by the identity site. Each mailbox admits at most
four requests in flight (Outlook's MailboxConcurrency limit); a fifth is answered 429
ApplicationThrottled with Retry-After, as Graph does. Errors have Graph's shape:
{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sync.sandbox import graph_categories, graph_events, graph_zones
from sync.sandbox.base import Request, Response
from sync.sandbox.graph_delta import DeltaTracker
from sync.sandbox.graph_delta import window as parse_window
from sync.sandbox.graph_events import BodyError, Changes, View
from sync.sandbox.graph_store import (
    SEP,
    Calendar,
    Event,
    Grant,
    Instance,
    Mailbox,
    MicrosoftState,
    digest,
    new_event_ids,
    stamp,
)
from sync.sandbox.graph_subscriptions import (
    CHANGE_TYPES,
    MAX_PER_MAILBOX,
    Subscription,
    SubscriptionBook,
    SubscriptionError,
    check_url,
    parse_expiration,
    validate_endpoint,
)

MAILBOX_CONCURRENCY = 4
THROTTLE_RETRY_AFTER = 1
HOLD_TIMEOUT = 30.0
DEFAULT_PAGE = 10
READ_SCOPES = frozenset(
    {
        "calendars.read",
        "calendars.readwrite",
        "calendars.readbasic",
        "calendars.read.shared",
        "calendars.readwrite.shared",
    }
)
WRITE_SCOPES = frozenset({"calendars.readwrite", "calendars.readwrite.shared"})
_EXT_FILTER = re.compile(
    r"^singleValueExtendedProperties/Any\((\w+):\s*\1/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+\1/value\s+eq\s+"
    r"'((?:[^']|'')*)'\)$",
    re.IGNORECASE,
)


# The namespace of Graph's bound functions and actions (OData: a bound operation may be named
# with or without it).
NAMESPACE = "microsoft.graph."


def is_function(segment: str, name: str) -> bool:
    """Whether a path segment calls the bound function `name`, in any documented spelling.

    `/delta` is Graph's shortcut for the fully qualified `/microsoft.graph.delta` ("Use delta
    query"), and OData lets a function call carry an empty parameter list, which Microsoft's
    generated SDKs (msgraph-sdk for Python among them) always send: `delta()`. So `delta`,
    `delta()`, `microsoft.graph.delta` and `microsoft.graph.delta()` are one call.
    """
    if segment.endswith("()"):
        segment = segment[:-2]
    if segment.startswith(NAMESPACE):
        segment = segment[len(NAMESPACE) :]
    return segment == name


def is_action(segment: str, name: str) -> bool:
    """Whether a path segment invokes the bound action `name`: `name` or `microsoft.graph.name`.

    Actions take their parameters in the body; OData has no `name()` form for them.
    """
    return segment in (name, NAMESPACE + name)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def graph_error(
    status: int,
    code: str,
    message: str,
    request: Request | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    inner = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()),
        "client-request-id": (request.header("client-request-id") if request else None) or str(uuid.uuid4()),
    }
    return Response.json(status, {"error": {"code": code, "message": message, "innerError": inner}}, headers)


def _not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _json_body(request: Request) -> Mapping[str, Any]:
    try:
        data = request.json()
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = ...
    if not isinstance(data, dict):
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type "
            "header is set and payload is of valid JSON format.",
        )
    return data


@dataclass
class Call:
    request: Request
    box: Mailbox
    grant: Grant
    view: View
    now: dt.datetime


class GraphSite:
    """The "graph" site. Its base URL ends in /v1.0."""

    name = "graph"
    base_path = "/v1.0"  # the server appends it to the site URL

    def __init__(
        self,
        state: MicrosoftState,
        clock: Callable[[], dt.datetime],
        delta: DeltaTracker,
        subscriptions: SubscriptionBook,
        verify: Callable[[], Any],
    ) -> None:
        self.state = state
        self.clock = clock
        self.delta = delta
        self.subscriptions = subscriptions
        self._verify = verify
        self._flight_lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._gates: dict[str, threading.Event] = {}

    # -- concurrency ------------------------------------------------------------------------------

    def in_flight(self, email: str) -> int:
        with self._flight_lock:
            return self._in_flight.get(email.lower(), 0)

    @contextlib.contextmanager
    def hold(self, email: str) -> Iterator[None]:
        """Keep this mailbox's requests in flight (admitted, not answered) until the block ends."""
        gate = threading.Event()
        with self._flight_lock:
            self._gates[email.lower()] = gate
        try:
            yield
        finally:
            with self._flight_lock:
                self._gates.pop(email.lower(), None)
            gate.set()

    # -- Site -------------------------------------------------------------------------------------

    def account_of(self, request: Request) -> str | None:
        token = _bearer(request)
        if token is None:
            return None
        with self.state.lock:
            grant = self.state.access_tokens.get(digest(token))
            return grant.email if grant else None

    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/v1.0"):
            path = path[len("/v1.0") :]
        segments = [s for s in path.split("/") if s]
        if not segments:
            return graph_error(400, "BadRequest", "Invalid version.", request)
        authenticated = self._authenticate(request)
        if isinstance(authenticated, Response):
            return authenticated
        grant = authenticated
        email = grant.email
        with self._flight_lock:
            if self._in_flight.get(email, 0) >= MAILBOX_CONCURRENCY:
                throttled = True
            else:
                throttled = False
                self._in_flight[email] = self._in_flight.get(email, 0) + 1
            gate = self._gates.get(email)
        if throttled:
            response = graph_error(
                429,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
                request,
                {"Retry-After": str(THROTTLE_RETRY_AFTER)},
            )
            response.account = email
            return response
        try:
            if gate is not None:
                gate.wait(HOLD_TIMEOUT)
            response = self._dispatch(request, segments, grant)
        except GraphError as exc:
            response = graph_error(exc.status, exc.code, str(exc), request)
        except BodyError as exc:
            response = graph_error(400, exc.code, str(exc), request)
        finally:
            with self._flight_lock:
                self._in_flight[email] -= 1
        response.account = email
        response.headers.setdefault("request-id", str(uuid.uuid4()))
        client_request_id = request.header("client-request-id")
        if client_request_id:
            response.headers["client-request-id"] = client_request_id
        return response

    def _authenticate(self, request: Request) -> Grant | Response:
        headers = {
            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
            'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
        }
        raw = request.header("authorization")
        if not raw:
            return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.", request, headers)
        token = _bearer(request)
        if token is None:
            return graph_error(
                401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.", request, headers
            )
        with self.state.lock:
            grant = self.state.access_tokens.get(digest(token))
            if grant is None or grant.email not in self.state.mailboxes:
                return graph_error(
                    401, "InvalidAuthenticationToken", "Access token validation failure.", request, headers
                )
            if grant.expires is not None and grant.expires <= self.clock():
                return graph_error(
                    401,
                    "InvalidAuthenticationToken",
                    "Lifetime validation failed, the token is expired.",
                    request,
                    headers,
                )
            return grant

    # -- routing ----------------------------------------------------------------------------------

    def _dispatch(self, request: Request, segments: list[str], grant: Grant) -> Response:
        if segments[0] == "subscriptions":
            return self._subscriptions(request, segments[1:], grant)
        with self.state.lock:
            box = self.state.mailboxes[grant.email]
            if segments[0] == "users" and len(segments) >= 2:
                if segments[1].lower() not in (box.email.lower(), box.oid):
                    raise GraphError(
                        403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
                    )
                segments = ["me", *segments[2:]]
            if segments[0] != "me":
                raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segments[0]}'.")
            call = Call(request, box, grant, self._view(request, box), self.clock())
            return self._me(call, segments[1:])

    def _view(self, request: Request, box: Mailbox) -> View:
        prefs = graph_events.prefer(request.headers)
        zone = prefs.get("outlook.timezone") or "UTC"
        try:
            graph_zones.zone_of(zone)
        except graph_zones.ZoneError:
            zone = "UTC"  # Graph falls back to UTC for a zone it cannot use
        select = request.param("$select")
        return View(
            zone=zone,
            immutable=prefs.get("idtype", "").lower() == "immutableid",
            select=frozenset(s.strip() for s in select.split(",") if s.strip()) if select else None,
            expand_props=graph_events.parse_expand(request.param("$expand")),
            base_url=f"{request.base_url}/v1.0",
            owner_oid=box.oid,
        )

    def _me(self, call: Call, rest: list[str]) -> Response:
        method = call.request.method
        if not rest:
            _allow(method, "GET")
            return self._ok(call, self._user(call))
        head, tail = rest[0], rest[1:]
        if head == "mailboxSettings" and not tail:
            _allow(method, "GET")
            return self._ok(
                call,
                {
                    "timeZone": graph_zones.windows_name(call.box.timezone),
                    "language": {"locale": "en-US", "displayName": "English (United States)"},
                },
            )
        if head == "calendars":
            self._need(call, READ_SCOPES)
            if not tail:
                if method == "POST":
                    return self._create_calendar(call)
                _allow(method, "GET")
                values = [self._calendar(call, c) for c in call.box.calendars.values()]
                return self._ok(
                    call,
                    {
                        "@odata.context": f"{call.view.base_url}/$metadata#users('{call.box.oid}')/calendars",
                        "value": values,
                    },
                )
            calendar = call.box.calendars.get(tail[0])
            if calendar is None:
                raise _not_found()
            return self._calendar_routes(call, calendar, tail[1:])
        if head == "calendar":
            self._need(call, READ_SCOPES)
            return self._calendar_routes(call, call.box.default_calendar, tail)
        if head in ("events", "calendarView"):
            self._need(call, READ_SCOPES)
            return self._calendar_routes(call, call.box.default_calendar, rest)
        if head == "outlook":
            return self._outlook(call, tail)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{head}'.")

    def _calendar_routes(self, call: Call, calendar: Calendar, rest: list[str]) -> Response:
        method = call.request.method
        if not rest:
            _allow(method, "GET")
            return self._ok(call, self._calendar(call, calendar))
        head, tail = rest[0], rest[1:]
        if head == "events":
            if not tail:
                if method == "POST":
                    return self._create_event(call, calendar)
                _allow(method, "GET")
                return self._list_events(call, calendar)
            if len(tail) == 1:
                if method == "GET":
                    return self._ok(call, self.get_event(call.box, tail[0], call.view))
                if method == "PATCH":
                    return self._patch_event(call, tail[0])
                if method == "DELETE":
                    return self._delete_event(call, tail[0])
                raise _method(method)
            if len(tail) == 2 and tail[1] == "instances":
                _allow(method, "GET")
                return self._instances(call, tail[0])
        if head == "calendarView":
            _allow(method, "GET")
            if not tail:
                return self._calendar_view(call, calendar)
            if len(tail) == 1 and is_function(tail[0], "delta"):
                return self.delta.handle(
                    call.request, call.box, calendar.id, call.view, self.state.seq, self._error
                )
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{head}'.")

    def _outlook(self, call: Call, rest: list[str]) -> Response:
        context = f"{call.view.base_url}/$metadata#users('{call.box.oid}')/outlook/masterCategories"
        try:
            status, payload = graph_categories.handle(
                call.box,
                call.request.method,
                rest,
                {s.lower() for s in call.grant.scopes},
                lambda: _json_body(call.request),
                context,
            )
        except graph_categories.CategoryError as error:
            raise GraphError(error.status, error.code, str(error)) from None
        if payload is None:
            return Response(status, b"", {})
        return self._ok(call, payload, status)

    def _error(self, status: int, code: str, message: str) -> Response:
        return graph_error(status, code, message)

    # -- helpers ----------------------------------------------------------------------------------

    def _need(self, call: Call, scopes: frozenset[str]) -> None:
        if not scopes & {s.lower() for s in call.grant.scopes}:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")

    def _ok(
        self, call: Call, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        merged = {"OData-Version": "4.0", **(headers or {})}
        prefs = graph_events.prefer(call.request.headers)
        applied = []
        if "outlook.timezone" in prefs:
            applied.append(f'outlook.timezone="{call.view.zone}"')
        if call.view.immutable:
            applied.append('IdType="ImmutableId"')
        if applied:
            merged["Preference-Applied"] = ", ".join(applied)
        return Response.json(status, payload, merged)

    def _user(self, call: Call) -> dict[str, Any]:
        box = call.box
        given, _, surname = box.display_name.partition(" ")
        return {
            "@odata.context": f"{call.view.base_url}/$metadata#users/$entity",
            "businessPhones": [],
            "displayName": box.display_name,
            "givenName": given,
            "jobTitle": None,
            "mail": box.email,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": "en-US",
            "surname": surname or None,
            "userPrincipalName": box.email,
            "id": box.oid,
        }

    def _calendar(self, call: Call, calendar: Calendar) -> dict[str, Any]:
        return render_calendar(call.box, calendar)

    def _create_calendar(self, call: Call) -> Response:
        self._need(call, WRITE_SCOPES)
        data = _json_body(call.request)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise GraphError(400, "ErrorInvalidRequest", "The calendar name is required.")
        if any(c.name.lower() == name.lower() for c in call.box.calendars.values()):
            raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        calendar = add_calendar(call.box, name)
        return self._ok(call, self._calendar(call, calendar), 201)

    def _page(self, call: Call, items: list[dict[str, Any]], context: str) -> Response:
        request = call.request
        try:
            top = int(request.param("$top") or DEFAULT_PAGE)
            skip = int(request.param("$skip") or 0)
        except ValueError:
            raise GraphError(400, "BadRequest", "Invalid value for $top or $skip.") from None
        top = max(1, min(1000, top))
        page = items[skip : skip + top]
        payload: dict[str, Any] = {"@odata.context": context, "value": page}
        if skip + top < len(items):
            query = {k: v[0] for k, v in request.query.items() if k != "$skip"}
            query["$skip"] = str(skip + top)
            payload["@odata.nextLink"] = f"{request.base_url}{request.path}?{urlencode(query)}"
        return self._ok(call, payload)

    # -- events -----------------------------------------------------------------------------------

    def get_event(self, box: Mailbox, event_id: str, view: View) -> dict[str, Any]:
        found = box.resolve(event_id)
        if found is None:
            raise _not_found()
        event, original = found
        if original is None:
            return graph_events.render_master(box, event, view)
        rendered = graph_events.render_occurrence(box, event, original, view)
        if rendered is None:
            raise _not_found()
        return rendered

    def _list_events(self, call: Call, calendar: Calendar) -> Response:
        events = [
            e for e in call.box.events.values() if e.calendar_id == calendar.id and e.kind != "exception"
        ]
        raw_filter = call.request.param("$filter")
        if raw_filter:
            match = _EXT_FILTER.match(raw_filter.strip())
            if match is None:
                raise GraphError(
                    400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
                )
            prop_id = match.group(2).replace("''", "'").lower()
            value = match.group(3).replace("''", "'")
            events = [
                e
                for e in events
                if any(
                    p["id"].lower() == prop_id and p["value"] == value
                    for p in e.fields.get("singleValueExtendedProperties", [])
                )
            ]
        events.sort(key=lambda e: (e.created, e.key))
        items = [graph_events.render_master(call.box, e, call.view) for e in events]
        return self._page(call, items, f"{call.view.base_url}/$metadata#users('{call.box.oid}')/events")

    def _calendar_view(self, call: Call, calendar: Calendar) -> Response:
        window = parse_window(call.request, self._error)
        if isinstance(window, Response):
            return window
        rows = call.box.instances(calendar.id, *window)
        items = [graph_events.render(call.box, row, call.view) for row in rows]
        return self._page(call, items, f"{call.view.base_url}/$metadata#users('{call.box.oid}')/calendarView")

    def _instances(self, call: Call, event_id: str) -> Response:
        found = call.box.resolve(event_id)
        if found is None or found[1] is not None:
            raise _not_found()
        master = found[0]
        window = parse_window(call.request, self._error)
        if isinstance(window, Response):
            return window
        if master.kind != "seriesMaster":
            rows = [Instance("singleInstance", master, master.start_utc, master.end_utc)]
        else:
            rows = list(call.box.series_instances(master, *window))
        items = [graph_events.render(call.box, row, call.view) for row in rows]
        return self._page(call, items, f"{call.view.base_url}/$metadata#Collection(event)")

    def _create_event(self, call: Call, calendar: Calendar) -> Response:
        self._need(call, WRITE_SCOPES)
        changes = graph_events.parse_body(_json_body(call.request))
        event, _ = self.create_event(call.box, calendar, changes)
        rendered = graph_events.render_master(call.box, event, call.view)
        rendered["@odata.context"] = f"{call.view.base_url}/$metadata#users('{call.box.oid}')/events/$entity"
        location = f"{call.view.base_url}/Users('{call.box.oid}')/Events('{rendered['id']}')"
        return self._ok(call, rendered, 201, {"Location": location})

    def create_event(self, box: Mailbox, calendar: Calendar, changes: Changes) -> tuple[Event, bool]:
        """Store a new event (or find the one with the same transactionId): (event, created?)."""
        transaction = changes.fields.get("transactionId")
        if transaction is not None:
            existing = box.transactions.get(transaction)
            if existing is not None and existing in box.events:
                return box.events[existing], False
        if changes.start is None or changes.end is None:
            raise BodyError("ErrorInvalidRequest", "An event needs both start and end.")
        all_day = bool(changes.is_all_day)
        (start, start_zone), (end, end_zone) = changes.start, changes.end
        graph_events.check_times(start, start_zone, end, end_zone, all_day)
        now = self.clock()
        key, rest = new_event_ids()
        event = Event(
            key,
            rest,
            calendar.id,
            "singleInstance",
            start,
            start_zone,
            end,
            end_zone,
            all_day,
            dict(changes.fields),
            now,
            now,
            self.state.next_seq(),
        )
        if changes.has_recurrence and changes.recurrence is not None:
            graph_events.apply_recurrence(event, changes.recurrence)
            event.kind = "seriesMaster"
        box.add(event)
        if transaction is not None:
            box.transactions[transaction] = key
        self._notify(box, event.calendar_id, "created", (event.key, event.rest_id), event.change_key)
        return event, True

    def _etag_matches(self, call: Call, change_key: str) -> None:
        expected = call.request.header("if-match")
        if expected is None or expected.strip() == "*":
            return
        tags = {t.strip().removeprefix("W/").strip('"') for t in expected.split(",")}
        if change_key not in tags:
            # Graph answers a stale etag this way (reported; not on the v1.0 page).
            raise GraphError(
                412,
                "ErrorIrresolvableConflict",
                "The change key passed in the request does not match the current change key for the item.",
            )

    def _patch_event(self, call: Call, event_id: str) -> Response:
        self._need(call, WRITE_SCOPES)
        changes = graph_events.parse_body(_json_body(call.request))
        found = call.box.resolve(event_id)
        if found is None:
            raise _not_found()
        event, original = found
        if original is None:
            self._etag_matches(call, event.change_key)
            self.update_event(call.box, event, changes)
            return self._ok(call, graph_events.render_master(call.box, event, call.view))
        exception = self.update_occurrence(call, event, original, changes)
        row = Instance("exception", exception, exception.start_utc, exception.end_utc, event, original)
        return self._ok(call, graph_events.render(call.box, row, call.view))

    def update_event(self, box: Mailbox, event: Event, changes: Changes) -> None:
        if "transactionId" in changes.fields and changes.fields["transactionId"] != event.fields.get(
            "transactionId"
        ):
            raise BodyError("ErrorInvalidRequest", "The transactionId of an event cannot be changed.")
        start, start_zone = changes.start or (event.start, event.start_zone)
        end, end_zone = changes.end or (event.end, event.end_zone)
        all_day = event.is_all_day if changes.is_all_day is None else changes.is_all_day
        graph_events.check_times(start, start_zone, end, end_zone, all_day)
        moved = (start, start_zone, end, end_zone, all_day) != (
            event.start,
            event.start_zone,
            event.end,
            event.end_zone,
            event.is_all_day,
        )
        _apply_fields(event, changes)
        event.start, event.start_zone, event.end, event.end_zone, event.is_all_day = (
            start,
            start_zone,
            end,
            end_zone,
            all_day,
        )
        if changes.has_recurrence:
            graph_events.apply_recurrence(event, changes.recurrence)
            event.kind = "seriesMaster" if changes.recurrence is not None else "singleInstance"
        if event.kind == "seriesMaster" and "recurrence" in event.fields and changes.start is not None:
            event.fields["recurrence"]["range"]["startDate"] = start.date().isoformat()
        if moved or changes.has_recurrence:
            # Outlook drops edited and deleted occurrences when the series pattern or time changes.
            for exception in list(box.exceptions_of(event).values()):
                box.remove(exception, self.state.seq)
            event.cancelled.clear()
        event.touch(self.clock(), self.state.next_seq())
        self._notify(box, event.calendar_id, "updated", (event.key, event.rest_id), event.change_key)

    def update_occurrence(self, call: Call, master: Event, original: dt.datetime, changes: Changes) -> Event:
        box = call.box
        exception = box.exceptions_of(master).get(stamp(original))
        if exception is None:
            if not box.occurrence_exists(master, original):
                raise _not_found()
            self._etag_matches(call, master.change_key)
            duration = master.end_utc - master.start_utc
            fields = {k: v for k, v in master.fields.items() if k not in ("recurrence", "transactionId")}
            now = self.clock()
            zone = master.start_zone
            exception = Event(
                f"{master.key}{SEP}{stamp(original)}",
                f"{master.rest_id}{SEP}{stamp(original)}",
                master.calendar_id,
                "exception",
                graph_zones.in_zone(original, zone),
                zone,
                graph_zones.in_zone(original + duration, master.end_zone),
                master.end_zone,
                master.is_all_day,
                json.loads(json.dumps(fields)),
                now,
                now,
                self.state.seq,
                series_key=master.key,
                original_start=original,
            )
            box.add(exception)
        else:
            self._etag_matches(call, exception.change_key)
        if changes.has_recurrence:
            raise BodyError("ErrorInvalidRequest", "The recurrence of an occurrence cannot be set.")
        start, start_zone = changes.start or (exception.start, exception.start_zone)
        end, end_zone = changes.end or (exception.end, exception.end_zone)
        all_day = exception.is_all_day if changes.is_all_day is None else changes.is_all_day
        graph_events.check_times(start, start_zone, end, end_zone, all_day)
        _apply_fields(exception, changes)
        exception.start, exception.start_zone, exception.end, exception.end_zone, exception.is_all_day = (
            start,
            start_zone,
            end,
            end_zone,
            all_day,
        )
        exception.touch(self.clock(), self.state.next_seq())
        self._notify(
            box, master.calendar_id, "updated", (exception.key, exception.rest_id), exception.change_key
        )
        return exception

    def _delete_event(self, call: Call, event_id: str) -> Response:
        self._need(call, WRITE_SCOPES)
        box = call.box
        found = box.resolve(event_id)
        if found is None:
            raise _not_found()
        event, original = found
        if original is None:
            self._etag_matches(call, event.change_key)
            self.delete_event(box, event)
            return Response(204)
        exception = box.exceptions_of(event).get(stamp(original))
        if exception is None and not box.occurrence_exists(event, original):
            raise _not_found()
        self._etag_matches(call, exception.change_key if exception else event.change_key)
        seq = self.state.next_seq()
        if exception is not None:
            box.remove(exception, seq)
        event.cancelled.append(stamp(original))
        event.touch(self.clock(), seq)
        ids = (f"{event.key}{SEP}{stamp(original)}", f"{event.rest_id}{SEP}{stamp(original)}")
        self._notify(box, event.calendar_id, "deleted", ids, None)
        return Response(204)

    def delete_event(self, box: Mailbox, event: Event) -> None:
        seq = self.state.next_seq()
        for exception in list(box.exceptions_of(event).values()):
            box.remove(exception, seq)
        box.remove(event, seq)
        self._notify(box, event.calendar_id, "deleted", (event.key, event.rest_id), None)

    def _notify(
        self, box: Mailbox, calendar_id: str, change: str, ids: tuple[str, str], ck: str | None
    ) -> None:
        etag = f'W/"{ck}"' if ck else None
        self.subscriptions.notify(box.email, box.oid, calendar_id, change, ids, etag, self.clock())

    # -- subscriptions ----------------------------------------------------------------------------

    def _subscriptions(self, request: Request, rest: list[str], grant: Grant) -> Response:
        method = request.method
        base = f"{request.base_url}/v1.0"
        if not rest:
            if method == "POST":
                return self._create_subscription(request, grant, base)
            _allow(method, "GET")
            with self.state.lock:
                mine = [s.render() for s in self.subscriptions.live(self.clock()) if s.email == grant.email]
            return Response.json(200, {"@odata.context": f"{base}/$metadata#subscriptions", "value": mine})
        if len(rest) > 2 or (len(rest) == 2 and not is_action(rest[1], "reauthorize")):
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[1]}'.")
        with self.state.lock:
            sub = self.subscriptions.subscriptions.get(rest[0])
            if sub is None or sub.email != grant.email or sub.expires <= self.clock():
                raise GraphError(404, "ResourceNotFound", "The object was not found.")
            if len(rest) == 2:  # the answer to a reauthorizationRequired challenge; no body, 204
                _allow(method, "POST")
                self.subscriptions.reauthorized(sub, self.clock())
                return Response(204)
            if method == "GET":
                return Response.json(
                    200, {"@odata.context": f"{base}/$metadata#subscriptions/$entity", **sub.render()}
                )
            if method == "DELETE":
                del self.subscriptions.subscriptions[sub.id]
                return Response(204)
            _allow(method, "PATCH")
            data = _json_body(request)
            try:
                sub.expires = parse_expiration(data.get("expirationDateTime"), self.clock())
            except SubscriptionError as exc:
                raise GraphError(exc.status, exc.code, str(exc)) from None
            self.subscriptions.renewed(sub)  # renewing reauthorizes as well
            return Response.json(
                200, {"@odata.context": f"{base}/$metadata#subscriptions/$entity", **sub.render()}
            )

    def _create_subscription(self, request: Request, grant: Grant, base: str) -> Response:
        data = _json_body(request)
        immutable = graph_events.prefer(request.headers).get("idtype", "").lower() == "immutableid"
        try:
            with self.state.lock:
                box = self.state.mailboxes[grant.email]
                if not READ_SCOPES & {s.lower() for s in grant.scopes}:
                    raise GraphError(
                        403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
                    )
                change_types = _change_types(data.get("changeType"))
                url = check_url(data.get("notificationUrl"), "notificationUrl")
                lifecycle = data.get("lifecycleNotificationUrl")
                lifecycle = (
                    check_url(lifecycle, "lifecycleNotificationUrl") if lifecycle is not None else None
                )
                resource = data.get("resource")
                calendar_id = _resource_calendar(box, resource)
                expires = parse_expiration(data.get("expirationDateTime"), self.clock())
                client_state = data.get("clientState")
                if client_state is not None and (
                    not isinstance(client_state, str) or len(client_state) > 128
                ):
                    raise SubscriptionError(
                        400, "InvalidRequest", "clientState must be a string of at most 128 characters."
                    )
                if self.subscriptions.count_for(box.email, self.clock()) >= MAX_PER_MAILBOX:
                    raise GraphError(
                        403,
                        "ExtensionError",
                        "The number of subscriptions for this mailbox has reached its limit.",
                    )
            # The handshake runs outside the lock: the receiver may call back into the sandbox.
            validate_endpoint(url, self._verify())
            if lifecycle is not None:
                validate_endpoint(lifecycle, self._verify())
        except SubscriptionError as exc:
            raise GraphError(exc.status, exc.code, str(exc)) from None
        with self.state.lock:
            sub = Subscription(
                id=self.subscriptions.new_id(),
                email=grant.email,
                resource=str(resource),
                calendar_id=calendar_id,
                change_types=change_types,
                notification_url=url,
                lifecycle_url=lifecycle,
                client_state=client_state,
                expires=expires,
                immutable_ids=immutable,
                creator_id=box.oid,
            )
            self.subscriptions.subscriptions[sub.id] = sub
            return Response.json(
                201, {"@odata.context": f"{base}/$metadata#subscriptions/$entity", **sub.render()}
            )


def render_calendar(box: Mailbox, calendar: Calendar) -> dict[str, Any]:
    return {
        "id": calendar.id,
        "name": calendar.name,
        "color": calendar.color,
        "hexColor": "",
        "isDefaultCalendar": calendar.is_default,
        "changeKey": calendar.change_key,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "isRemovable": not calendar.is_default,
        "isTallyingResponses": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": {"name": box.display_name, "address": box.email},
    }


def add_calendar(box: Mailbox, name: str, default: bool = False) -> Calendar:
    calendar = Calendar("AAMkAGI2TG93AAA" + uuid.uuid4().hex, name, default)
    box.calendars[calendar.id] = calendar
    return calendar


def _apply_fields(event: Event, changes: Changes) -> None:
    for name, value in changes.fields.items():
        if name == "singleValueExtendedProperties":
            event.fields[name] = graph_events.merge_props(event.fields.get(name, []), value)
        else:
            event.fields[name] = value


def _bearer(request: Request) -> str | None:
    raw = request.header("authorization") or ""
    scheme, _, token = raw.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise _method(method)


def _method(method: str) -> GraphError:
    return GraphError(
        405, "Request_BadRequest", f"The HTTP method '{method}' is not allowed for this resource."
    )


def _change_types(raw: Any) -> list[str]:
    if not isinstance(raw, str) or not raw:
        raise SubscriptionError(400, "InvalidRequest", "changeType is required.")
    types = [t.strip() for t in raw.split(",") if t.strip()]
    for change in types:
        if change not in CHANGE_TYPES:
            raise SubscriptionError(400, "InvalidRequest", f"Invalid changeType '{change}'.")
    return types


def _resource_calendar(box: Mailbox, resource: Any) -> str:
    """The calendar an event subscription watches. `me/events` covers the default calendar only
    (as users report); `me/calendars/{id}/events` works though it is undocumented."""
    if not isinstance(resource, str) or not resource:
        raise SubscriptionError(400, "InvalidRequest", "resource is required.")
    parts = [p for p in resource.strip("/").split("/") if p]
    if len(parts) >= 2 and parts[0].lower() == "users":
        if parts[1].lower() not in (box.email.lower(), box.oid):
            raise SubscriptionError(403, "ExtensionError", "Access is denied to the requested resource.")
        parts = ["me", *parts[2:]]
    lowered = [p.lower() for p in parts]
    if lowered in (["me", "events"], ["me", "calendar", "events"]):
        return box.default_calendar.id
    if len(parts) == 4 and lowered[:2] == ["me", "calendars"] and lowered[3] == "events":
        if parts[2] not in box.calendars:
            raise SubscriptionError(404, "ResourceNotFound", "The specified calendar was not found.")
        return parts[2]
    raise SubscriptionError(400, "InvalidRequest", f"Resource not supported: '{resource}'.")
