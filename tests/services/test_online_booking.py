"""Booking a service for any qualified tech, on both stores: slots, assignment, links, races."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.bus import NotificationAdded
from app.domain.model import Audience, BookingStatus
from app.domain.service_types import BookingSource, ServiceType
from app.domain.time import Interval
from app.errors import InvalidInput, Refused
from app.services.bookings import NewBooking
from app.services.container import Services
from app.services.online_booking import (
    BookingPolicy,
    CustomerDetails,
    LinkExpired,
    OnlineBookingService,
    SlotTaken,
    online_among,
)
from app.services.service_types import ServiceTypeService

CHI = ZoneInfo("America/Chicago")
MON_9 = datetime(2026, 11, 2, 9, 0, tzinfo=CHI)  # the fixed clock is Mon 06:00 in Chicago
KIM = CustomerDetails("Kim Park", "+1 312 555 0100", "kim@example.com", "5 Oak St, Evanston", "Gate code 42")


def _page(services: Services, **policy: object) -> OnlineBookingService:
    return OnlineBookingService(
        services.uow,
        services.clock,
        services.bus,
        BookingPolicy("America/Chicago", **policy),  # type: ignore[arg-type]
    )


def _shop(services: Services, techs: tuple[str, ...] = ("Maria Lopez", "Sam Okafor")) -> ServiceType:
    services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    services.techs.add("Sam Okafor", "sam@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    services.techs.add("Lee Plumber", "lee@example.com", "America/Chicago", "mon-sun 00:00-23:59")
    return ServiceTypeService(services.uow).add(
        "AC repair", timedelta(minutes=60), timedelta(minutes=30), techs
    )


def test_slots_start_at_business_hours_on_the_half_hour_with_the_buffer_free(services: Services) -> None:
    service = _shop(services)
    slots = _page(services).slots(service.id, days=1)
    local = [s.start.astimezone(CHI).strftime("%H:%M") for s in slots]
    assert local[0] == "08:00" and local[-1] == "15:30"  # 15:30-16:30 and its buffer end at 17:00
    assert all(s.end - s.start == timedelta(hours=1) for s in slots)
    assert all(s.techs == {t.id for t in services.techs.list() if t.name != "Lee Plumber"} for s in slots)


def test_a_booking_goes_to_a_qualified_free_tech_and_is_marked_online(services: Services) -> None:
    service = _shop(services)
    heard: list[NotificationAdded] = []
    services.bus.subscribe(NotificationAdded, heard.append)
    placed = _page(services).book(service.id, MON_9, KIM)
    assert placed.tech.name == "Maria Lopez"  # tied at 0 h, neither assigned yet: by name
    assert (
        placed.assignment.explanation
        == "0 h booked this week, fewest among the 2 free; tied, and first by name"
    )
    assert placed.booking.service == "AC repair" and placed.booking.duration == timedelta(hours=1)
    assert online_among(services.uow, [placed.booking.id]) == {placed.booking.id}
    with services.uow() as uow:
        alerts = [n for n in uow.notifications.list() if n.audience is Audience.DISPATCHER]
    assert [a.subject for a in alerts] == ["Booked online: AC repair Mon 02 Nov 09:00 with Maria Lopez"]
    assert [h.notification_id for h in heard] == [alerts[0].id]
    # The next customer at the same time gets the other tech; the one after that, fresh times.
    second = _page(services).book(service.id, MON_9, KIM)
    assert second.tech.name == "Sam Okafor"
    with pytest.raises(SlotTaken) as taken:
        _page(services).book(service.id, MON_9, KIM)
    assert taken.value.slots and MON_9 not in {s.start for s in taken.value.slots}
    assert str(taken.value) == "That time was just taken; please choose another."


def test_the_buffer_after_a_job_keeps_the_next_start_away(services: Services) -> None:
    service = _shop(services, ("Maria Lopez",))
    _page(services).book(service.id, MON_9, KIM)
    starts = {s.start.astimezone(CHI).strftime("%H:%M") for s in _page(services).slots(service.id, days=1)}
    assert {"08:00", "09:00", "09:30", "10:00"}.isdisjoint(starts)  # 09:00 job, buffer to 10:30
    assert "10:30" in starts and "07:30" not in starts


def test_time_off_removes_the_slot_for_that_tech_only(services: Services) -> None:
    service = _shop(services)
    maria = services.techs.find("Maria Lopez")
    services.time_off.add_span(maria.id, MON_9, MON_9 + timedelta(hours=1), "Dentist")
    at_nine = next(s for s in _page(services).slots(service.id, days=1) if s.start == MON_9)
    assert maria.id not in at_nine.techs and len(at_nine.techs) == 1
    assert _page(services).book(service.id, MON_9, KIM).tech.name == "Sam Okafor"


def test_times_the_page_never_offers_are_refused(services: Services) -> None:
    service = _shop(services)
    page = _page(services)
    with pytest.raises(InvalidInput, match="not one we offer"):
        page.book(service.id, MON_9 + timedelta(minutes=10), KIM)
    with pytest.raises(InvalidInput, match="from 60 minutes from now"):
        page.book(service.id, MON_9 + timedelta(days=20), KIM)
    with pytest.raises(InvalidInput, match="phone number"):
        page.book(service.id, MON_9, CustomerDetails("Kim", "call me", "kim@example.com", "5 Oak St"))
    with pytest.raises(InvalidInput, match="at most 120"):
        page.book(
            service.id, MON_9, CustomerDetails("K" * 121, "+1 312 555 0100", "kim@example.com", "5 Oak St")
        )


def test_a_visitor_typing_an_existing_customers_name_never_changes_their_record(services: Services) -> None:
    service = _shop(services)
    existing = services.customers.save("Kim Park", "1 Real Rd", "+1 773 555 0199", "real.kim@example.com")
    placed = _page(services).book(service.id, MON_9, KIM)
    assert services.customers.get(existing.id) == existing
    assert placed.customer.id != existing.id and placed.customer.phone == KIM.phone
    assert services.bookings.get(placed.booking.id).customer_id == placed.customer.id


def test_the_manage_link_cancels_and_moves_only_its_own_job_until_it_starts(services: Services) -> None:
    service = _shop(services)
    page = _page(services)
    first = page.book(service.id, MON_9, KIM)
    other = page.book(service.id, MON_9 + timedelta(hours=3), KIM)
    moved = page.reschedule(first.token, MON_9 + timedelta(hours=1))
    assert moved.booking.start == MON_9 + timedelta(hours=1) and moved.tech.id == first.tech.id
    assert moved.token == first.token
    with pytest.raises(LinkExpired, match="not valid"):
        page.cancel(first.token[:-2] + "xx")
    with pytest.raises(LinkExpired, match="not valid"):
        page.cancel(first.booking.id)
    assert page.cancel(first.token).booking.status is BookingStatus.CANCELLED
    assert services.bookings.get(other.booking.id).status is BookingStatus.SCHEDULED
    with pytest.raises(LinkExpired, match="cancelled"):
        page.managed(first.token)
    services.clock.advance(timedelta(hours=7))  # type: ignore[attr-defined]  # other's job starts at 12:00
    with pytest.raises(LinkExpired, match="has started"):
        page.cancel(other.token)


def test_booking_for_any_tech_from_the_desk_is_not_online(services: Services) -> None:
    service = _shop(services)
    placed = _page(services).book(
        service.name, MON_9 + timedelta(minutes=10), KIM, source=BookingSource.DESK, actor="dispatcher"
    )
    assert placed.booking.start == MON_9 + timedelta(minutes=10)
    assert online_among(services.uow, [placed.booking.id]) == set()


def test_fifty_customers_racing_for_the_last_slot_get_one_job(services: Services) -> None:
    service = _shop(services, ("Maria Lopez",))
    page = _page(services, horizon_days=1)
    # Maria's day is full but for 09:00 (and its buffer to 10:30).
    maria = services.techs.find("Maria Lopez")
    services.bookings.create(
        NewBooking("Busy", "Other", timedelta(hours=1), MON_9 - timedelta(hours=1), maria.id)
    )
    after = MON_9 + timedelta(hours=1, minutes=30)
    services.bookings.create(NewBooking("Busy", "Other", timedelta(hours=6, minutes=30), after, maria.id))
    assert [s.start for s in page.slots(service.id)] == [MON_9]
    outcomes: list[str] = []
    fresh: list[int] = []
    gate = threading.Barrier(50)

    def customer() -> None:
        gate.wait()
        try:
            page.book(service.id, MON_9, KIM)
        except SlotTaken as taken:
            outcomes.append("taken")
            fresh.append(len(taken.slots))
        except Refused as refused:  # pragma: no cover - shows what went wrong
            outcomes.append(f"refused: {refused}")
        else:
            outcomes.append("booked")

    threads = [threading.Thread(target=customer) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == {"booked": 1, "taken": 49}
    assert fresh == [0] * 49  # nothing else is free that day
    live = [b for b in services.bookings.list() if b.service == "AC repair"]
    assert len(live) == 1 and live[0].start == MON_9


def test_the_board_marks_online_jobs_and_says_why_the_rule_chose_their_tech(services: Services) -> None:
    service = _shop(services)
    online = _page(services).book(service.id, MON_9, KIM)
    desk = services.bookings.create(
        NewBooking("Desk", "Other", timedelta(hours=1), MON_9 + timedelta(hours=3), online.tech.id)
    )
    snapshot = services.board.snapshot(Interval(MON_9 - timedelta(hours=3), MON_9 + timedelta(hours=9)))
    assert snapshot.online == {online.booking.id} and desk.id not in snapshot.online
    assert snapshot.assigned_because == {online.booking.id: online.assignment.explanation}
    # A period without the online job marks nothing (both are asked by the window's jobs).
    later = services.board.snapshot(Interval(MON_9 + timedelta(hours=2), MON_9 + timedelta(hours=9)))
    assert [b.id for row in later.rows for b in row.bookings] == [desk.id]
    assert later.online == frozenset() and later.assigned_because == {}
