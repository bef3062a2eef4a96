"""End to end: the engine with the CalDAV adapter against a real Radicale, the tech's phone on it.

The phone is the `caldav` client library (what iOS and DAVx5 speak); bookings come from the
board's own services; health comes from the real HealthMonitor.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, timedelta
from urllib.parse import unquote, urlsplit

import icalendar
import pytest
from caldav.calendarobjectresource import Event as PhoneEvent

from app.domain.ids import BookingId
from app.domain.model import AccountStatus, ConflictKind, HealthLevel
from app.domain.time import Interval
from app.services.bookings import NewBooking
from sync.providers.caldav_ical import BOOKING_ID_PROPERTY, BOOKING_TAG_PROPERTY
from sync.providers.factory import open_provider
from sync.providers.secrets import TokenStore
from tests.caldav.conftest import CHICAGO, Office, next_weekday, titles
from tests.caldav.harness import CaldavBackend, connect_account, vevent

pytestmark = [pytest.mark.keyring, pytest.mark.slow]


def _booking_objects(office: Office) -> list[icalendar.Event]:
    found: list[icalendar.Event] = []
    for event in office.backend.phone_events():
        component = event.icalendar_component
        if component.get(BOOKING_ID_PROPERTY) is not None:
            found.append(component)
    return found


def _path(event: PhoneEvent) -> str:
    return unquote(urlsplit(str(event.url)).path)


def _book(office: Office, start: dt.datetime, customer: str = "Ada Park") -> str:
    booking = office.services.bookings.create(
        NewBooking(
            customer=customer,
            service="AC repair",
            duration=timedelta(minutes=90),
            start=start,
            tech="Maria Lopez",
            address="12 Elm St",
            phone="555-0100",
            notes="Gate code 4411",
        ),
        force=True,
    )
    return booking.id


async def test_what_the_phone_adds_blocks_the_right_time(office: Office) -> None:
    clock = office.clock
    tuesday = next_weekday(1, 10, clock)
    phone = office.backend
    phone.phone_add([vevent({"summary": "Dentist", "start": tuesday, "end": tuesday + timedelta(hours=1)})])
    thursday = tuesday + timedelta(days=2)
    phone.phone_add(
        [
            vevent(
                {
                    "summary": "Therapy",
                    "start": thursday,
                    "end": thursday + timedelta(hours=1),
                    "private": True,
                }
            )
        ]
    )
    free = vevent(
        {"summary": "Reminder", "start": thursday + timedelta(hours=3), "end": thursday + timedelta(hours=4)}
    )
    free.add("TRANSP", "TRANSPARENT")
    phone.phone_add([free])
    first = next_weekday(0, 9, clock) - timedelta(weeks=3)  # a weekly series begun weeks ago
    series = vevent(
        {
            "summary": "Team meeting",
            "start": first,
            "end": first + timedelta(hours=1),
            "rrule": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
        }
    )
    skipped = first + timedelta(weeks=4)
    series.add("EXDATE", skipped)
    phone.phone_add([series])

    report = await office.engine.run_once()
    assert report.ok, report.errors
    blocks = office.busy()
    assert "Dentist" in titles(blocks) and "Team meeting" in titles(blocks)
    assert "Reminder" not in titles(blocks)
    [dentist] = [b for b in blocks if b.title == "Dentist"]
    assert dentist.interval.start == tuesday.astimezone(UTC)
    [private] = [b for b in blocks if b.interval.start == thursday.astimezone(UTC)]
    assert private.title is None  # busy, without its details
    meetings = sorted(b.interval.start for b in blocks if b.title == "Team meeting")
    assert {m.astimezone(CHICAGO).hour for m in meetings} == {9}  # 9:00 stays 9:00 across DST
    assert skipped.astimezone(UTC) not in meetings
    assert skipped.astimezone(UTC) + timedelta(weeks=1) in meetings

    # The dentist moves an hour later on the phone: the board follows on the next poll.
    dentist_href = next(
        _path(e) for e in phone.phone_events() if str(e.icalendar_component["SUMMARY"]) == "Dentist"
    )
    moved = phone.phone_object(dentist_href)
    moved.load()
    component = moved.icalendar_component
    component["DTSTART"] = icalendar.vDDDTypes((tuesday + timedelta(hours=1)).astimezone(CHICAGO))
    component["DTEND"] = icalendar.vDDDTypes((tuesday + timedelta(hours=2)).astimezone(CHICAGO))
    moved.save()
    assert (await office.engine.run_once()).ok
    [dentist] = [b for b in office.busy() if b.title == "Dentist"]
    assert dentist.interval.start == (tuesday + timedelta(hours=1)).astimezone(UTC)


async def test_a_booking_becomes_a_vevent_the_tech_moves_and_deletes(office: Office) -> None:
    start = next_weekday(2, 9, office.clock)
    booking_id = _book(office, start)
    assert (await office.engine.run_once()).ok

    [event] = _booking_objects(office)
    assert str(event["SUMMARY"]) == "AC repair — Ada Park"
    assert str(event["LOCATION"]) == "12 Elm St"
    assert str(event[BOOKING_ID_PROPERTY]) == booking_id
    assert event.get(BOOKING_TAG_PROPERTY) is not None
    assert event.get("ATTENDEE") is None  # no invitation goes out
    for text in ("Gate code 4411", "555-0100", "1 h 30 min"):
        assert text in str(event["DESCRIPTION"])
    assert event.decoded("DTSTART") == start

    later = start + timedelta(hours=3)
    [stored] = [e for e in office.backend.phone_events() if e.icalendar_component.get(BOOKING_ID_PROPERTY)]
    stored.load()
    stored.icalendar_component["DTSTART"] = icalendar.vDDDTypes(later)
    stored.icalendar_component["DTEND"] = icalendar.vDDDTypes(later + timedelta(minutes=90))
    stored.save()
    assert (await office.engine.run_once()).ok
    assert office.services.bookings.get(booking_id).start == later.astimezone(UTC)
    assert len(_booking_objects(office)) == 1

    stored.delete()
    assert (await office.engine.run_once()).ok
    with office.database.unit_of_work() as uow:
        [flag] = uow.conflicts.open()
    assert (flag.kind, flag.booking_id) == (ConflictKind.EVENT_DELETED, booking_id)
    assert office.services.bookings.get(booking_id).is_live  # flagged, never silently cancelled


async def test_a_personal_event_on_a_job_opens_a_conflict(office: Office) -> None:
    start = next_weekday(3, 13, office.clock)
    booking_id = _book(office, start, customer="Grace Hopper")
    assert (await office.engine.run_once()).ok
    office.backend.phone_add(
        [
            vevent(
                {
                    "summary": "School play",
                    "start": start + timedelta(minutes=30),
                    "end": start + timedelta(hours=2),
                }
            )
        ]
    )
    assert (await office.engine.run_once()).ok
    with office.database.unit_of_work() as uow:
        [conflict] = uow.conflicts.open()
    assert (conflict.kind, conflict.booking_id) == (ConflictKind.OVERLAP, booking_id)
    assert office.services.bookings.get(booking_id).start == start.astimezone(UTC)  # the job stays put


async def test_an_outage_is_reported_and_queued_jobs_go_out_after_it(office: Office) -> None:
    assert (await office.engine.run_once()).ok
    office.backend.radicale.stop()
    start = next_weekday(4, 8, office.clock)
    ids = [_book(office, start, customer="Outage Bakery")]
    office.clock.advance(timedelta(seconds=30))
    assert not (await office.engine.run_once()).ok
    with office.database.unit_of_work() as uow:
        health = uow.health.get(office.account.id)
    assert health is not None and health.failing_since is not None

    office.clock.advance(timedelta(minutes=6))
    ids.append(_book(office, start + timedelta(hours=2), customer="Gap Dental"))
    assert not (await office.engine.run_once()).ok
    assert (office.account.id, HealthLevel.WARNING) in office.monitor.evaluate()

    office.backend.radicale.start()  # the same port: the account's address still holds
    office.clock.advance(timedelta(minutes=6))
    report = await office.engine.run_once()
    assert report.ok, report.errors
    with office.database.unit_of_work() as uow:
        assert uow.outbox.pending() == []
        health = uow.health.get(office.account.id)
        account = uow.accounts.get(office.account.id)
    assert health is not None and health.failing_since is None
    assert account is not None and account.status is AccountStatus.CONNECTED
    assert sorted(str(e[BOOKING_ID_PROPERTY]) for e in _booking_objects(office)) == sorted(ids)


@pytest.mark.parametrize("mode", ["no_sync_collection", "refuse_sync_collection"])
async def test_a_server_without_sync_collection_is_read_by_etags(office: Office, mode: str) -> None:
    """Some servers offer no RFC 6578 report, or advertise it and refuse it; the adapter then
    compares ETags."""
    setattr(office.backend.proxy.state, mode, True)
    tuesday = next_weekday(1, 15, office.clock)
    href = office.backend.phone_add(
        [vevent({"summary": "Vet", "start": tuesday, "end": tuesday + timedelta(hours=1)})]
    )
    assert (await office.engine.run_once()).ok
    assert "Vet" in titles(office.busy())
    with office.database.unit_of_work() as uow:
        [calendar] = [c for c in uow.calendars.for_account(office.account.id) if c.primary]
    assert calendar.sync_cursor is not None and "etag:" in calendar.sync_cursor

    office.backend.phone_object(href).delete()
    office.clock.advance(timedelta(minutes=1))
    assert (await office.engine.run_once()).ok
    assert "Vet" not in titles(office.busy())


async def test_a_revoked_password_asks_for_a_reconnect(office: Office) -> None:
    assert (await office.engine.run_once()).ok
    office.backend.revoke()
    await office.engine.run_once()
    with office.database.unit_of_work() as uow:
        account = uow.accounts.get(office.account.id)
    assert account is not None and account.status is AccountStatus.NEEDS_RECONNECT


async def test_a_put_answered_without_an_etag_still_records_one(office: Office) -> None:
    """iCloud answers PUT without the new ETag; the adapter reads it, so the next If-Match holds."""
    office.backend.proxy.state.no_etag_on_put = True
    start = next_weekday(2, 14, office.clock)
    booking_id = _book(office, start, customer="Etagless Inc")
    assert (await office.engine.run_once()).ok
    with office.database.unit_of_work() as uow:
        link = uow.links.for_booking(BookingId(booking_id))
    assert link is not None and link.etag is not None and link.etag.startswith('"')

    office.services.bookings.move(booking_id, start + timedelta(hours=1), force=True)
    assert (await office.engine.run_once()).ok
    [event] = _booking_objects(office)
    assert event.decoded("DTSTART") == start + timedelta(hours=1)


async def test_calendars_on_another_host_than_the_sign_in(
    backend: CaldavBackend, token_store: TokenStore
) -> None:
    """iCloud answers discovery on caldav.icloud.com but keeps the calendars on a partition host:
    after discovery every calendar request goes to the home's host, also after a restart."""
    backend.proxy.state.home_elsewhere = backend.radicale.url
    account, calendar = connect_account(backend, token_store)
    try:
        before = len(backend.proxy.state.exchanges)
        provider = open_provider(account, token_store)
        try:
            title = "Partition check"
            start = dt.datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
            backend.phone_add([vevent({"summary": title, "start": start, "end": start + timedelta(hours=1)})])
            batch = await provider.read_changes(
                calendar, None, Interval(start - timedelta(days=1), start + timedelta(days=2))
            )
            assert title in {e.title for e in batch.events}
        finally:
            await provider.aclose()
        assert backend.proxy.state.exchanges[before:] == []  # nothing went to the sign-in host
    finally:
        token_store.delete(account.token_ref)


async def test_a_calendar_wiped_on_the_phone_trips_the_mass_delete_guard(office: Office) -> None:
    """Six jobs' events vanish at once (a calendar reset on the phone): nothing is flagged or
    freed, the dispatcher hears of it once, and the jobs keep their events' links."""
    start = next_weekday(1, 8, office.clock)
    ids = [_book(office, start + timedelta(hours=n), customer=f"Wiped {n}") for n in range(6)]
    assert (await office.engine.run_once()).ok
    assert len(_booking_objects(office)) == 6
    for event in office.backend.phone_events():
        event.delete()

    await office.engine.run_once()
    with office.database.unit_of_work() as uow:
        assert uow.conflicts.open() == []
        assert all(uow.links.for_booking(BookingId(b)) is not None for b in ids)
        health = uow.health.get(office.account.id)
        notices = [n.body for n in uow.notifications.list()]
    assert health is not None and "would lose 6 of its 6 job events" in (health.last_error or "")
    assert sum("would lose 6 of its 6 job events" in body for body in notices) == 1


async def test_an_etag_answered_to_a_put_that_the_object_lacks_is_not_kept(office: Office) -> None:
    """Servers that rewrite what they store may answer a PUT with an ETag the object lacks. Kept,
    it made the next read look like the tech's edit, and a move of the job a false "edited on both
    sides"; the adapter keeps the ETag the object has, so the move simply goes out."""
    office.backend.proxy.state.etag_changes_after_put = True
    start = next_weekday(3, 9, office.clock)
    booking_id = _book(office, start, customer="Rewriting Server Ltd")
    assert (await office.engine.run_once()).ok
    office.services.bookings.move(booking_id, start + timedelta(hours=2), force=True)
    for _ in range(3):
        office.clock.advance(timedelta(minutes=1))
        await office.engine.run_once()
    [event] = _booking_objects(office)
    assert event.decoded("DTSTART") == start + timedelta(hours=2)
    refused = [e for e in office.backend.proxy.state.exchanges if e.method == "PUT" and e.status == 412]
    assert refused == []
    with office.database.unit_of_work() as uow:
        assert uow.conflicts.open() == []
        assert uow.outbox.pending() == []
