"""Start times a booking page offers: some qualified tech free for the whole job and its buffer."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from app.domain.availability import TechSchedule, free_intervals
from app.domain.booking_slots import free_for, offered_starts, on_grid
from app.domain.ids import TechId
from app.domain.service_types import ServiceType, ServiceTypeId
from app.domain.time import Interval
from tests.domain.factories import LA, local, technician

CHI = "America/Chicago"


def _service(minutes: int, buffer: int = 0, *techs: str) -> ServiceType:
    return ServiceType(
        ServiceTypeId("s"),
        "AC repair",
        timedelta(minutes=minutes),
        timedelta(minutes=buffer),
        frozenset(map(TechId, techs)),
    )


def test_starts_follow_the_half_hour_grid_inside_business_hours() -> None:
    ana = technician(CHI, "mon-fri 08:00-12:00", tech_id="ana")
    window = Interval(local(CHI, 2026, 11, 2, 0), local(CHI, 2026, 11, 3, 0))
    busy = (Interval(local(CHI, 2026, 11, 2, 9, 15), local(CHI, 2026, 11, 2, 10)),)
    starts = offered_starts([TechSchedule(ana, busy)], _service(60, 0, "ana"), window, CHI)
    assert [s.start.astimezone(ZoneInfo(CHI)).strftime("%H:%M") for s in starts] == [
        "08:00",
        "10:00",
        "10:30",
        "11:00",
    ]
    assert all(s.end - s.start == timedelta(minutes=60) for s in starts)


def test_the_buffer_after_must_be_free_too() -> None:
    ana = technician(CHI, "mon-fri 08:00-12:00", tech_id="ana")
    window = Interval(local(CHI, 2026, 11, 2, 0), local(CHI, 2026, 11, 3, 0))
    starts = offered_starts([TechSchedule(ana, ())], _service(60, 30, "ana"), window, CHI)
    assert starts[-1].start == local(CHI, 2026, 11, 2, 10, 30)  # 10:30-11:30 + 30 min buffer


def test_unqualified_techs_offer_nothing_and_others_are_named() -> None:
    ana = technician(CHI, "mon-fri 08:00-10:00", tech_id="ana")
    bo = technician(LA, "mon-fri 08:00-10:00", tech_id="bo")  # 10:00-12:00 in Chicago
    window = Interval(local(CHI, 2026, 11, 2, 0), local(CHI, 2026, 11, 3, 0))
    schedules = [TechSchedule(ana, ()), TechSchedule(bo, ())]
    only_bo = offered_starts(schedules, _service(60, 0, "bo"), window, CHI)
    assert only_bo[0].start == local(CHI, 2026, 11, 2, 10) and only_bo[0].techs == {"bo"}
    both = offered_starts(schedules, _service(60, 0, "ana", "bo"), window, CHI)
    assert len(both) == 6 and all(len(s.techs) == 1 for s in both)


def test_the_grid_stays_on_the_half_hour_across_a_dst_change() -> None:
    ana = technician(CHI, "mon-sun 08:00-10:00", tech_id="ana")
    window = Interval(local(CHI, 2026, 10, 31, 0), local(CHI, 2026, 11, 3, 0))  # clocks fall back Nov 1
    starts = offered_starts([TechSchedule(ana, ())], _service(60, 0, "ana"), window, CHI)
    local_times = {s.start.astimezone(ZoneInfo(CHI)).strftime("%H:%M") for s in starts}
    assert local_times == {"08:00", "08:30", "09:00"}
    assert all(on_grid(s.start, CHI) for s in starts)
    assert not on_grid(local(CHI, 2026, 11, 2, 8, 10), CHI)


jobs = st.integers(1, 8).map(lambda h: h * 30)
busy_lists = st.lists(
    st.tuples(st.integers(0, 48 * 2), st.integers(1, 12)).map(
        lambda p: Interval(
            local(CHI, 2026, 11, 2) + timedelta(minutes=30 * p[0]),
            local(CHI, 2026, 11, 2) + timedelta(minutes=30 * (p[0] + p[1])),
        )
    ),
    max_size=8,
)


@given(jobs, st.integers(0, 2).map(lambda b: b * 15), busy_lists, busy_lists)
def test_every_offered_start_has_a_qualified_tech_free_for_job_and_buffer(
    minutes: int, buffer: int, ana_busy: list[Interval], bo_busy: list[Interval]
) -> None:
    ana = technician(CHI, "mon-fri 08:00-17:00", tech_id="ana")
    bo = technician(LA, "mon-fri 07:00-12:00", tech_id="bo")
    cy = technician(CHI, "mon-sun 00:00-23:59", tech_id="cy")  # never qualified
    schedules = [TechSchedule(ana, tuple(ana_busy)), TechSchedule(bo, tuple(bo_busy)), TechSchedule(cy, ())]
    service = _service(minutes, buffer, "ana", "bo")
    window = Interval(local(CHI, 2026, 11, 2), local(CHI, 2026, 11, 4))
    for offer in offered_starts(schedules, service, window, CHI):
        assert offer.techs and offer.techs <= {"ana", "bo"}
        assert offer.techs == free_for(schedules, service, offer.start)
        need = Interval(offer.start, offer.start + service.occupies)
        for schedule in schedules:
            if schedule.tech.id in offer.techs:
                free = free_intervals(schedule.tech, window, schedule.busy)
                assert any(span.contains(need) for span in free)
