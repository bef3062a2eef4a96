"""Which calendar events the engine may treat as a job's: the store's key, and claims it disowns.

DESIGN.md "Ownership of calendar events": Crewboard modifies or deletes an event only when it can
prove it wrote it, by the EventLink recorded at the confirmed write or by a tag that verifies under
the store's key (sync.core.ownership). Every read passes through `screen_claims` before the mirror
stores it, so an event that merely carries a booking id (a forged or copied tag, an invitation)
is stored as the personal event it is: it blocks its time, the planner never sees it as a copy of
the job to adopt, move the booking by or delete, and the dispatcher hears of it once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime

from app.domain.ids import BookingId
from app.domain.model import Audience, AuditEntry, Calendar, RemoteEvent, Response, Technician
from app.services.accounts import DISPATCHER
from app.services.ports import UnitOfWork
from sync.core.ownership import KEY_BYTES, new_key, tag_verifies
from sync.engine.alerts import Alerts, notify
from sync.providers.protocol import ChangeBatch
from sync.store_settings import store_settings

log = logging.getLogger(__name__)

# The settings row holding the key (hex). It lives in the store, never in a token or a log line.
KEY_SETTING = "sync.event_ownership_key"
# One row per disowned claim already told, so the dispatcher hears of each event once.
_TOLD_PREFIX = "sync.disowned."


def store_key(uow: UnitOfWork) -> bytes:
    """The store's event ownership key, made (once) when missing; commits with `uow`.

    Made on a store that already synced (an upgrade), it also forgets the booking ids the mirror
    holds for events no link names, since nothing proved those ours, and has every calendar read
    in full once, so each event's claim is checked against its tag.
    """
    settings = store_settings(uow, "calendar sync")
    stored = settings.get(KEY_SETTING)
    if stored is not None:
        key = bytes.fromhex(stored)
        if len(key) >= KEY_BYTES:
            return key
    key = new_key()
    settings.put(KEY_SETTING, key.hex())
    _forget_unproven_claims(uow)
    return key


def _forget_unproven_claims(uow: UnitOfWork) -> None:
    for calendar in uow.calendars.list():
        linked = {link.remote_id for link in uow.links.for_calendar(calendar.id)}
        unproven = [
            replace(event, booking_id=None)
            for event in uow.remote_events.for_calendar(calendar.id)
            if event.booking_id is not None and event.remote_id not in linked
        ]
        if unproven:
            uow.remote_events.upsert_many(calendar.id, unproven)
        if calendar.sync_cursor is not None:
            uow.calendars.update(replace(calendar, sync_cursor=None))


def proven(event: RemoteEvent, calendar: Calendar, key: bytes) -> bool:
    """Whether the event's tag proves Crewboard wrote it for the booking it names, in this calendar.

    An invitation is never ours (our events have no attendees, so the tech organizes them).
    """
    if event.booking_id is None or event.response is not Response.ORGANIZER:
        return False
    return tag_verifies(key, event.booking_id, calendar.remote_id, event.tag_subject, event.booking_tag)


def screen_claims(
    uow: UnitOfWork,
    calendar: Calendar,
    tech: Technician,
    links: dict[str, BookingId],
    batch: ChangeBatch,
    now: datetime,
    alerts: Alerts,
) -> ChangeBatch:
    """The batch with every booking id that neither a link nor a verified tag backs taken away.

    A linked event keeps the booking its link names. Tags are dropped from every event: they were
    only read to be checked here.
    """
    if not batch.events:
        return batch
    key = store_key(uow)
    screened: list[RemoteEvent] = []
    for event in batch.events:
        claimed = event.booking_id
        linked = links.get(event.remote_id)
        if linked is not None:
            booking_id: BookingId | None = linked
        elif claimed is not None and proven(event, calendar, key):
            booking_id = claimed
        else:
            booking_id = None
            if claimed is not None:
                _tell_once(uow, calendar, tech, event, claimed, now, alerts)
        if (booking_id, None, None) != (event.booking_id, event.booking_tag, event.tag_subject):
            event = replace(event, booking_id=booking_id, booking_tag=None, tag_subject=None)
        screened.append(event)
    return replace(batch, events=tuple(screened))


def _tell_once(
    uow: UnitOfWork,
    calendar: Calendar,
    tech: Technician,
    event: RemoteEvent,
    claimed: BookingId,
    now: datetime,
    alerts: Alerts,
) -> None:
    """Audit, log and tell the dispatcher of a claim Crewboard disowns, once per event."""
    settings = store_settings(uow, "calendar sync")
    marker = hashlib.sha256(f"{calendar.id}\x00{event.remote_id}\x00{claimed}".encode()).hexdigest()[:40]
    if settings.get(_TOLD_PREFIX + marker) is not None:
        return
    settings.put(_TOLD_PREFIX + marker, now.isoformat())
    where = f"{tech.name}'s calendar" if calendar.primary else f"{tech.name}'s calendar {calendar.name}"
    detail = (
        f"An event in {where} claims to be job {claimed[:4]}… but Crewboard did not write it; "
        "it is left alone and blocks that time."
    )
    log.warning("%s (event %r)", detail, event.remote_id[:80])
    uow.audit.record(
        AuditEntry(
            now,
            "sync.claim_disowned",
            detail,
            claimed if uow.bookings.get(claimed) is not None else None,
            account_id=calendar.account_id,
            extra={"calendar": calendar.id, "event": event.remote_id[:200]},
        )
    )
    if uow.bookings.get(claimed) is not None:
        subject = f"An event in {where} claims to be a Crewboard job"
        notify(uow, alerts, Audience.DISPATCHER, DISPATCHER, subject, detail, now, tech)
