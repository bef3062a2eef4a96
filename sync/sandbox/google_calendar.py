"""Over 500 lines: each Calendar v3 route parses parameters exactly as Google does.

HTTP front of the emulated Calendar v3 API (`{google}/calendar/v3/...`).

Authenticates the bearer token, checks scopes, parses parameters the way Google does, and turns
`ApiError`s into Google's JSON error shape.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import ipaddress
import json
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.sandbox.base import Request, Response
from sync.sandbox.google_events import (
    CALENDAR_COLORS,
    EVENT_COLORS,
    SYNC_FORBIDDEN,
    EventService,
    ListQuery,
    parse_props,
    parse_time_param,
    render,
)
from sync.sandbox.google_store import (
    AccessToken,
    ApiError,
    Calendar,
    Channel,
    GoogleStore,
    b64,
    invalid,
    not_found,
    unb64,
)
from sync.sandbox.push import Notification, PushSender

S = "https://www.googleapis.com/auth/"
READ_EVENTS = {
    S + s
    for s in (
        "calendar",
        "calendar.readonly",
        "calendar.events",
        "calendar.events.readonly",
        "calendar.events.owned",
        "calendar.events.owned.readonly",
    )
}
WRITE_EVENTS = {S + s for s in ("calendar", "calendar.events", "calendar.events.owned")}
LIST_CALENDARS = {
    S + s
    for s in ("calendar", "calendar.readonly", "calendar.calendarlist", "calendar.calendarlist.readonly")
}
ANY_CALENDAR = READ_EVENTS | LIST_CALENDARS | {S + "calendar.freebusy", S + "calendar.settings.readonly"}
MAX_CHANNEL_TTL_S = 30 * 24 * 3600  # Google's own cap is unverified; we allow 30 days.
DEFAULT_CHANNEL_TTL_S = 604800
# With `CalendarApi.sync_before_answer`, how long events.watch waits at most for its `sync` notice to
# be delivered (the push sender's attempts take at most about 16 s).
SYNC_BEFORE_ANSWER_WAIT_S = 30.0

# The HTTP status a gRPC-style `status` string accompanies. For 410/412 Google's value is
# unverified; we use FAILED_PRECONDITION.
GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
IGNORED_PARAMS = {
    "alt",
    "prettyPrint",
    "fields",
    "key",
    "quotaUser",
    "access_token",
    "pageToken",
    "$.xgafv",
    "maxResults",
    "userIp",
    "callback",
    "upload_protocol",
    "uploadType",
    "oauth_token",
}


def error_response(error: ApiError) -> Response:
    detail: dict[str, Any] = {"message": error.message, "domain": error.domain, "reason": error.reason}
    detail.update(error.extra)
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
    return Response.json(
        error.status,
        {
            "error": {
                "code": error.status,
                "message": error.message,
                "errors": [detail],
                "status": GRPC_STATUS.get(error.status, "UNKNOWN"),
            }
        },
        headers,
    )


def _bool(request: Request, name: str) -> bool | None:
    value = request.param(name)
    if value is None:
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise invalid(f"Invalid value for: {name}")


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.param(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid(f"Invalid value '{raw}'. Values must be within the range: [{low}, {high}]") from exc
    if value < low:
        raise invalid(f"Invalid value '{raw}'. Values must be within the range: [{low}, {high}]")
    return min(value, high)


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "parseError", "Parse Error") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "parseError", "Parse Error")
    return data


def _fingerprint(request: Request) -> str:
    items = sorted((k, v) for k, vs in request.query.items() if k not in IGNORED_PARAMS for v in vs)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]


class CalendarApi:
    def __init__(self, store: GoogleStore, events: EventService, push: PushSender) -> None:
        self.store = store
        self.events = events
        self.push = push
        # Google posts a new channel's `sync` notice as soon as the channel exists, and it may reach
        # the receiver before the watch answer reaches the caller. Set, events.watch answers only
        # once that notice's delivery is over (unless push is paused), making that order certain.
        self.sync_before_answer = False
        self.store.on_events_changed = self.notify_channels
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"^users/me/calendarList$"), self.calendar_list),
            ("GET", re.compile(r"^users/me/calendarList/(?P<cid>[^/]+)$"), self.calendar_list_get),
            ("GET", re.compile(r"^calendars/(?P<cid>[^/]+)$"), self.calendar_get),
            ("DELETE", re.compile(r"^calendars/(?P<cid>[^/]+)$"), self.calendar_delete),
            ("GET", re.compile(r"^calendars/(?P<cid>[^/]+)/events$"), self.events_list),
            ("POST", re.compile(r"^calendars/(?P<cid>[^/]+)/events$"), self.events_insert),
            ("POST", re.compile(r"^calendars/(?P<cid>[^/]+)/events/watch$"), self.events_watch),
            (
                "GET",
                re.compile(r"^calendars/(?P<cid>[^/]+)/events/(?P<eid>[^/]+)/instances$"),
                self.events_instances,
            ),
            ("GET", re.compile(r"^calendars/(?P<cid>[^/]+)/events/(?P<eid>[^/]+)$"), self.events_get),
            ("PUT", re.compile(r"^calendars/(?P<cid>[^/]+)/events/(?P<eid>[^/]+)$"), self.events_update),
            ("PATCH", re.compile(r"^calendars/(?P<cid>[^/]+)/events/(?P<eid>[^/]+)$"), self.events_patch),
            ("DELETE", re.compile(r"^calendars/(?P<cid>[^/]+)/events/(?P<eid>[^/]+)$"), self.events_delete),
            ("POST", re.compile(r"^channels/stop$"), self.channels_stop),
            ("GET", re.compile(r"^colors$"), self.colors),
        ]

    # -- entry -----------------------------------------------------------------------------------

    def handle(self, request: Request, sub_path: str) -> Response:
        try:
            for method, pattern, handler in self._routes:
                match = pattern.match(sub_path)
                if match and method == request.method:
                    token = self._authenticate(request)
                    response = handler(request, token, **match.groupdict())
                    response.account = token.email
                    return response
            if any(p.match(sub_path) for _m, p, _h in self._routes):
                raise ApiError(405, "httpMethodNotAllowed", f"Method {request.method} not allowed.")
            raise not_found()
        except ApiError as error:
            return error_response(error)

    def bearer(self, request: Request) -> str | None:
        auth = request.header("authorization") or ""
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return request.param("access_token")

    def _authenticate(self, request: Request) -> AccessToken:
        token = self.bearer(request)
        if not token:
            raise ApiError(
                401,
                "required",
                "Login Required.",
                extra={"location": "Authorization", "locationType": "header"},
            )
        access = self.store.access_token(token)
        if access is None:
            raise ApiError(
                401,
                "authError",
                "Invalid Credentials",
                extra={"location": "Authorization", "locationType": "header"},
            )
        return access

    def _require(self, token: AccessToken, allowed: set[str]) -> None:
        if not allowed.intersection(token.scopes):
            raise ApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.")

    # -- calendar list -------------------------------------------------------------------------

    def _entry(self, calendar: Calendar, role: str) -> dict[str, Any]:
        colors = CALENDAR_COLORS[calendar.color_id]
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry",
            "etag": f'"{1_700_000_000_000_000 + calendar.change}"',
            "id": calendar.id,
            "summary": calendar.summary,
            "timeZone": calendar.time_zone,
            "colorId": calendar.color_id,
            "backgroundColor": colors["background"],
            "foregroundColor": colors["foreground"],
            "selected": True,
            "accessRole": role,
            "defaultReminders": [{"method": "popup", "minutes": 30}] if role in ("owner", "writer") else [],
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }
        if calendar.primary and role == "owner":
            entry["primary"] = True
            entry["notificationSettings"] = {
                "notifications": [
                    {"type": "eventCreation", "method": "email"},
                    {"type": "eventChange", "method": "email"},
                ]
            }
        return entry

    def calendar_list(self, request: Request, token: AccessToken) -> Response:
        self._require(token, LIST_CALENDARS)
        sync_token = request.param("syncToken")
        if sync_token is not None and (
            request.param("minAccessRole") or request.param("showOwnOrganizationOnly")
        ):
            raise invalid("minAccessRole cannot be used together with a sync token.")
        if sync_token is not None and (
            _bool(request, "showDeleted") is False or _bool(request, "showHidden") is False
        ):
            raise invalid("showDeleted and showHidden cannot be false together with a sync token.")
        max_results = _int(request, "maxResults", 100, 1, 250)
        order = ["freeBusyReader", "reader", "writer", "owner"]
        min_role = request.param("minAccessRole")
        if min_role is not None and min_role not in order:
            raise invalid("Invalid value for: minAccessRole")
        since = 0
        if sync_token is not None:
            try:
                since = int(unb64(sync_token)["l"])
            except (ValueError, KeyError, TypeError) as exc:
                raise invalid("Invalid sync token value.") from exc
        with self.store.lock:
            rows = [
                self._entry(c, role)
                for c, role in self.store.visible_calendars(token.email)
                if c.change > since and (min_role is None or order.index(role) >= order.index(min_role))
            ]
            counter = self.store.counter
        offset = 0
        page_token = request.param("pageToken")
        if page_token:
            try:
                offset = int(unb64(page_token)["o"])
            except (ValueError, KeyError, TypeError) as exc:
                raise invalid("Invalid page token value.") from exc
        page = rows[offset : offset + max_results]
        body: dict[str, Any] = {"kind": "calendar#calendarList", "etag": f'"p{counter}"', "items": page}
        if offset + max_results < len(rows):
            body["nextPageToken"] = b64({"o": offset + max_results})
        else:
            body["nextSyncToken"] = b64({"l": counter})
        return Response.json(200, body)

    def calendar_list_get(self, request: Request, token: AccessToken, cid: str) -> Response:
        self._require(token, LIST_CALENDARS)
        calendar, role = self.store.calendar_for(token.email, cid)
        return Response.json(200, self._entry(calendar, role))

    def calendar_get(self, request: Request, token: AccessToken, cid: str) -> Response:
        self._require(token, {S + "calendar", S + "calendar.readonly"})
        calendar, _role = self.store.calendar_for(token.email, cid)
        return Response.json(
            200,
            {
                "kind": "calendar#calendar",
                "etag": f'"{1_700_000_000_000_000 + calendar.change}"',
                "id": calendar.id,
                "summary": calendar.summary,
                "timeZone": calendar.time_zone,
                "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
            },
        )

    def calendar_delete(self, request: Request, token: AccessToken, cid: str) -> Response:
        """calendars.delete: secondary calendars only; push channels on it get `not_exists`."""
        self._require(token, {S + "calendar"})
        with self.store.lock:
            calendar, role = self.store.calendar_for(token.email, cid)
            if role != "owner":
                raise ApiError(403, "requiredAccessLevel", "You need to have owner access to this calendar.")
            if calendar.primary:
                # Google points callers at calendars.clear; the exact reason string is unverified.
                raise invalid(
                    "The primary calendar cannot be deleted; clear it instead.", "cannotDeletePrimaryCalendar"
                )
            del self.store.calendars[calendar.id]
            del self.store.events[calendar.id]
            for channel in [c for c in self.store.channels.values() if c.calendar_id == calendar.id]:
                self._send(channel, "not_exists")
                del self.store.channels[channel.id]
        return Response(204)

    def colors(self, request: Request, token: AccessToken) -> Response:
        self._require(token, ANY_CALENDAR)
        return Response.json(
            200,
            {
                "kind": "calendar#colors",
                "updated": "2012-02-14T00:00:00.000Z",
                "calendar": CALENDAR_COLORS,
                "event": EVENT_COLORS,
            },
        )

    # -- events ----------------------------------------------------------------------------------

    def _calendar(self, token: AccessToken, cid: str) -> tuple[Calendar, str]:
        return self.store.calendar_for(token.email, cid)

    def _out_zone(self, request: Request, calendar: Calendar) -> str:
        zone = request.param("timeZone")
        if zone is None:
            return calendar.time_zone
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise invalid("Invalid value for: timeZone") from exc
        return zone

    def _render(
        self,
        request: Request,
        calendar: Calendar,
        role: str,
        resource: dict[str, Any],
        full_tombstone: bool = True,
    ) -> dict[str, Any]:
        max_attendees = request.param("maxAttendees")
        return render(
            resource,
            calendar,
            role,
            self._out_zone(request, calendar),
            full_tombstone,
            int(max_attendees) if max_attendees and max_attendees.isdigit() else None,
        )

    def _query(self, request: Request) -> ListQuery:
        sync_token = request.param("syncToken")
        show_deleted = _bool(request, "showDeleted")
        single = bool(_bool(request, "singleEvents"))
        if sync_token is not None:
            for name in SYNC_FORBIDDEN:
                if request.param(name) is not None:
                    raise invalid(f"The parameter {name} cannot be used together with syncToken.")
            if show_deleted is False:
                raise invalid("showDeleted cannot be false together with syncToken.")
        order_by = request.param("orderBy")
        if order_by is not None and order_by not in ("startTime", "updated"):
            raise invalid("Invalid value for: orderBy")
        if order_by == "startTime" and not single:
            raise invalid("The requested ordering is not available for the particular query.")
        time_min = parse_time_param(request.param("timeMin"), "timeMin")
        time_max = parse_time_param(request.param("timeMax"), "timeMax")
        if time_min is not None and time_max is not None and time_min >= time_max:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
        max_attendees = request.param("maxAttendees")
        if max_attendees is not None:
            _int(request, "maxAttendees", 0, 1, 1_000_000)
        return ListQuery(
            sync_token=sync_token,
            page_token=request.param("pageToken"),
            max_results=_int(request, "maxResults", 250, 1, 2500),
            show_deleted=show_deleted,
            single_events=single,
            time_min=time_min,
            time_max=time_max,
            order_by=order_by,
            q=request.param("q"),
            ical_uid=request.param("iCalUID"),
            updated_min=parse_time_param(request.param("updatedMin"), "updatedMin"),
            private_props=parse_props(
                request.query.get("privateExtendedProperty", []), "privateExtendedProperty"
            ),
            shared_props=parse_props(
                request.query.get("sharedExtendedProperty", []), "sharedExtendedProperty"
            ),
            event_types=[t for v in request.query.get("eventTypes", []) for t in v.split(",") if t],
            time_zone=request.param("timeZone"),
            fingerprint=_fingerprint(request),
        )

    def _list_body(
        self,
        request: Request,
        calendar: Calendar,
        role: str,
        query: ListQuery,
        kind_extra: dict[str, Any] | None = None,
    ) -> Response:
        out_zone = self._out_zone(request, calendar)
        result = self.events.list_events(calendar, query)
        full_tombstones = bool(query.show_deleted)
        items = [self._render(request, calendar, role, item, full_tombstones) for item in result.items]
        with self.store.lock:
            stamps = [s.resource.get("updated", "") for s in self.store.events[calendar.id].values()]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p{self.store.counter}"',
            "summary": calendar.summary,
            "description": "",
            "updated": max(stamps, default="1970-01-01T00:00:00.000Z"),
            "timeZone": out_zone,
            "accessRole": role,
            "defaultReminders": [{"method": "popup", "minutes": 30}] if role in ("owner", "writer") else [],
            "items": items,
            **(kind_extra or {}),
        }
        if result.next_page_token:
            body["nextPageToken"] = result.next_page_token
        if result.next_sync_token:
            body["nextSyncToken"] = result.next_sync_token
        return Response.json(200, body)

    def events_list(self, request: Request, token: AccessToken, cid: str) -> Response:
        self._require(token, READ_EVENTS)
        calendar, role = self._calendar(token, cid)
        return self._list_body(request, calendar, role, self._query(request))

    def events_instances(self, request: Request, token: AccessToken, cid: str, eid: str) -> Response:
        self._require(token, READ_EVENTS)
        calendar, role = self._calendar(token, cid)
        master = self.events.master_exists(calendar, eid)
        if not master.get("recurrence"):
            raise invalid("The event is not a recurring event.")
        time_min = parse_time_param(request.param("timeMin"), "timeMin")
        time_max = parse_time_param(request.param("timeMax"), "timeMax")
        if time_min is not None and time_max is not None and time_min >= time_max:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
        query = ListQuery(
            page_token=request.param("pageToken"),
            max_results=_int(request, "maxResults", 250, 1, 2500),
            show_deleted=_bool(request, "showDeleted"),
            single_events=True,
            time_min=time_min,
            time_max=time_max,
            time_min_inclusive=True,
            order_by="startTime",
            master_id=eid,
            original_start=parse_time_param(request.param("originalStart"), "originalStart"),
            fingerprint=_fingerprint(request),
        )
        response = self._list_body(request, calendar, role, query)
        payload = json.loads(response.body)
        payload.pop("nextSyncToken", None)  # instances has no sync token
        return Response.json(200, payload)

    def events_get(self, request: Request, token: AccessToken, cid: str, eid: str) -> Response:
        self._require(token, READ_EVENTS)
        calendar, role = self._calendar(token, cid)
        resource = self.events.get(calendar, eid)
        if_none_match = request.header("if-none-match")
        if if_none_match is not None and if_none_match.strip() == resource.get("etag"):
            return Response(304)
        return Response.json(200, self._render(request, calendar, role, resource))

    def events_insert(self, request: Request, token: AccessToken, cid: str) -> Response:
        self._require(token, WRITE_EVENTS)
        calendar, role = self._calendar(token, cid)
        resource = self.events.insert(calendar, role, _body(request))
        return Response.json(200, self._render(request, calendar, role, resource))

    def events_update(self, request: Request, token: AccessToken, cid: str, eid: str) -> Response:
        return self._modify(request, token, cid, eid, replace=True)

    def events_patch(self, request: Request, token: AccessToken, cid: str, eid: str) -> Response:
        return self._modify(request, token, cid, eid, replace=False)

    def _modify(self, request: Request, token: AccessToken, cid: str, eid: str, replace: bool) -> Response:
        self._require(token, WRITE_EVENTS)
        calendar, role = self._calendar(token, cid)
        body = _body(request)
        resource = self.events.modify(calendar, role, eid, body, replace, request.header("if-match"))
        return Response.json(200, self._render(request, calendar, role, resource))

    def events_delete(self, request: Request, token: AccessToken, cid: str, eid: str) -> Response:
        self._require(token, WRITE_EVENTS)
        calendar, role = self._calendar(token, cid)
        self.events.delete(calendar, role, eid, request.header("if-match"))
        return Response(204)

    # -- push ------------------------------------------------------------------------------------

    def events_watch(self, request: Request, token: AccessToken, cid: str) -> Response:
        self._require(token, READ_EVENTS)
        calendar, _role = self._calendar(token, cid)
        self._query(request)  # same parameter rules as list
        body = _body(request)
        channel_id = body.get("id")
        address = body.get("address")
        if not isinstance(channel_id, str) or not channel_id or len(channel_id) > 64:
            raise ApiError(400, "required", "Required channel id.")
        if body.get("type") not in ("web_hook", "webhook"):
            raise invalid("Invalid value for: type")
        if not isinstance(address, str) or not address:
            raise ApiError(400, "required", "Required channel address.")
        parts = urlsplit(address)
        loopback = False
        try:
            loopback = parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname or "").is_loopback
        except ValueError:
            loopback = False
        # Google requires HTTPS with a trusted certificate; the sandbox also accepts plain HTTP to a
        # loopback receiver, which is where local tests and demos listen.
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ApiError(400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}")
        channel_token = body.get("token")
        if channel_token is not None and (not isinstance(channel_token, str) or len(channel_token) > 256):
            raise invalid("Invalid value for: token")
        now_ms = int(self.store.now().timestamp() * 1000)
        ttl = DEFAULT_CHANNEL_TTL_S
        params = body.get("params") or {}
        try:
            if isinstance(params, dict) and "ttl" in params:
                ttl = int(params["ttl"])
            expiration = now_ms + min(ttl, MAX_CHANNEL_TTL_S) * 1000
            if body.get("expiration") is not None:
                requested = int(body["expiration"])
                if requested <= now_ms:
                    raise ValueError("expiration in the past")
                expiration = min(
                    expiration if "ttl" in params else now_ms + MAX_CHANNEL_TTL_S * 1000, requested
                )
            if ttl <= 0:
                raise ValueError("ttl")
        except (TypeError, ValueError) as exc:
            raise invalid("Invalid ttl value for channel.", "pushInvalidTtl") from exc
        resource_id = hashlib.sha1(f"events:{calendar.id}".encode()).hexdigest()[:27]
        resource_uri = (
            f"{request.base_url}/calendar/v3/calendars/{quote(calendar.id, safe='')}/events?alt=json"
        )
        synced = threading.Event() if self.sync_before_answer else None
        with self.store.lock:
            if channel_id in self.store.channels:
                raise ApiError(400, "channelIdNotUnique", "Channel id not unique.")
            channel = Channel(
                channel_id,
                resource_id,
                channel_token,
                address,
                calendar.id,
                token.email,
                expiration,
                resource_uri,
            )
            self.store.channels[channel_id] = channel
            self._send(channel, "sync", None if synced is None else lambda _status: synced.set())
        if synced is not None and not self.push.paused:
            synced.wait(SYNC_BEFORE_ANSWER_WAIT_S)
        payload = {
            "kind": "api#channel",
            "id": channel_id,
            "resourceId": resource_id,
            "resourceUri": resource_uri,
            "expiration": str(expiration),
        }
        if channel_token is not None:
            payload["token"] = channel_token
        return Response.json(200, payload)

    def channels_stop(self, request: Request, token: AccessToken) -> Response:
        body = _body(request)
        channel_id, resource_id = body.get("id"), body.get("resourceId")
        with self.store.lock:
            channel = self.store.channels.get(str(channel_id))
            if channel is None or channel.resource_id != resource_id or channel.email != token.email:
                raise ApiError(404, "notFound", f"Channel '{channel_id}' not found for project 'sandbox'")
            del self.store.channels[channel.id]
        # Success is an empty 204 (Google's exact status code is unverified).
        return Response(204)

    def notify_channels(self, calendar_id: str) -> None:
        with self.store.lock:
            now_ms = int(self.store.now().timestamp() * 1000)
            for channel in list(self.store.channels.values()):
                if channel.expiration_ms <= now_ms:
                    del self.store.channels[channel.id]
                elif channel.calendar_id == calendar_id:
                    self._send(channel, "exists")

    def _send(
        self, channel: Channel, state: str, on_done: Callable[[int | None], None] | None = None
    ) -> None:
        channel.message_number += 1
        expires = dt.datetime.fromtimestamp(channel.expiration_ms / 1000, dt.UTC)
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": email.utils.format_datetime(expires, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.message_number),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        self.push.send(Notification(channel.address, headers, b"", "google", on_done))
