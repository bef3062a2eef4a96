"""State of the emulated Microsoft cloud: tenant, mailboxes, calendars, events, tokens.

One `MicrosoftState` is shared by the identity site and the Graph site and guarded by one lock.
Events are stored as Exchange keeps them: single instances, series masters (with a recurrence and
a list of cancelled occurrences) and exceptions (edited occurrences, keyed by their series and
original start). Occurrences are never stored; `instances` expands them on demand.

Every event carries two ids, as Exchange items do: a REST id and an immutable id. Responses use
the immutable one when the request says `Prefer: IdType="ImmutableId"`; both are accepted on input.
Tokens are kept as SHA-256 digests only, so a saved state file holds no usable credential.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.sandbox import graph_recurrence, graph_zones

SEP = "="  # joins a series id and an occurrence stamp; not in the urlsafe base64 alphabet ids use


def new_event_ids() -> tuple[str, str]:
    """(immutable id, REST id), both shaped like Exchange item ids."""
    return "AAkAL" + secrets.token_urlsafe(33), "AAMkAG" + secrets.token_urlsafe(33)


def new_change_key() -> str:
    return "DwAAABYAAA" + secrets.token_urlsafe(12)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def stamp(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def unstamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


@dataclass
class Calendar:
    id: str
    name: str
    is_default: bool
    color: str = "auto"
    change_key: str = field(default_factory=new_change_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_default": self.is_default,
            "color": self.color,
            "change_key": self.change_key,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calendar:
        return cls(data["id"], data["name"], data["is_default"], data["color"], data["change_key"])


@dataclass
class Event:
    """A stored item: singleInstance, seriesMaster or exception."""

    key: str  # the immutable id
    rest_id: str
    calendar_id: str
    kind: str
    start: dt.datetime  # naive wall-clock time in start_zone
    start_zone: str
    end: dt.datetime
    end_zone: str
    is_all_day: bool
    fields: dict[str, Any]
    created: dt.datetime
    modified: dt.datetime
    seq: int
    change_key: str = field(default_factory=new_change_key)
    ical_uid: str = field(
        default_factory=lambda: "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper()
    )
    series_key: str | None = None  # exceptions: the master's key
    original_start: dt.datetime | None = None  # exceptions: UTC start the occurrence first had
    cancelled: list[str] = field(default_factory=list)  # masters: stamps of deleted occurrences

    @property
    def start_utc(self) -> dt.datetime:
        return graph_zones.to_utc(self.start, self.start_zone)

    @property
    def end_utc(self) -> dt.datetime:
        return graph_zones.to_utc(self.end, self.end_zone)

    def touch(self, now: dt.datetime, seq: int) -> None:
        self.modified = now
        self.seq = seq
        self.change_key = new_change_key()

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "rest_id": self.rest_id,
            "calendar_id": self.calendar_id,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "start_zone": self.start_zone,
            "end": self.end.isoformat(),
            "end_zone": self.end_zone,
            "is_all_day": self.is_all_day,
            "fields": copy.deepcopy(self.fields),
            "created": self.created.isoformat(),
            "modified": self.modified.isoformat(),
            "seq": self.seq,
            "change_key": self.change_key,
            "ical_uid": self.ical_uid,
            "series_key": self.series_key,
            "original_start": self.original_start.isoformat() if self.original_start else None,
            "cancelled": list(self.cancelled),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        original = data.get("original_start")
        return cls(
            key=data["key"],
            rest_id=data["rest_id"],
            calendar_id=data["calendar_id"],
            kind=data["kind"],
            start=dt.datetime.fromisoformat(data["start"]),
            start_zone=data["start_zone"],
            end=dt.datetime.fromisoformat(data["end"]),
            end_zone=data["end_zone"],
            is_all_day=data["is_all_day"],
            fields=copy.deepcopy(dict(data["fields"])),
            created=dt.datetime.fromisoformat(data["created"]),
            modified=dt.datetime.fromisoformat(data["modified"]),
            seq=data["seq"],
            change_key=data["change_key"],
            ical_uid=data["ical_uid"],
            series_key=data.get("series_key"),
            original_start=dt.datetime.fromisoformat(original) if original else None,
            cancelled=list(data.get("cancelled", [])),
        )


@dataclass(frozen=True, slots=True)
class Instance:
    """One row of a calendar view: a single instance, an occurrence or an exception."""

    kind: str  # singleInstance | occurrence | exception
    source: Event  # supplies the fields: the event, the master (occurrence) or the exception
    start_utc: dt.datetime
    end_utc: dt.datetime
    master: Event | None = None
    original_start: dt.datetime | None = None

    def id(self, immutable: bool) -> str:
        if self.kind == "singleInstance":
            return self.source.key if immutable else self.source.rest_id
        assert self.master is not None and self.original_start is not None
        base = self.master.key if immutable else self.master.rest_id
        return f"{base}{SEP}{stamp(self.original_start)}"

    @property
    def marker(self) -> str:
        """Changes whenever what a reader would see of this row changes (delta compares it)."""
        return f"{self.source.change_key}|{stamp(self.start_utc)}|{stamp(self.end_utc)}"


@dataclass
class Mailbox:
    email: str
    display_name: str
    timezone: str  # IANA
    oid: str
    calendars: dict[str, Calendar] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    rest_index: dict[str, str] = field(default_factory=dict)  # REST id -> key
    transactions: dict[str, str] = field(default_factory=dict)  # "calendar|transactionId" -> key
    # Deleted items: (key, rest id, calendar id, seq), so delta can report deletions outside its window.
    tombstones: list[tuple[str, str, str, int]] = field(default_factory=list)
    sync_generation: int = 0
    # The Outlook master category list: id -> {"displayName", "color"} (sync.sandbox.graph_categories).
    categories: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def default_calendar(self) -> Calendar:
        return next(c for c in self.calendars.values() if c.is_default)

    def resolve(self, event_id: str) -> tuple[Event, dt.datetime | None] | None:
        """Find the stored item behind an id: (event, None) or (master, original start) for an occurrence."""
        base, sep, when = event_id.partition(SEP)
        key = base if base in self.events else self.rest_index.get(base)
        if key is None:
            return None
        event = self.events[key]
        if not sep:
            return (event, None) if event.kind != "exception" else None
        if event.kind != "seriesMaster":
            return None
        try:
            original = unstamp(when)
        except ValueError:
            return None
        return event, original

    def add(self, event: Event) -> None:
        self.events[event.key] = event
        self.rest_index[event.rest_id] = event.key

    def remove(self, event: Event, seq: int) -> None:
        self.events.pop(event.key, None)
        self.rest_index.pop(event.rest_id, None)
        self.tombstones.append((event.key, event.rest_id, event.calendar_id, seq))
        for name, key in list(self.transactions.items()):
            if key == event.key:
                del self.transactions[name]

    def exceptions_of(self, master: Event) -> dict[str, Event]:
        return {
            stamp(e.original_start): e
            for e in self.events.values()
            if e.kind == "exception" and e.series_key == master.key and e.original_start is not None
        }

    def instances(self, calendar_id: str, start: dt.datetime, end: dt.datetime) -> list[Instance]:
        """Rows of calendarView for [start, end): single instances, occurrences, exceptions."""
        rows: list[Instance] = []
        for event in list(self.events.values()):
            if event.calendar_id != calendar_id or event.kind == "exception":
                continue
            if event.kind == "singleInstance":
                row = Instance("singleInstance", event, event.start_utc, event.end_utc)
                if row.start_utc < end and (row.end_utc > start or row.start_utc >= start):
                    rows.append(row)
                continue
            rows.extend(self.series_instances(event, start, end))
        rows.sort(key=lambda r: (r.start_utc, r.id(True)))
        return rows

    def series_instances(self, master: Event, start: dt.datetime, end: dt.datetime) -> Iterator[Instance]:
        exceptions = self.exceptions_of(master)
        duration = master.end_utc - master.start_utc
        recurrence = master.fields["recurrence"]
        zone = recurrence["range"]["recurrenceTimeZone"] or master.start_zone
        local_start = graph_zones.in_zone(master.start_utc, zone)
        # Widen the search so occurrences that started before the window but overlap it are found,
        # and exceptions moved into the window from an occurrence outside it are too.
        slack = duration + dt.timedelta(days=2)
        after = graph_zones.in_zone(start - slack, zone)
        before = graph_zones.in_zone(end + slack, zone)
        for local in graph_recurrence.occurrences(recurrence, local_start, after, before):
            original = graph_zones.to_utc(local, zone)
            key = stamp(original)
            if key in master.cancelled:
                continue
            exception = exceptions.get(key)
            if exception is not None:
                row = Instance(
                    "exception", exception, exception.start_utc, exception.end_utc, master, original
                )
            else:
                row = Instance("occurrence", master, original, original + duration, master, original)
            if row.start_utc < end and (row.end_utc > start or row.start_utc >= start):
                yield row

    def occurrence_exists(self, master: Event, original: dt.datetime) -> bool:
        if stamp(original) in master.cancelled:
            return False
        recurrence = master.fields["recurrence"]
        zone = recurrence["range"]["recurrenceTimeZone"] or master.start_zone
        local_start = graph_zones.in_zone(master.start_utc, zone)
        local = graph_zones.in_zone(original, zone)
        for candidate in graph_recurrence.occurrences(
            recurrence, local_start, local - dt.timedelta(minutes=1), local + dt.timedelta(minutes=1)
        ):
            if graph_zones.to_utc(candidate, zone) == original:
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "display_name": self.display_name,
            "timezone": self.timezone,
            "oid": self.oid,
            "calendars": [c.to_json() for c in self.calendars.values()],
            "events": [e.to_json() for e in self.events.values()],
            "transactions": dict(self.transactions),
            "tombstones": [list(t) for t in self.tombstones],
            "sync_generation": self.sync_generation,
            "categories": {i: dict(c) for i, c in self.categories.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Mailbox:
        box = cls(data["email"], data["display_name"], data["timezone"], data["oid"])
        for raw in data["calendars"]:
            calendar = Calendar.from_json(raw)
            box.calendars[calendar.id] = calendar
        for raw in data["events"]:
            box.add(Event.from_json(raw))
        box.transactions = dict(data.get("transactions", {}))
        box.tombstones = [(t[0], t[1], t[2], int(t[3])) for t in data.get("tombstones", [])]
        box.sync_generation = int(data.get("sync_generation", 0))
        box.categories = {str(i): dict(c) for i, c in data.get("categories", {}).items()}
        return box


@dataclass
class Grant:
    """What one access or refresh token stands for."""

    email: str
    client_id: str
    scopes: list[str]
    expires: dt.datetime | None  # refresh tokens: None (they live until revoked)

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "client_id": self.client_id,
            "scopes": list(self.scopes),
            "expires": self.expires.isoformat() if self.expires else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Grant:
        expires = data.get("expires")
        return cls(
            data["email"],
            data["client_id"],
            list(data["scopes"]),
            dt.datetime.fromisoformat(expires) if expires else None,
        )


ACCESS_TOKEN_LIFETIME = dt.timedelta(seconds=3599)


class MicrosoftState:
    """Everything both Microsoft sites share. Hold `lock` while reading or changing it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tenant_id = str(uuid.uuid4())
        self.mailboxes: dict[str, Mailbox] = {}  # by lower-cased email
        self.access_tokens: dict[str, Grant] = {}  # by digest
        self.refresh_tokens: dict[str, Grant] = {}  # by digest
        self.revoked_refresh: set[str] = set()  # digests of refresh tokens revoked by `revoke`
        self.seq = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def mailbox(self, email: str) -> Mailbox:
        try:
            return self.mailboxes[email.lower()]
        except KeyError:
            raise KeyError(f"no Microsoft account {email}") from None

    def mailbox_by_oid(self, oid: str) -> Mailbox | None:
        return next((m for m in self.mailboxes.values() if m.oid == oid), None)

    def issue_access(self, email: str, client_id: str, scopes: list[str], now: dt.datetime) -> str:
        token = "EwB" + secrets.token_urlsafe(48)
        self.access_tokens[digest(token)] = Grant(
            email.lower(), client_id, scopes, now + ACCESS_TOKEN_LIFETIME
        )
        return token

    def issue_refresh(self, email: str, client_id: str, scopes: list[str]) -> str:
        token = "M.C5" + secrets.token_urlsafe(64)
        self.refresh_tokens[digest(token)] = Grant(email.lower(), client_id, scopes, None)
        return token

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "mailboxes": [m.to_json() for m in self.mailboxes.values()],
            "access_tokens": {k: g.to_json() for k, g in self.access_tokens.items()},
            "refresh_tokens": {k: g.to_json() for k, g in self.refresh_tokens.items()},
            "revoked_refresh": sorted(self.revoked_refresh),
        }

    def load_json(self, data: Mapping[str, Any]) -> None:
        self.tenant_id = data["tenant_id"]
        self.seq = int(data["seq"])
        self.mailboxes = {}
        for raw in data["mailboxes"]:
            box = Mailbox.from_json(raw)
            self.mailboxes[box.email.lower()] = box
        self.access_tokens = {k: Grant.from_json(g) for k, g in data.get("access_tokens", {}).items()}
        self.refresh_tokens = {k: Grant.from_json(g) for k, g in data.get("refresh_tokens", {}).items()}
        self.revoked_refresh = set(data.get("revoked_refresh", []))
