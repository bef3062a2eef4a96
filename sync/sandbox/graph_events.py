"""Graph event JSON: reading request bodies into stored events and writing events back out.

Writes accept what Graph's event type accepts (unknown properties are a 400, as Graph's OData
reader does); reads produce the v1.0 event shape with the caller's preferences applied:
`Prefer: outlook.timezone` for start/end, `Prefer: IdType="ImmutableId"` for ids, `$select`,
and `$expand=singleValueExtendedProperties($filter=id eq '...')`.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.sandbox import graph_recurrence, graph_zones
from sync.sandbox.graph_store import Event, Instance, Mailbox, stamp

SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
SENSITIVITY = ("normal", "personal", "private", "confidential")
IMPORTANCE = ("low", "normal", "high")
RESPONSES = ("none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded")
BODY_TYPES = ("text", "html")

# Properties a client may write, and read-only ones Graph silently ignores on write.
WRITABLE = frozenset(
    {
        "subject",
        "body",
        "start",
        "end",
        "isAllDay",
        "showAs",
        "sensitivity",
        "importance",
        "location",
        "locations",
        "categories",
        "isReminderOn",
        "reminderMinutesBeforeStart",
        "transactionId",
        "recurrence",
        "attendees",
        "singleValueExtendedProperties",
        "responseRequested",
        "allowNewTimeProposals",
        "hideAttendees",
        "isOnlineMeeting",
        "onlineMeetingProvider",
        "originalStartTimeZone",
        "originalEndTimeZone",
        "isCancelled",
        "responseStatus",
        "organizer",
    }
)
READ_ONLY = frozenset(
    {
        "id",
        "changeKey",
        "createdDateTime",
        "lastModifiedDateTime",
        "iCalUId",
        "type",
        "seriesMasterId",
        "originalStart",
        "webLink",
        "bodyPreview",
        "hasAttachments",
        "isOrganizer",
        "isDraft",
        "onlineMeetingUrl",
        "onlineMeeting",
        "cancelledOccurrences",
        "exceptionOccurrences",
    }
)
# Only a seeding call may set these; Graph derives them from meeting traffic.
SEED_ONLY = frozenset({"isCancelled", "responseStatus", "organizer"})


class BodyError(ValueError):
    """A request body Graph refuses; carries Graph's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class View:
    """How the caller wants events written back."""

    zone: str = "UTC"  # from Prefer: outlook.timezone (Windows or IANA name, echoed as given)
    immutable: bool = False
    select: frozenset[str] | None = None
    expand_props: tuple[str, ...] | None = None  # ids to include; () = all
    base_url: str = ""
    owner_oid: str = ""


_PREFER = re.compile(r'([A-Za-z][\w.-]*)\s*(?:=\s*(?:"([^"]*)"|([^,;\s]+)))?')
_EXPAND = re.compile(r"^singleValueExtendedProperties(?:\(\$filter=(.*)\))?$", re.IGNORECASE)
_ID_EQ = re.compile(r"\s*id\s+eq\s+'((?:[^']|'')*)'\s*", re.IGNORECASE)


def prefer(headers: Mapping[str, str]) -> dict[str, str]:
    """The name=value pairs of the Prefer header(s), names lower-cased."""
    found: dict[str, str] = {}
    for match in _PREFER.finditer(headers.get("prefer", "")):
        found[match.group(1).lower()] = (
            match.group(2) if match.group(2) is not None else (match.group(3) or "")
        )
    return found


def parse_expand(value: str | None) -> tuple[str, ...] | None:
    """`$expand=singleValueExtendedProperties($filter=id eq '...' or id eq '...')` → the ids."""
    if not value:
        return None
    match = _EXPAND.match(value.strip())
    if match is None:
        raise BodyError(
            "BadRequest",
            f"Parsing OData Select and Expand failed: Could not find a property named "
            f"'{value.split('(')[0]}' on type 'microsoft.graph.event'.",
        )
    if match.group(1) is None:
        return ()
    ids = []
    for part in re.split(r"\s+or\s+", match.group(1), flags=re.IGNORECASE):
        id_match = _ID_EQ.fullmatch(part)
        if id_match is None:
            raise BodyError("BadRequest", "Invalid $filter in $expand: only \"id eq '...'\" is supported.")
        ids.append(id_match.group(1).replace("''", "'"))
    return tuple(ids)


def _enum(data: Mapping[str, Any], name: str, allowed: tuple[str, ...], type_name: str) -> str | None:
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if value not in allowed:
        raise BodyError(
            "RequestBodyRead",
            f"Cannot convert the literal '{value}' to the expected type 'microsoft.graph.{type_name}'.",
        )
    return str(value)


def _bool(data: Mapping[str, Any], name: str) -> bool | None:
    if name not in data or data[name] is None:
        return None
    if not isinstance(data[name], bool):
        raise BodyError(
            "RequestBodyRead",
            f"Cannot convert a primitive value to the expected type 'Edm.Boolean' for property '{name}'.",
        )
    return bool(data[name])


def _str(data: Mapping[str, Any], name: str) -> str | None:
    if name not in data or data[name] is None:
        return None
    if not isinstance(data[name], str):
        raise BodyError(
            "RequestBodyRead",
            f"Cannot convert a primitive value to the expected type 'Edm.String' for property '{name}'.",
        )
    return str(data[name])


def parse_when(value: Any, name: str) -> tuple[dt.datetime, str]:
    """A dateTimeTimeZone from a body → (naive wall-clock, zone name as given)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
        raise BodyError(
            "ErrorInvalidRequest", f"The '{name}' property must be a dateTimeTimeZone with a dateTime."
        )
    zone = value.get("timeZone") or "UTC"
    if not isinstance(zone, str):
        raise BodyError("TimeZoneNotSupportedException", "A valid TimeZone value must be specified.")
    try:
        graph_zones.zone_of(zone)
    except graph_zones.ZoneError:
        raise BodyError(
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{zone}'.",
        ) from None
    try:
        local = graph_zones.parse_local(value["dateTime"])
    except graph_zones.DateFormatError:
        # Graph's reader fails on a malformed Edm.DateTime this way (code unverified in our reference).
        raise BodyError(
            "UnableToDeserializePostBody",
            f"Cannot convert the literal '{value['dateTime']}' to the expected type 'Edm.DateTime'.",
        ) from None
    if local.tzinfo is not None:
        local = graph_zones.in_zone(local, zone)
    return local, zone


def _ext_props(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise BodyError("RequestBodyRead", "singleValueExtendedProperties must be an array.")
    props = []
    for item in value:
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("id"), str)
            or not isinstance(item.get("value"), str)
        ):
            raise BodyError("RequestBodyRead", "Each singleValueExtendedProperty needs string id and value.")
        if not re.match(r"^\w+\s+(\{[0-9A-Fa-f-]{36}\}\s+(Name|Id)\s+\S.*|0x[0-9A-Fa-f]{1,4})$", item["id"]):
            raise BodyError(
                "ErrorInvalidExtendedPropertyValue", f"Invalid extended property id: {item['id']}"
            )
        props.append({"id": item["id"], "value": item["value"]})
    return props


def merge_props(old: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {p["id"].lower(): p for p in old}
    for prop in new:
        merged[prop["id"].lower()] = prop
    return list(merged.values())


@dataclass
class Changes:
    """The validated content of a create or PATCH body."""

    fields: dict[str, Any]
    start: tuple[dt.datetime, str] | None = None
    end: tuple[dt.datetime, str] | None = None
    is_all_day: bool | None = None
    recurrence: Any = None
    has_recurrence: bool = False


def parse_body(data: Mapping[str, Any], *, seeding: bool = False) -> Changes:
    for name in data:
        if name.startswith("@odata."):
            continue
        if name not in WRITABLE and name not in READ_ONLY:
            raise BodyError(
                "RequestBodyRead",
                f"The property '{name}' does not exist on type 'microsoft.graph.event'. Make sure "
                "to only use property names that are defined by the type or mark the type as open "
                "type.",
            )
        if name in SEED_ONLY and not seeding:
            raise BodyError("ErrorInvalidRequest", f"The property '{name}' is read-only for this request.")
    fields: dict[str, Any] = {}
    for name in ("subject", "transactionId"):
        text = _str(data, name)
        if text is not None:
            fields[name] = text
    for name, allowed, type_name in (
        ("showAs", SHOW_AS, "freeBusyStatus"),
        ("sensitivity", SENSITIVITY, "sensitivity"),
        ("importance", IMPORTANCE, "importance"),
    ):
        value = _enum(data, name, allowed, type_name)
        if value is not None:
            fields[name] = value
    for name in (
        "isReminderOn",
        "responseRequested",
        "allowNewTimeProposals",
        "hideAttendees",
        "isCancelled",
    ):
        flag = _bool(data, name)
        if flag is not None:
            fields[name] = flag
    if data.get("reminderMinutesBeforeStart") is not None:
        minutes = data["reminderMinutesBeforeStart"]
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            raise BodyError("RequestBodyRead", "reminderMinutesBeforeStart must be an integer.")
        fields["reminderMinutesBeforeStart"] = minutes
    if data.get("body") is not None:
        body = data["body"]
        if not isinstance(body, Mapping):
            raise BodyError("RequestBodyRead", "body must be an itemBody object.")
        content_type = _enum(body, "contentType", BODY_TYPES, "bodyType") or "text"
        fields["body"] = {"contentType": content_type, "content": _str(body, "content") or ""}
    if data.get("location") is not None:
        location = data["location"]
        if not isinstance(location, Mapping):
            raise BodyError("RequestBodyRead", "location must be a location object.")
        fields["location"] = {
            "displayName": _str(location, "displayName") or "",
            "address": dict(location.get("address") or {}),
        }
    if data.get("categories") is not None:
        categories = data["categories"]
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise BodyError("RequestBodyRead", "categories must be an array of strings.")
        fields["categories"] = list(categories)
    if data.get("attendees") is not None:
        if not isinstance(data["attendees"], list):
            raise BodyError("RequestBodyRead", "attendees must be an array.")
        fields["attendees"] = copy.deepcopy(data["attendees"])
    if data.get("singleValueExtendedProperties") is not None:
        fields["singleValueExtendedProperties"] = _ext_props(data["singleValueExtendedProperties"])
    if seeding and data.get("responseStatus") is not None:
        status = data["responseStatus"]
        response = (
            _enum(status, "response", RESPONSES, "responseType") if isinstance(status, Mapping) else None
        )
        fields["responseStatus"] = {"response": response or "none", "time": status.get("time")}
    if seeding and data.get("organizer") is not None:
        fields["organizer"] = copy.deepcopy(data["organizer"])
    changes = Changes(fields)
    if "start" in data:
        changes.start = parse_when(data["start"], "start")
    if "end" in data:
        changes.end = parse_when(data["end"], "end")
    changes.is_all_day = _bool(data, "isAllDay")
    if "recurrence" in data:
        changes.has_recurrence = True
        changes.recurrence = data["recurrence"]
    return changes


def check_times(start: dt.datetime, start_zone: str, end: dt.datetime, end_zone: str, all_day: bool) -> None:
    if all_day:
        if start.time() != dt.time(0) or end.time() != dt.time(0):
            raise BodyError(
                "ErrorPropertyValidationFailure", "The start and end of an all-day event must be midnight."
            )
        if graph_zones.zone_of(start_zone) != graph_zones.zone_of(end_zone):
            raise BodyError(
                "ErrorPropertyValidationFailure",
                "The start and end of an all-day event must be in the same time zone.",
            )
        if end <= start:
            raise BodyError("ErrorPropertyValidationFailure", "An all-day event must last at least one day.")
        return
    if graph_zones.to_utc(end, end_zone) < graph_zones.to_utc(start, start_zone):
        raise BodyError("ErrorPropertyValidationFailure", "The end of the event is before its start.")


def apply_recurrence(event: Event, raw: Any) -> None:
    """Set or clear a series pattern on a stored event (raises BodyError on a bad pattern)."""
    if raw is None:
        event.fields.pop("recurrence", None)
        return
    try:
        event.fields["recurrence"] = graph_recurrence.normalize(raw, event.start, event.start_zone)
    except graph_recurrence.RecurrenceError as exc:
        raise BodyError("ErrorInvalidRequest", f"Invalid recurrence: {exc}") from None


def _preview(body: Mapping[str, Any]) -> str:
    content = str(body.get("content", ""))
    if body.get("contentType") == "html":
        content = html.unescape(re.sub(r"<[^>]+>", " ", content))
    return " ".join(content.split())[:255]


def _when(local: dt.datetime, zone: str) -> dict[str, Any]:
    return {"dateTime": graph_zones.format_local(local), "timeZone": zone}


def render(box: Mailbox, row: Instance, view: View) -> dict[str, Any]:
    """One event as Graph v1.0 returns it."""
    source = row.source
    master = row.master
    f = source.fields
    owner = {"emailAddress": {"name": box.display_name, "address": box.email}}
    if source.is_all_day:
        # All-day items come back midnight to midnight whatever the Prefer zone (Graph "by design").
        start_local = graph_zones.in_zone(row.start_utc, source.start_zone)
        end_local = graph_zones.in_zone(row.end_utc, source.end_zone)
    else:
        start_local = graph_zones.in_zone(row.start_utc, view.zone)
        end_local = graph_zones.in_zone(row.end_utc, view.zone)
    event_id = row.id(view.immutable)
    body = f.get("body") or {"contentType": "text", "content": ""}
    location = f.get("location") or {"displayName": "", "address": {}}
    location_out = {
        "displayName": location.get("displayName", ""),
        "locationType": "default",
        "uniqueIdType": "unknown" if not location.get("displayName") else "private",
        "address": dict(location.get("address") or {}),
        "coordinates": {},
    }
    if location.get("displayName"):
        location_out["uniqueId"] = location["displayName"]
    ical = (
        source.ical_uid
        if row.kind == "singleInstance" or master is None
        else (
            master.ical_uid[:-16]
            + stamp(row.original_start or row.start_utc).replace("T", "")[:14].ljust(16, "0")
        )
    )
    response_status = f.get("responseStatus") or {"response": "organizer", "time": None}
    is_organizer = response_status.get("response") == "organizer"
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{source.change_key}"',
        "id": event_id,
        "createdDateTime": graph_zones.format_instant(source.created),
        "lastModifiedDateTime": graph_zones.format_instant(source.modified),
        "changeKey": source.change_key,
        "categories": list(f.get("categories", [])),
        "transactionId": f.get("transactionId"),
        "originalStartTimeZone": graph_zones.windows_name(source.start_zone),
        "originalEndTimeZone": graph_zones.windows_name(source.end_zone),
        "iCalUId": ical,
        "reminderMinutesBeforeStart": f.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": f.get("isReminderOn", True),
        "hasAttachments": False,
        "subject": f.get("subject", ""),
        "bodyPreview": _preview(body),
        "importance": f.get("importance", "normal"),
        "sensitivity": f.get("sensitivity", "normal"),
        "isAllDay": source.is_all_day,
        "isCancelled": f.get("isCancelled", False),
        "isOrganizer": is_organizer,
        "responseRequested": f.get("responseRequested", True),
        "seriesMasterId": None,
        "showAs": f.get("showAs", "busy"),
        "type": "seriesMaster"
        if source.kind == "seriesMaster" and row.kind == "singleInstance"
        else row.kind,
        "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": f.get("allowNewTimeProposals", True),
        "isDraft": False,
        "hideAttendees": f.get("hideAttendees", False),
        "responseStatus": {
            "response": response_status.get("response", "none"),
            "time": response_status.get("time") or "0001-01-01T00:00:00Z",
        },
        "body": dict(body),
        "start": _when(start_local, view.zone),
        "end": _when(end_local, view.zone),
        "location": location_out,
        "locations": [location_out] if location.get("displayName") else [],
        "recurrence": None,
        "attendees": copy.deepcopy(f.get("attendees", [])),
        "organizer": copy.deepcopy(f.get("organizer") or owner),
        "onlineMeeting": None,
    }
    if out["transactionId"] is None:
        del out["transactionId"]  # returned only when the client set one
    if source.kind == "seriesMaster" and row.kind == "singleInstance":
        out["recurrence"] = graph_recurrence.public(f["recurrence"])
    if master is not None and row.kind in ("occurrence", "exception"):
        out["seriesMasterId"] = master.key if view.immutable else master.rest_id
        out["originalStart"] = graph_zones.format_instant(row.original_start or row.start_utc)
    if view.expand_props is not None:
        props = f.get("singleValueExtendedProperties", [])
        wanted = {i.lower() for i in view.expand_props}
        chosen = [p for p in props if not wanted or p["id"].lower() in wanted]
        if chosen:
            out["singleValueExtendedProperties"] = [dict(p) for p in chosen]
    if view.select is not None:
        keep = {s.lower() for s in view.select} | {"id", "@odata.etag", "singlevalueextendedproperties"}
        out = {k: v for k, v in out.items() if k.lower() in keep}
    return out


def render_master(box: Mailbox, event: Event, view: View) -> dict[str, Any]:
    return render(box, Instance("singleInstance", event, event.start_utc, event.end_utc), view)


def render_occurrence(
    box: Mailbox, master: Event, original: dt.datetime, view: View
) -> dict[str, Any] | None:
    """An occurrence or exception by its series and original start, or None if it does not exist."""
    exceptions = box.exceptions_of(master)
    exception = exceptions.get(stamp(original))
    if exception is not None:
        row = Instance("exception", exception, exception.start_utc, exception.end_utc, master, original)
        return render(box, row, view)
    if not box.occurrence_exists(master, original):
        return None
    duration = master.end_utc - master.start_utc
    return render(box, Instance("occurrence", master, original, original + duration, master, original), view)
