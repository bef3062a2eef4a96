"""The booking page's slot search, read and searched the fast way, offers exactly what a plain search
offers: every grid start at which a qualified, active tech has open hours and nothing else for the
whole job and its buffer, checked start by start against the schedule the test itself wrote.

Schedules are drawn by Hypothesis: techs in zones on and off the half hour, several kinds of hours,
calendar busy blocks, whole-day and timed time off, live and cancelled jobs (some unassigned, some
ending just before the window, some booked from a service type whose buffer follows them), and a
clock anywhere in a few days, on or off the grid. Each example adds its own techs and service to
the test's store, so examples never see each other's schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.domain.booking_slots import OfferedStart
from app.domain.hours import BusinessHours
from app.domain.ids import AccountId, BookingId, CalendarId, CustomerId, TechId, TimeOffId, new_id
from app.domain.model import (
    AccountStatus,
    Booking,
    BookingStatus,
    BusyBlock,
    BusySource,
    Calendar,
    CalendarAccount,
    Customer,
    Provider,
    Technician,
    TimeOff,
)
from app.domain.service_types import AutoAssignment, ServiceType, ServiceTypeId
from app.domain.time import FixedClock, Interval, local_midnight, zone
from app.services.container import Services
from app.services.online_booking import BookingPolicy, OnlineBookingService
from app.services.ports import UnitOfWork
from app.services.service_types import page_store
from tests.conftest import NOW

# Offices west and east of UTC, and techs up to 14 hours from it: whole days off then reach into the
# window from the UTC day before or after it.
BUSINESS_ZONES = ("America/Chicago", "Pacific/Pago_Pago", "Asia/Kolkata")
ZONES = ("America/Chicago", "America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin", "Pacific/Kiritimati")
HOURS = (
    "mon-fri 08:00-17:00",
    "mon-sun 00:00-24:00",
    "tue-sat 07:30-12:00,12:45-18:15",
    "mon-fri 22:00-24:00; sat 00:00-04:00",
)
QUARTER = timedelta(minutes=15)
FIRST_DAY = NOW.date() - timedelta(days=3)  # drawn days and clocks lie around Chicago's 1 Nov clock change
MOSTLY = st.sampled_from([True, True, True, False])


@dataclass(frozen=True)
class TechPlan:
    zone: str
    hours: str
    active: bool
    qualified: bool


@dataclass(frozen=True)
class Span:
    """A span drawn as a day after FIRST_DAY, then a UTC start and a length in quarter hours."""

    tech: int
    day: int
    start: int
    length: int

    def interval(self) -> Interval:
        begin = datetime.combine(FIRST_DAY + timedelta(days=self.day), time(0), UTC) + self.start * QUARTER
        return Interval(begin, begin + self.length * QUARTER)


@dataclass(frozen=True)
class Job:
    span: Span
    assigned: bool
    live: bool
    buffer_quarters: int | None  # booked from a service type with this buffer; None: booked by hand
    # Set: the job ends this many quarter hours before the window opens (its buffer may reach in).
    before_window: int | None


@dataclass(frozen=True)
class Plan:
    techs: tuple[TechPlan, ...]
    blocks: tuple[Span, ...]
    timed_off: tuple[Span, ...]
    days_off: tuple[tuple[int, int, int], ...]  # tech, first day after FIRST_DAY, how many days
    jobs: tuple[Job, ...]
    duration_quarters: int
    buffer_quarters: int
    clock_minutes: int  # after FIRST_DAY's second midnight (UTC)
    days: int
    business_zone: str
    later_minutes: int = 0  # the clock moves on this much before the page is asked again


def _spans(techs: int, shortest: int) -> st.SearchStrategy[Span]:
    return st.builds(
        Span,
        tech=st.integers(0, techs - 1),
        day=st.integers(0, 7),
        start=st.integers(0, 95),
        length=st.integers(shortest, 40),
    )


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    techs = draw(
        st.lists(
            st.builds(
                TechPlan,
                zone=st.sampled_from(ZONES),
                hours=st.sampled_from(HOURS),
                active=MOSTLY,
                qualified=MOSTLY,
            ),
            min_size=1,
            max_size=3,
        )
    )
    count = len(techs)
    jobs = st.builds(
        Job,
        span=_spans(count, 1),
        before_window=st.none() | st.integers(0, 12),
        assigned=MOSTLY,
        live=MOSTLY,
        buffer_quarters=st.none() | st.integers(0, 16),
    )
    days_off = st.tuples(st.integers(0, count - 1), st.integers(0, 7), st.integers(1, 2))
    return Plan(
        techs=tuple(techs),
        blocks=tuple(draw(st.lists(_spans(count, 0), max_size=8))),
        timed_off=tuple(draw(st.lists(_spans(count, 1), max_size=2))),
        days_off=tuple(draw(st.lists(days_off, max_size=2))),
        jobs=tuple(draw(st.lists(jobs, max_size=10))),
        duration_quarters=draw(st.integers(1, 12)),
        buffer_quarters=draw(st.integers(0, 8)),
        clock_minutes=draw(st.integers(0, 3 * 24 * 60)),
        days=draw(st.integers(1, 4)),
        business_zone=draw(st.sampled_from(BUSINESS_ZONES)),
        later_minutes=draw(st.integers(0, 12 * 60)),
    )


@settings(
    max_examples=30,
    deadline=None,
    # Each example writes its own techs and service into the one store: nothing leaks between them.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans())
# A whole day off in the zone furthest east, the day after the window's last UTC date, still takes
# the window's last hour from an office in the zone furthest west.
@example(
    plan=Plan(
        techs=(TechPlan("Pacific/Kiritimati", "mon-sun 00:00-24:00", active=True, qualified=True),),
        blocks=(),
        timed_off=(),
        days_off=((0, 2, 1),),
        jobs=(),
        duration_quarters=1,
        buffer_quarters=0,
        clock_minutes=0,
        days=1,
        business_zone="Pacific/Pago_Pago",
    )
)
def test_the_offered_starts_are_those_a_plain_search_finds(services: Services, plan: Plan) -> None:
    now = datetime.combine(FIRST_DAY + timedelta(days=1), time(0), UTC) + timedelta(
        minutes=plan.clock_minutes
    )
    clock = FixedClock(now)
    page = OnlineBookingService(services.uow, clock, services.bus, BookingPolicy(plan.business_zone))
    service, techs, busy = _write(services, plan, page, _window(page.policy, now, plan.days).start)

    offered = page.slots(service.id, days=plan.days)

    assert offered == _plain_search(page.policy, now, plan.days, service, techs, busy)
    # Nothing written since: the page searches what it read again, in the window the clock moved.
    clock.current = later = now + timedelta(minutes=plan.later_minutes)
    assert page.slots(service.id, days=plan.days) == _plain_search(
        page.policy, later, plan.days, service, techs, busy
    )


def _plain_search(
    policy: BookingPolicy,
    now: datetime,
    days: int,
    service: ServiceType,
    techs: list[Technician],
    busy: dict[TechId, list[Interval]],
) -> list[OfferedStart]:
    """Every grid start of the page's days, tech by tech: open hours for the whole job and its
    buffer, and none of what the plan made them busy with overlapping it."""
    tz = zone(policy.business_zone)
    today = now.astimezone(tz).date()
    window = _window(policy, now, days)
    candidates = [t for t in techs if t.active and t.id in service.qualified]
    offered: list[OfferedStart] = []
    for offset in range(days):
        start = local_midnight(today + timedelta(days=offset), tz)
        next_midnight = local_midnight(today + timedelta(days=offset + 1), tz)
        while start < next_midnight:
            job = Interval(start, start + service.occupies)
            if window.contains(job):
                free = frozenset(
                    t.id
                    for t in candidates
                    if _open_throughout(t, job) and not any(_takes(spent, job) for spent in busy[t.id])
                )
                if free:
                    offered.append(OfferedStart(start, start + service.duration, free))
            start += policy.step
    return offered


def _window(policy: BookingPolicy, now: datetime, days: int) -> Interval:
    """The page's days: from today in the office's zone (not before the notice) to a midnight there;
    empty when the notice reaches past that midnight."""
    tz = zone(policy.business_zone)
    today = now.astimezone(tz).date()
    begin = max(local_midnight(today, tz), now + policy.notice)
    return Interval(begin, max(begin, local_midnight(today + timedelta(days=days), tz)))


def _takes(spent: Interval, job: Interval) -> bool:
    """Whether busy time takes some of the job's (an empty span, such as a zero-length event, takes none)."""
    return spent.start < job.end and job.start < spent.end and not spent.empty


def _open_throughout(tech: Technician, job: Interval) -> bool:
    """Whether the tech's hours, day after day in their own zone, cover the job without a gap."""
    tz = zone(tech.timezone)
    first = job.start.astimezone(tz).date() - timedelta(days=1)
    hours = [
        span
        for offset in range((job.end.astimezone(tz).date() - first).days + 2)
        for span in tech.hours.intervals_on(first + timedelta(days=offset), tz)
    ]
    reached = job.start
    while reached < job.end:
        onward = [span.end for span in hours if span.start <= reached < span.end]
        if not onward:
            return False
        reached = max(onward)
    return True


def _write(
    services: Services, plan: Plan, page: OnlineBookingService, opens: datetime
) -> tuple[ServiceType, list[Technician], dict[TechId, list[Interval]]]:
    """Store the plan; return the service, its techs and what the plan makes each of them busy with.

    The page searches once between the crew and their busy time, so what it keeps from that search
    must give way to what is written after it."""
    techs = [
        Technician(
            TechId(new_id()),
            f"Tech {new_id()[:8]}",
            "tech@example.com",
            p.zone,
            BusinessHours.parse(p.hours),
            active=p.active,
        )
        for p in plan.techs
    ]
    busy: dict[TechId, list[Interval]] = {t.id: [] for t in techs}
    service = ServiceType(
        ServiceTypeId(new_id()),
        f"Service {new_id()[:8]}",
        plan.duration_quarters * QUARTER,
        plan.buffer_quarters * QUARTER,
        frozenset(t.id for t, p in zip(techs, plan.techs, strict=True) if p.qualified),
    )
    with services.uow() as uow:
        store = page_store(uow)
        customer = Customer(CustomerId(new_id()), f"Customer {new_id()[:8]}")
        uow.customers.add(customer)
        calendars = {t.id: CalendarId(new_id()) for t in techs}
        for tech in techs:
            uow.techs.add(tech)
            account = CalendarAccount(
                AccountId(new_id()), tech.id, Provider.GOOGLE, tech.email, "test", AccountStatus.CONNECTED
            )
            uow.accounts.add(account)
            uow.calendars.add(
                Calendar(calendars[tech.id], account.id, tech.email, "Personal", primary=True, blocks=True)
            )
        store.service_types.add(service)
        uow.commit()
    page.slots(service.id, days=plan.days)
    with services.uow() as uow:
        for drawn in plan.blocks:
            tech, remote = techs[drawn.tech], new_id()
            block = BusyBlock(
                tech.id,
                drawn.interval(),
                BusySource.CALENDAR,
                calendar_id=calendars[tech.id],
                remote_id=remote,
            )
            uow.busy.replace_for_event(calendars[tech.id], remote, [block])
            busy[tech.id].append(drawn.interval())
        for drawn in plan.timed_off:
            tech, span = techs[drawn.tech], drawn.interval()
            uow.time_off.add(TimeOff(TimeOffId(new_id()), tech.id, start=span.start, end=span.end))
            busy[tech.id].append(span)
        for index, first, count in plan.days_off:
            tech, day = techs[index], FIRST_DAY + timedelta(days=first)
            until = day + timedelta(days=count)
            uow.time_off.add(TimeOff(TimeOffId(new_id()), tech.id, first_day=day, end_day=until))
            tz = zone(tech.timezone)
            busy[tech.id].append(Interval(local_midnight(day, tz), local_midnight(until, tz)))
        for job in plan.jobs:
            busy[techs[job.span.tech].id] += _write_job(uow, techs[job.span.tech], customer, job, opens)
        uow.commit()
    return service, techs, busy


def _write_job(
    uow: UnitOfWork, tech: Technician, customer: Customer, job: Job, opens: datetime
) -> list[Interval]:
    """Store one job (and the service type it was booked from); what it keeps its tech busy with."""
    span = job.span.interval()
    if job.before_window is not None:
        end = opens - job.before_window * QUARTER
        span = Interval(end - span.duration, end)
    booking = Booking(
        BookingId(new_id()),
        customer.id,
        tech.id if job.assigned else None,
        "Repair",
        span.start,
        span.duration,
        status=BookingStatus.SCHEDULED if job.live else BookingStatus.CANCELLED,
    )
    uow.bookings.add(booking)
    buffer = None if job.buffer_quarters is None else job.buffer_quarters * QUARTER
    if buffer is not None:
        store = page_store(uow)
        origin = ServiceType(ServiceTypeId(new_id()), f"Origin {new_id()[:8]}", span.duration, buffer)
        store.service_types.add(origin)
        store.assignments.record(AutoAssignment(booking.id, tech.id, span.start, "by rule", origin.id))
    if not (job.assigned and job.live):
        return []
    return [span, Interval(span.end, span.end + buffer)] if buffer else [span]
