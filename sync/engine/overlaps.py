"""Overlap conflicts: a personal event landing on a booking opens one; moving or deleting it closes it.

A booking is never moved for a personal event: the conflict is for a person to decide, and the
tech and the dispatcher hear of it once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.domain.model import BusyBlock, Calendar, ConflictKind, ConflictStatus, Technician
from app.domain.time import Interval, zone
from app.services.ports import UnitOfWork
from app.services.text import first_upper
from sync.engine.alerts import SYNC_ACTOR, Alerts, open_conflict, tell_tech_and_dispatcher


def open_overlaps(
    uow: UnitOfWork,
    alerts: Alerts,
    tech: Technician,
    calendar: Calendar,
    old_blocks: dict[str, list[BusyBlock]],
    new_blocks: dict[str, list[BusyBlock]],
    horizon: Interval,
    now: datetime,
) -> None:
    """A personal event newly landing on a live booking opens one conflict and tells two people."""
    # Compared calendar-wide: a series folding its stray instances in is not news.
    before = {b.interval for blocks in old_blocks.values() for b in blocks}
    fresh = [
        b
        for blocks in new_blocks.values()
        for b in blocks
        if b.interval not in before and b.interval.overlaps(horizon)
    ]
    if not fresh:
        return
    bookings = [b for b in uow.bookings.between(horizon, [tech.id]) if b.interval is not None]
    tz = zone(tech.timezone)
    for block in fresh:
        for booking in bookings:
            span = booking.interval
            assert span is not None
            if not span.overlaps(block.interval):
                continue
            what = "a private event" if block.title is None else f"'{block.title}'"
            # The primary calendar is named after the tech (or their address): say it once.
            where = f"{tech.name}'s calendar" + ("" if calendar.primary else f" '{calendar.name}'")
            local = span.start.astimezone(tz)
            conflict = open_conflict(
                uow,
                alerts,
                booking_id=booking.id,
                tech=tech,
                kind=ConflictKind.OVERLAP,
                now=now,
                calendar_id=calendar.id,
                remote_id=block.remote_id,
                other_start=block.interval.start,
                other_end=block.interval.end,
                other_title=block.title,
                detail=f"{what} in {where} overlaps the {booking.service} job",
            )
            if conflict is None:
                continue
            subject = f"{tech.name}: calendar event over the {booking.service} job"
            body = (
                f"{first_upper(what)} in {where} overlaps the "
                f"{booking.service} job on {local:%a %d %b %H:%M} ({tech.timezone}). The job stays "
                "where it is; keep it, reschedule it or give it to another technician."
            )
            tell_tech_and_dispatcher(uow, alerts, tech, subject, body, now)


def close_overlaps(
    uow: UnitOfWork,
    alerts: Alerts,
    tech: Technician,
    calendar: Calendar,
    current: dict[str, list[Interval]],
    horizon: Interval,
    now: datetime,
) -> None:
    """Overlaps whose personal event was deleted or moved away close themselves."""
    for conflict in uow.conflicts.open():
        if conflict.kind is not ConflictKind.OVERLAP or conflict.calendar_id != calendar.id:
            continue
        booking = uow.bookings.get(conflict.booking_id)
        span = booking.interval if booking is not None else None
        if span is not None and not horizon.overlaps(span):
            continue  # outside what this read sees: leave it to a person
        still = (
            booking is not None
            and booking.is_live
            and booking.tech_id == tech.id
            and span is not None
            and any(span.overlaps(i) for i in current.get(conflict.remote_id or "", []))
        )
        if still:
            continue
        closed = replace(
            conflict,
            status=ConflictStatus.RESOLVED,
            resolved_by=SYNC_ACTOR,
            resolved_at=now,
            detail=(conflict.detail + "; " if conflict.detail else "")
            + "the calendar event was deleted or moved away, so the job is free again",
        )
        uow.conflicts.update(closed)
        alerts.closed.append(closed)
