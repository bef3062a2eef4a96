"""Over 500 lines: an emulator mirrors Google's event rules in full, and they hang together.

Event semantics of the emulated Calendar v3 API: validation, writes, listing, rendering.

Works on a `GoogleStore` under its lock and raises `ApiError` for anything Google refuses. The
HTTP layer (`google_calendar`) only parses parameters and serialises results.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.sandbox import google_recurrence as recur
from sync.sandbox.google_store import (
    ApiError,
    Calendar,
    GoogleStore,
    StoredEvent,
    b64,
    deep_copy,
    invalid,
    not_found,
    parse_rfc3339,
    random_id,
    render_datetime,
    unb64,
)

ID_PATTERN = re.compile(r"^[a-v0-9]{5,1024}$")
# Instance ids: `<masterId>_<YYYYMMDDTHHMMSSZ>` or `<masterId>_<YYYYMMDD>` (observed, undocumented).
INSTANCE_ID = re.compile(r"^(?P<master>[a-v0-9]{5,1024})_(?P<stamp>\d{8}(T\d{6}Z)?)$")
EVENT_TYPES = ("default", "outOfOffice", "focusTime", "workingLocation", "birthday", "fromGmail")
RESPONSES = ("needsAction", "declined", "tentative", "accepted")
# How far `singleEvents=true` expands an endless series when no timeMax bounds it. Google's own
# limit is unverified; we chose two years past now.
EXPANSION_HORIZON = dt.timedelta(days=730)
# Fields a private event keeps for a reader-level caller. Which fields Google keeps is unverified:
# we keep times and status (what availability needs) and drop title, description, people and
# properties.
PRIVATE_KEEP = (
    "kind",
    "etag",
    "id",
    "status",
    "htmlLink",
    "created",
    "updated",
    "start",
    "end",
    "endTimeUnspecified",
    "recurrence",
    "recurringEventId",
    "originalStartTime",
    "transparency",
    "visibility",
    "iCalUID",
    "sequence",
    "eventType",
)
TOMBSTONE_KEEP = ("kind", "etag", "id", "status", "recurringEventId", "originalStartTime")
SYNC_FORBIDDEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)
SIGNIFICANT = ("start", "end", "recurrence", "status", "location", "summary")


# -- time of events ------------------------------------------------------------------------------


def _zone(name: str, what: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise invalid(f"Invalid time zone definition for {what} time.") from exc


def _is_all_day(event: Mapping[str, Any]) -> bool:
    return "date" in event.get("start", {})


def _bounds(when: Mapping[str, Any], tz: str) -> dt.datetime:
    if "date" in when:
        day = dt.date.fromisoformat(when["date"])
        return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
    return parse_rfc3339(when["dateTime"])


def event_span(event: Mapping[str, Any], calendar_tz: str) -> tuple[dt.datetime, dt.datetime]:
    """UTC start and end of a stored (non-master) event; all-day dates in the calendar's zone."""
    return _bounds(event["start"], calendar_tz), _bounds(event["end"], calendar_tz)


def normalise_when(raw: Any, what: str) -> dict[str, Any]:
    """Validate an EventDateTime and store it: date as is, dateTime in UTC, timeZone kept."""
    if not isinstance(raw, dict):
        raise invalid(f"Missing {what} time.", "required")
    date_value, date_time, zone = raw.get("date"), raw.get("dateTime"), raw.get("timeZone")
    if zone is not None:
        if not isinstance(zone, str):
            raise invalid(f"Invalid time zone definition for {what} time.")
        _zone(zone, what)
    if date_value is not None and date_time is not None:
        raise invalid(f"Invalid {what} time: set either date or dateTime, not both.")
    if date_value is not None:
        try:
            day = dt.date.fromisoformat(str(date_value))
        except ValueError as exc:
            raise invalid(f"Invalid {what} time.") from exc
        if len(str(date_value)) != 10:
            raise invalid(f"Invalid {what} time.")
        result: dict[str, Any] = {"date": day.isoformat()}
    elif date_time is not None:
        try:
            instant = parse_rfc3339(str(date_time), zone)
        except ValueError as exc:
            if "offset" in str(exc):
                raise invalid(f"Missing time zone definition for {what} time.") from exc
            raise invalid(f"Invalid {what} time.") from exc
        result = {"dateTime": instant.strftime("%Y-%m-%dT%H:%M:%SZ")}
    else:
        raise invalid(f"Missing {what} time.", "required")
    if zone is not None:
        result["timeZone"] = zone
    return result


# -- validation of writes ------------------------------------------------------------------------


def _check_str_map(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise invalid(f"Invalid value for: {what}")
    return dict(value)


def validate_body(
    body: Mapping[str, Any], creating: bool, existing: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The writable part of an event body, checked; raises ApiError(400) with Google's reasons."""
    clean: dict[str, Any] = {}
    for key in (
        "summary",
        "description",
        "location",
        "colorId",
        "transparency",
        "visibility",
        "status",
        "eventType",
        "iCalUID",
        "hangoutLink",
    ):
        if key in body and body[key] is not None:
            if not isinstance(body[key], str):
                raise invalid(f"Invalid value for: {key}")
            clean[key] = body[key]
    if clean.get("transparency", "opaque") not in ("opaque", "transparent"):
        raise invalid("Invalid value for: transparency")
    if clean.get("visibility", "default") not in ("default", "public", "private", "confidential"):
        raise invalid("Invalid value for: visibility")
    if clean.get("status", "confirmed") not in ("confirmed", "tentative", "cancelled"):
        raise invalid("Invalid value for: status")
    if "colorId" in clean and clean["colorId"] not in EVENT_COLORS:
        raise invalid("Invalid value for: colorId")
    event_type = clean.get("eventType")
    if event_type is not None:
        if event_type not in EVENT_TYPES:
            raise invalid("Invalid value for: eventType")
        if creating and event_type == "fromGmail":
            raise invalid("Events of type fromGmail cannot be created.", "eventTypeRestriction")
        if existing is not None and event_type != existing.get("eventType", "default"):
            raise invalid("The event type cannot be changed.", "eventTypeRestriction")
    for key in ("start", "end"):
        if key in body:
            clean[key] = normalise_when(body[key], key)
        elif creating:
            raise invalid(f"Missing {key} time.", "required")
    if "recurrence" in body and body["recurrence"] is not None:
        lines = body["recurrence"]
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise invalid("Invalid recurrence rule.")
        if any(line.upper().startswith(("DTSTART", "DTEND")) for line in lines):
            raise invalid("Invalid recurrence rule.")
        clean["recurrence"] = list(lines)
    if "attendees" in body and body["attendees"] is not None:
        attendees = body["attendees"]
        if not isinstance(attendees, list):
            raise invalid("Invalid value for: attendees")
        cleaned = []
        for attendee in attendees:
            if not isinstance(attendee, dict) or not isinstance(attendee.get("email"), str):
                raise invalid("Invalid attendee email.", "invalid")
            item = {k: v for k, v in attendee.items() if k != "self"}
            item.setdefault("responseStatus", "needsAction")
            if item["responseStatus"] not in RESPONSES:
                raise invalid("Invalid value for: attendees.responseStatus")
            cleaned.append(item)
        clean["attendees"] = cleaned
    if "extendedProperties" in body and body["extendedProperties"] is not None:
        props = body["extendedProperties"]
        if not isinstance(props, dict):
            raise invalid("Invalid value for: extendedProperties")
        clean["extendedProperties"] = {
            k: _check_str_map(props[k], f"extendedProperties.{k}")
            for k in ("private", "shared")
            if k in props
        }
    if "source" in body and body["source"] is not None:
        source = body["source"]
        if not isinstance(source, dict) or not str(source.get("url", "")).startswith(("http://", "https://")):
            raise invalid("Invalid value for: source.url")
        clean["source"] = {k: str(v) for k, v in source.items() if k in ("url", "title")}
    for key in (
        "reminders",
        "outOfOfficeProperties",
        "focusTimeProperties",
        "workingLocationProperties",
        "guestsCanModify",
        "guestsCanInviteOthers",
        "guestsCanSeeOtherGuests",
        "anyoneCanAddSelf",
        "endTimeUnspecified",
        "conferenceData",
        "attachments",
    ):
        if key in body and body[key] is not None:
            clean[key] = body[key]
    return clean


def _check_times(resource: Mapping[str, Any]) -> None:
    start, end = resource["start"], resource["end"]
    if ("date" in start) != ("date" in end):
        raise invalid("The start and end times must both be dates or both be date-times.")
    if "date" in start:
        if end["date"] <= start["date"]:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
    elif parse_rfc3339(end["dateTime"]) < parse_rfc3339(start["dateTime"]):
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
    if resource.get("recurrence"):
        if "dateTime" in start and not start.get("timeZone"):
            raise invalid("Missing time zone definition for start time.", "missingTimeZone")
        try:
            next(iter(_occurrences(resource, "UTC", None)), None)
        except recur.RecurrenceError as exc:
            raise invalid("Invalid recurrence rule.") from exc


# -- recurrence ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instance:
    id: str
    original: dict[str, Any]  # originalStartTime
    start: dict[str, Any]
    end: dict[str, Any]
    start_utc: dt.datetime
    end_utc: dt.datetime


def _occurrences(
    master: Mapping[str, Any], calendar_tz: str, until: dt.datetime | None
) -> Iterable[Instance]:
    lines = master.get("recurrence") or []
    if _is_all_day(master):
        start_day = dt.date.fromisoformat(master["start"]["date"])
        end_day = dt.date.fromisoformat(master["end"]["date"])
        limit = (
            (until.astimezone(ZoneInfo(calendar_tz)).date() + dt.timedelta(days=1))
            if until
            else (dt.date.max - dt.timedelta(days=400))
        )
        zone = ZoneInfo(calendar_tz)
        for occ in recur.occurrences(lines, start_day, end_day, None, limit, zone):
            assert not isinstance(occ.start, dt.datetime) and not isinstance(occ.end, dt.datetime)
            yield Instance(
                f"{master['id']}_{occ.start.strftime('%Y%m%d')}",
                {"date": occ.start.isoformat()},
                {"date": occ.start.isoformat()},
                {"date": occ.end.isoformat()},
                dt.datetime.combine(occ.start, dt.time(), tzinfo=zone).astimezone(dt.UTC),
                dt.datetime.combine(occ.end, dt.time(), tzinfo=zone).astimezone(dt.UTC),
            )
        return
    tz_name = master["start"].get("timeZone") or calendar_tz
    zone = ZoneInfo(tz_name)
    start = parse_rfc3339(master["start"]["dateTime"]).astimezone(zone)
    end = parse_rfc3339(master["end"]["dateTime"]).astimezone(zone)
    limit_dt = until if until is not None else dt.datetime.max.replace(tzinfo=dt.UTC) - dt.timedelta(days=400)
    end_zone = master["end"].get("timeZone") or tz_name
    for occ in recur.occurrences(lines, start, end, zone, limit_dt):
        assert isinstance(occ.start, dt.datetime) and isinstance(occ.end, dt.datetime)
        start_utc, end_utc = occ.start.astimezone(dt.UTC), occ.end.astimezone(dt.UTC)
        yield Instance(
            f"{master['id']}_{start_utc.strftime('%Y%m%dT%H%M%SZ')}",
            {"dateTime": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"), "timeZone": tz_name},
            {"dateTime": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"), "timeZone": tz_name},
            {"dateTime": end_utc.strftime("%Y-%m-%dT%H:%M:%SZ"), "timeZone": end_zone},
            start_utc,
            end_utc,
        )


def instance_resource(master: Mapping[str, Any], instance: Instance) -> dict[str, Any]:
    resource = deep_copy(master)
    resource.pop("recurrence", None)
    resource["id"] = instance.id
    resource["recurringEventId"] = master["id"]
    resource["originalStartTime"] = dict(instance.original)
    resource["start"] = dict(instance.start)
    resource["end"] = dict(instance.end)
    return resource


# -- the event service -----------------------------------------------------------------------------


@dataclass(slots=True)
class ListQuery:
    sync_token: str | None = None
    page_token: str | None = None
    max_results: int = 250
    show_deleted: bool | None = None
    single_events: bool = False
    time_min: dt.datetime | None = None
    time_max: dt.datetime | None = None
    time_min_inclusive: bool = False
    order_by: str | None = None
    q: str | None = None
    ical_uid: str | None = None
    updated_min: dt.datetime | None = None
    private_props: list[tuple[str, str]] = field(default_factory=list)
    shared_props: list[tuple[str, str]] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    time_zone: str | None = None
    max_attendees: int | None = None
    master_id: str | None = None  # events.instances
    original_start: dt.datetime | None = None
    fingerprint: str = ""


@dataclass(slots=True)
class ListResult:
    items: list[dict[str, Any]]
    next_page_token: str | None
    next_sync_token: str | None


class EventService:
    def __init__(self, store: GoogleStore) -> None:
        self.store = store

    # -- helpers -------------------------------------------------------------------------------

    def _etag(self, change: int) -> str:
        return f'"{3_300_000_000_000_000 + change}"'

    def _owner_fields(self, calendar: Calendar) -> dict[str, Any]:
        owner = self.store.accounts.get(calendar.owner)
        if calendar.primary and owner is not None:
            return {"email": calendar.owner, "displayName": owner.name}
        return {"email": calendar.id, "displayName": calendar.summary}

    def _stamp(self, calendar: Calendar, resource: dict[str, Any], stored: StoredEvent | None) -> StoredEvent:
        change = self.store.next_change()
        resource["etag"] = self._etag(change)
        resource["updated"] = self.store.now_text()
        if stored is None:
            stored = StoredEvent(resource, self.store.next_ordinal(), change)
            self.store.events[calendar.id][resource["id"]] = stored
        else:
            stored.resource = resource
            stored.change = change
        return stored

    def _find(self, calendar: Calendar, event_id: str) -> tuple[StoredEvent | None, dict[str, Any] | None]:
        """The stored event, or for an unmodified instance id the synthesised instance resource."""
        events = self.store.events[calendar.id]
        stored = events.get(event_id)
        if stored is not None:
            return stored, stored.resource
        match = INSTANCE_ID.match(event_id)
        if not match:
            return None, None
        master = events.get(match.group("master"))
        if master is None or not master.resource.get("recurrence"):
            return None, None
        stamp = match.group("stamp")
        for instance in self._expand(master.resource, calendar, None, self._horizon()):
            if instance.id == event_id:
                return None, instance_resource(master.resource, instance)
            if instance.id.rsplit("_", 1)[1] > stamp:
                break
        return None, None

    def _horizon(self) -> dt.datetime:
        return self.store.now() + EXPANSION_HORIZON

    def _expand(
        self, master: Mapping[str, Any], calendar: Calendar, after: dt.datetime | None, before: dt.datetime
    ) -> Iterable[Instance]:
        for instance in _occurrences(master, calendar.time_zone, before):
            if after is not None and instance.end_utc <= after and instance.start_utc < after:
                continue
            yield instance

    def _check_write(self, role: str) -> None:
        if role not in ("owner", "writer"):
            raise ApiError(403, "requiredAccessLevel", "You need to have writer access to this calendar.")

    def _check_if_match(self, current: Mapping[str, Any], if_match: str | None) -> None:
        if if_match is None or if_match.strip() == "*":
            return
        wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
        if current.get("etag") not in wanted:
            # Google's reason string for this 412 is unverified; we use "conditionNotMet".
            raise ApiError(412, "conditionNotMet", "Precondition Failed")

    # -- writes --------------------------------------------------------------------------------

    def insert(self, calendar: Calendar, role: str, body: Mapping[str, Any]) -> dict[str, Any]:
        self._check_write(role)
        with self.store.lock:
            event_id = body.get("id")
            if event_id is not None:
                if not isinstance(event_id, str) or not ID_PATTERN.match(event_id):
                    raise invalid("Invalid resource id value.")
                if event_id in self.store.events[calendar.id]:
                    raise ApiError(409, "duplicate", "The requested identifier already exists.")
            else:
                event_id = random_id(26)
            clean = validate_body(body, creating=True, existing=None)
            now = self.store.now_text()
            owner = self._owner_fields(calendar)
            resource: dict[str, Any] = {
                "kind": "calendar#event",
                "id": event_id,
                "status": "confirmed",
                "htmlLink": f"https://calendar.google.com/calendar/event?eid={event_id}",
                "created": now,
                "creator": dict(owner),
                "organizer": dict(owner),
                "iCalUID": f"{event_id}@google.com",
                "sequence": 0,
                "reminders": {"useDefault": True},
                "eventType": "default",
                **clean,
            }
            _check_times(resource)
            self._stamp(calendar, resource, None)
        self.store.touch_events(calendar.id)
        return resource

    def seed(self, calendar: Calendar, resource: dict[str, Any]) -> dict[str, Any]:
        """Insert a fully formed resource (organizer and attendees as given) for demo data."""
        with self.store.lock:
            resource.setdefault("id", random_id(26))
            resource.setdefault("kind", "calendar#event")
            resource.setdefault("status", "confirmed")
            resource.setdefault("created", self.store.now_text())
            owner = self._owner_fields(calendar)
            resource.setdefault("creator", dict(resource.get("organizer", owner)))
            resource.setdefault("organizer", dict(owner))
            resource.setdefault("iCalUID", f"{resource['id']}@google.com")
            resource.setdefault("sequence", 0)
            resource.setdefault("reminders", {"useDefault": True})
            resource.setdefault("eventType", "default")
            resource.setdefault(
                "htmlLink", f"https://calendar.google.com/calendar/event?eid={resource['id']}"
            )
            _check_times(resource)
            self._stamp(calendar, resource, None)
        self.store.touch_events(calendar.id)
        return resource

    def get(self, calendar: Calendar, event_id: str) -> dict[str, Any]:
        with self.store.lock:
            _stored, resource = self._find(calendar, event_id)
            if resource is None:
                raise not_found()
            return resource

    def modify(
        self,
        calendar: Calendar,
        role: str,
        event_id: str,
        body: Mapping[str, Any],
        replace: bool,
        if_match: str | None,
    ) -> dict[str, Any]:
        self._check_write(role)
        with self.store.lock:
            stored, current = self._find(calendar, event_id)
            if current is None:
                raise not_found()
            self._check_if_match(current, if_match)
            if current.get("status") == "cancelled" and body.get("status") in (None, "cancelled"):
                # Editing a deleted event without restoring it. Restoring with status "confirmed"
                # is allowed here; whether Google allows it is unverified.
                raise ApiError(410, "deleted", "Resource has been deleted")
            clean = validate_body(body, creating=replace, existing=current)
            if replace:
                keep: dict[str, Any] = {
                    k: current[k]
                    for k in (
                        "kind",
                        "id",
                        "created",
                        "creator",
                        "organizer",
                        "iCalUID",
                        "sequence",
                        "htmlLink",
                        "recurringEventId",
                        "originalStartTime",
                        "eventType",
                    )
                    if k in current
                }
                resource: dict[str, Any] = {
                    "status": "confirmed",
                    "reminders": {"useDefault": True},
                    **keep,
                    **clean,
                }
                if current.get("recurringEventId"):
                    resource.pop("recurrence", None)
            else:
                resource = deep_copy(current)
                for key, value in body.items():
                    if value is None and key in resource and key not in ("id", "kind"):
                        del resource[key]
                for key, value in clean.items():
                    if (
                        isinstance(value, dict)
                        and isinstance(resource.get(key), dict)
                        and key not in ("start", "end")
                    ):
                        resource[key] = _merge(resource[key], value)
                    else:
                        resource[key] = value
            if any(resource.get(k) != current.get(k) for k in SIGNIFICANT):
                resource["sequence"] = int(current.get("sequence", 0)) + 1
            _check_times(resource)
            self._stamp(calendar, resource, stored)
        self.store.touch_events(calendar.id)
        return resource

    def delete(self, calendar: Calendar, role: str, event_id: str, if_match: str | None) -> None:
        self._check_write(role)
        with self.store.lock:
            stored, current = self._find(calendar, event_id)
            if current is None:
                raise not_found()
            if current.get("status") == "cancelled":
                raise ApiError(410, "deleted", "Resource has been deleted")
            self._check_if_match(current, if_match)
            resource = deep_copy(current)
            resource["status"] = "cancelled"
            self._stamp(calendar, resource, stored)
            if resource.get("recurrence"):
                for other in self.store.events[calendar.id].values():
                    if (
                        other.resource.get("recurringEventId") == event_id
                        and other.resource.get("status") != "cancelled"
                    ):
                        cancelled = deep_copy(other.resource)
                        cancelled["status"] = "cancelled"
                        self._stamp(calendar, cancelled, other)
        self.store.touch_events(calendar.id)

    # -- reads ---------------------------------------------------------------------------------

    def list_events(self, calendar: Calendar, query: ListQuery) -> ListResult:
        with self.store.lock:
            return self._list(calendar, query)

    def _list(self, calendar: Calendar, query: ListQuery) -> ListResult:
        since: int | None = None
        if query.sync_token is not None:
            try:
                token = unb64(query.sync_token)
                since = int(token["n"])
                token_cal, epoch = token["c"], int(token["e"])
            except (ValueError, KeyError, TypeError) as exc:
                raise invalid("Invalid sync token value.") from exc
            if token_cal != calendar.id:
                raise invalid("Invalid sync token value.")
            if epoch != calendar.epoch:
                raise ApiError(
                    410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
                )
        if query.page_token is not None:
            try:
                page = unb64(query.page_token)
                snapshot, after_key, fingerprint = int(page["s"]), list(page["k"]), page["f"]
            except (ValueError, KeyError, TypeError) as exc:
                raise invalid("Invalid page token value.") from exc
            if fingerprint != query.fingerprint:
                raise invalid("The page token does not belong to this query.")
        else:
            snapshot, after_key = self.store.counter, None

        rows = self._candidates(calendar, query, since, snapshot)
        rows.sort(key=lambda row: row[0])
        if after_key is not None:
            rows = [row for row in rows if row[0] > after_key]
        page_rows = rows[: query.max_results]
        items = [item for _key, item in page_rows]
        if len(rows) > query.max_results:
            next_page = b64({"s": snapshot, "k": page_rows[-1][0], "f": query.fingerprint})
            return ListResult(items, next_page, None)
        # nextSyncToken is given on the last page of every list, bounded or not (Google's
        # own sample bounds the first full sync with timeMin; later results are unbounded here).
        return ListResult(items, None, b64({"c": calendar.id, "n": snapshot, "e": calendar.epoch}))

    def _candidates(
        self, calendar: Calendar, query: ListQuery, since: int | None, snapshot: int
    ) -> list[tuple[list[Any], dict[str, Any]]]:
        events = self.store.events[calendar.id]
        incremental = since is not None or query.updated_min is not None
        show_deleted = True if incremental else bool(query.show_deleted)
        window_min, window_max = query.time_min, query.time_max
        rows: list[tuple[list[Any], dict[str, Any]]] = []

        def changed(stored: StoredEvent) -> bool:
            if stored.change > snapshot:
                # Written after this listing began: the next sync picks it up.
                return False
            if since is not None and stored.change <= since:
                return False
            return query.updated_min is None or parse_rfc3339(stored.resource["updated"]) >= query.updated_min

        def in_window(start: dt.datetime, end: dt.datetime) -> bool:
            if window_min is not None:
                if query.time_min_inclusive:
                    if start < window_min and end <= window_min:
                        return False
                elif end <= window_min:
                    return False
            return not (window_max is not None and start >= window_max)

        def add(resource: dict[str, Any], ordinal: int, start: dt.datetime | None, orig: str) -> None:
            if not self._matches(resource, query):
                return
            if query.order_by == "startTime":
                key: list[Any] = [start.isoformat() if start else "", f"{ordinal:012d}", orig]
            elif query.order_by == "updated":
                key = [resource.get("updated", ""), f"{ordinal:012d}", orig]
            else:
                key = [f"{ordinal:012d}", orig]
            rows.append((key, resource))

        horizon = window_max or self._horizon()
        masters = {eid: s for eid, s in events.items() if s.resource.get("recurrence")}
        for stored in events.values():
            resource = stored.resource
            if not changed(stored) or (
                query.master_id
                and resource.get("recurringEventId") != query.master_id
                and resource["id"] != query.master_id
            ):
                continue
            cancelled = resource.get("status") == "cancelled"
            is_master = bool(resource.get("recurrence"))
            is_exception = bool(resource.get("recurringEventId"))
            if query.single_events:
                if is_master:
                    if cancelled and not incremental:
                        continue  # a deleted series never shows as instances in a full listing
                    exceptions = {
                        s.resource["id"]
                        for s in events.values()
                        if s.resource.get("recurringEventId") == resource["id"]
                    }
                    for instance in self._expand(resource, calendar, window_min, horizon):
                        if instance.id in exceptions:
                            continue  # the stored exception stands for it
                        if not in_window(instance.start_utc, instance.end_utc):
                            continue
                        item = instance_resource(resource, instance)
                        if not cancelled or show_deleted:
                            add(item, stored.ordinal, instance.start_utc, instance.id.rsplit("_", 1)[1])
                    continue
                if is_exception and query.master_id is None:
                    master = masters.get(resource["recurringEventId"])
                    if (
                        master is not None
                        and master.resource.get("status") == "cancelled"
                        and not incremental
                    ):
                        continue
            elif query.master_id is not None:
                continue
            elif is_exception and cancelled and not show_deleted:
                master = masters.get(resource["recurringEventId"])
                if master is None or master.resource.get("status") == "cancelled":
                    continue  # cancelled instances are listed only while their series lives
            if cancelled and not show_deleted and not (is_exception and not query.single_events):
                continue
            if is_master:
                if not cancelled and (window_min is not None or window_max is not None):
                    hit = next(
                        iter(
                            i
                            for i in self._expand(resource, calendar, window_min, horizon)
                            if in_window(i.start_utc, i.end_utc)
                        ),
                        None,
                    )
                    if hit is None:
                        continue
                add(resource, stored.ordinal, _bounds(resource["start"], calendar.time_zone), "")
                continue
            start, end = event_span(resource, calendar.time_zone)
            if not incremental and not in_window(start, end):
                continue
            if (
                query.original_start is not None
                and resource.get("originalStartTime")
                and _bounds(resource["originalStartTime"], calendar.time_zone) != query.original_start
            ):
                continue
            orig = resource["id"].rsplit("_", 1)[1] if is_exception else ""
            add(
                resource,
                stored.ordinal if not is_exception else self._master_ordinal(masters, resource, stored),
                start,
                orig,
            )
        if query.master_id is not None and query.original_start is not None:
            rows = [
                r
                for r in rows
                if _bounds(r[1]["originalStartTime"], calendar.time_zone) == query.original_start
            ]
        return rows

    def _master_ordinal(
        self, masters: Mapping[str, StoredEvent], resource: Mapping[str, Any], stored: StoredEvent
    ) -> int:
        master = masters.get(resource["recurringEventId"])
        return master.ordinal if master is not None else stored.ordinal

    def _matches(self, resource: Mapping[str, Any], query: ListQuery) -> bool:
        if query.ical_uid is not None and resource.get("iCalUID") != query.ical_uid:
            return False
        if query.event_types and resource.get("eventType", "default") not in query.event_types:
            return False
        props = resource.get("extendedProperties", {})
        for key, value in query.private_props:
            if props.get("private", {}).get(key) != value:
                return False
        for key, value in query.shared_props:
            if props.get("shared", {}).get(key) != value:
                return False
        if query.q:
            haystack = " ".join(
                str(resource.get(k, "")) for k in ("summary", "description", "location")
            ).lower()
            haystack += (
                " "
                + " ".join(
                    str(a.get("email", "")) + " " + str(a.get("displayName", ""))
                    for a in resource.get("attendees", [])
                ).lower()
            )
            if not all(word in haystack for word in query.q.lower().split()):
                return False
        return True

    def master_exists(self, calendar: Calendar, event_id: str) -> dict[str, Any]:
        with self.store.lock:
            stored = self.store.events[calendar.id].get(event_id)
            if stored is None:
                raise not_found()
            if stored.resource.get("status") == "cancelled":
                raise ApiError(410, "deleted", "Resource has been deleted")
            return stored.resource


def _merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def render(
    resource: Mapping[str, Any],
    calendar: Calendar,
    role: str,
    out_zone: str,
    full_tombstone: bool,
    max_attendees: int | None = None,
) -> dict[str, Any]:
    """The event as this caller sees it: own `self` flags, times in the output zone, privacy."""
    item = deep_copy(resource)
    if item.get("status") == "cancelled" and not full_tombstone:
        item = {k: item[k] for k in TOMBSTONE_KEEP if k in item}
    owner = calendar.owner
    for key in ("start", "end", "originalStartTime"):
        when = item.get(key)
        if isinstance(when, dict) and "dateTime" in when:
            when["dateTime"] = render_datetime(parse_rfc3339(when["dateTime"]), out_zone)
    for key in ("organizer", "creator"):
        person = item.get(key)
        if isinstance(person, dict):
            person.pop("self", None)
            if person.get("email") in (owner, calendar.id):
                person["self"] = True
    attendees = item.get("attendees")
    if isinstance(attendees, list):
        for attendee in attendees:
            attendee.pop("self", None)
            if attendee.get("email", "").lower() == owner:
                attendee["self"] = True
            if isinstance(item.get("organizer"), dict) and attendee.get("email") == item["organizer"].get(
                "email"
            ):
                attendee["organizer"] = True
        if max_attendees is not None and len(attendees) > max_attendees:
            own = [a for a in attendees if a.get("self")]
            item["attendees"] = own or attendees[:max_attendees]
            item["attendeesOmitted"] = True
    if item.get("visibility") in ("private", "confidential") and role not in ("owner", "writer"):
        item = {k: item[k] for k in PRIVATE_KEEP if k in item}
    return item


def parse_time_param(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        # An offset is mandatory for timeMin/timeMax/updatedMin.
        raise invalid(f"Invalid value for: {name}", "invalid") from exc


def parse_props(values: Sequence[str], name: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        if "=" not in value:
            raise invalid(f"Invalid value for: {name}")
        key, _, val = value.partition("=")
        pairs.append((key, val))
    return pairs


EVENT_COLORS: dict[str, dict[str, str]] = {
    "1": {"background": "#a4bdfc", "foreground": "#1d1d1d"},
    "2": {"background": "#7ae7bf", "foreground": "#1d1d1d"},
    "3": {"background": "#dbadff", "foreground": "#1d1d1d"},
    "4": {"background": "#ff887c", "foreground": "#1d1d1d"},
    "5": {"background": "#fbd75b", "foreground": "#1d1d1d"},
    "6": {"background": "#ffb878", "foreground": "#1d1d1d"},
    "7": {"background": "#46d6db", "foreground": "#1d1d1d"},
    "8": {"background": "#e1e1e1", "foreground": "#1d1d1d"},
    "9": {"background": "#5484ed", "foreground": "#1d1d1d"},
    "10": {"background": "#51b749", "foreground": "#1d1d1d"},
    "11": {"background": "#dc2127", "foreground": "#1d1d1d"},
}

CALENDAR_COLORS: dict[str, dict[str, str]] = {
    str(i + 1): {"background": bg, "foreground": "#1d1d1d"}
    for i, bg in enumerate(
        [
            "#ac725e",
            "#d06b64",
            "#f83a22",
            "#fa573c",
            "#ff7537",
            "#ffad46",
            "#42d692",
            "#16a765",
            "#7bd148",
            "#b3dc6c",
            "#fbe983",
            "#fad165",
            "#92e1c0",
            "#9fe1e7",
            "#9fc6e7",
            "#4986e7",
            "#9a9cff",
            "#b99aff",
            "#c2c2c2",
            "#cabdbf",
            "#cca6ac",
            "#f691b2",
            "#cd74e6",
            "#a47ae2",
        ]
    )
}
