"""Over 500 lines: the page's reads, bookings and manage links share one checked-again-inside-the-writer rule.

Booking a service for "any qualified tech": the booking page, its manage links, and `book --tech auto`.

Slots are read from the local store only (busy blocks mirrored from calendars, time off, jobs), so
a personal event the sync engine has read is gone from the page at the next request (its commit
moves the store's version, which retires what earlier requests kept: see slot_schedules). Booking
checks the chosen start again inside the booking's own transaction (see joined_work), so two
customers racing for the last slot get one job and one "that time was just taken" with fresh
choices, never a double booking.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from app.bus import Bus, NotificationAdded
from app.domain.assignment import (
    MOST_WEIGHT,
    Assignment,
    AssignmentMode,
    AssignmentRule,
    Candidate,
    choose_tech,
)
from app.domain.availability import TechSchedule, time_off_interval
from app.domain.booking_slots import DEFAULT_STEP, OfferedStart, free_for, offered_starts, on_grid
from app.domain.ids import BookingId, CustomerId, NotificationId, TechId, new_id
from app.domain.model import Audience, Booking, Customer, Notification, Technician
from app.domain.service_types import AutoAssignment, BookingSource, OnlineBooking, ServiceType
from app.domain.time import Clock, Interval, ensure_utc, local_midnight, zone
from app.errors import InvalidInput, Refused
from app.services.accounts import DISPATCHER
from app.services.bookings import BookingEdit, BookingService, NewBooking
from app.services.joined_work import HeldBus, LentFactory
from app.services.manage_links import KEY_SETTING, booking_of, manage_token, new_key
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.schedule import busy_blocks
from app.services.service_types import find_service, page_store, store_settings
from app.services.slot_schedules import ReadSchedules, ScheduleCache
from app.services.techs import find_tech
from app.services.text import one_line, typed_line

ONLINE_ACTOR = "online"
# The office's rule for automatic assignment, kept in the store's settings.
MODE_SETTING = "booking.assignment_mode"
WEIGHTS_SETTING = "booking.assignment_weights"  # JSON: {tech id: weight}

# What a customer may type, at most (characters).
LIMITS = {"name": 120, "phone": 40, "email": 254, "address": 300, "notes": 1000}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+().\- ]{5,40}$")
FRESH_SLOTS = 12


@dataclass(frozen=True, slots=True)
class BookingPolicy:
    """How the office takes bookings: its zone (times are shown in it), how far ahead, the grid,
    the shortest notice, and whether customers see their tech's name."""

    business_zone: str
    horizon_days: int = 14
    step: timedelta = DEFAULT_STEP
    notice: timedelta = timedelta(hours=1)
    show_tech_name: bool = False


@dataclass(frozen=True, slots=True)
class CustomerDetails:
    name: str
    phone: str
    email: str
    address: str
    notes: str = ""

    def checked(self) -> CustomerDetails:
        """Tidied and bounded; InvalidInput naming the first field that is not usable."""
        for name, limit in LIMITS.items():
            if len(getattr(self, name)) > limit:
                raise InvalidInput(f"The {name} can be at most {limit} characters.")
        name = typed_line(self.name, "Your name")
        phone = typed_line(self.phone, "The phone number")
        email = typed_line(self.email, "The e-mail address")
        address = typed_line(self.address, "The address")
        if not name:
            raise InvalidInput("Enter your name.")
        if not _PHONE.match(phone):
            raise InvalidInput("Enter a phone number we can call, such as +1 312 555 0100.")
        if not _EMAIL.match(email):
            raise InvalidInput("Enter an e-mail address such as pat@example.com.")
        if not address:
            raise InvalidInput("Enter the address where the work is to be done.")
        return CustomerDetails(name, phone, email, address, self.notes.strip())


class SlotTaken(Refused):
    """The chosen time was taken (or was never free); `slots` are the earliest free ones now."""

    def __init__(self, message: str, slots: Sequence[OfferedStart]) -> None:
        super().__init__(message)
        self.slots = tuple(slots)


class _Taken(Exception):
    """Inside a booking's transaction: nobody qualified is free then (see _taken_reported)."""

    def __init__(self, service: ServiceType) -> None:
        super().__init__(service.name)
        self.service = service


class LinkExpired(Refused):
    """A manage link that grants nothing any more: unknown, cancelled, or its job has started."""


@dataclass(frozen=True, slots=True)
class Placed:
    """A job booked for a service: the booking, who does it and why, and the customer's manage token."""

    booking: Booking
    service: ServiceType
    tech: Technician
    assignment: Assignment
    customer: Customer
    token: str


@dataclass(frozen=True, slots=True)
class Managed:
    """What a manage link shows: the job, its service and the customer's own details."""

    booking: Booking
    service: ServiceType | None
    tech: Technician | None
    customer: Customer | None


@dataclass(slots=True)
class _Outcome:
    notifications: list[NotificationId] = field(default_factory=list)


def assignment_rule(uow: UnitOfWork) -> AssignmentRule:
    """The office's assignment rule from the store's settings (fewest hours when none is set)."""
    settings = store_settings(uow)
    mode_text = settings.get(MODE_SETTING)
    mode = AssignmentMode(mode_text) if mode_text in {m.value for m in AssignmentMode} else None
    weights_text = settings.get(WEIGHTS_SETTING)
    weights: dict[TechId, int] = {}
    if weights_text:
        loaded = json.loads(weights_text)
        weights = {TechId(str(k)): int(v) for k, v in loaded.items()}
    return AssignmentRule(mode or AssignmentMode.FEWEST_HOURS, weights)


SHOW_TECH_SETTING = "booking.show_tech_name"  # "yes" lets customers see their tech's name


@dataclass(frozen=True, slots=True)
class OfficeRules:
    """What the office chose for automatic assignment and for what customers see."""

    rule: AssignmentRule
    show_tech_name: bool


def office_rules(uow_factory: UnitOfWorkFactory) -> OfficeRules:
    with uow_factory(read_only=True) as uow:
        return OfficeRules(assignment_rule(uow), store_settings(uow).get(SHOW_TECH_SETTING) == "yes")


def set_office_rules(
    uow_factory: UnitOfWorkFactory,
    mode: AssignmentMode | None = None,
    weights: dict[str, int] | None = None,
    show_tech_name: bool | None = None,
) -> OfficeRules:
    """Change what is given: the mode, weights by tech name or id (replacing all), name showing."""
    with uow_factory() as uow:
        settings = store_settings(uow)
        if mode is not None:
            settings.put(MODE_SETTING, mode.value)
        if weights is not None:
            by_id = {find_tech(uow, name).id: weight for name, weight in weights.items()}
            try:
                AssignmentRule(AssignmentMode.WEIGHTED, by_id)
            except ValueError:
                raise InvalidInput(f"A weight is a whole number from 1 to {MOST_WEIGHT}.") from None
            settings.put(WEIGHTS_SETTING, json.dumps(by_id, sort_keys=True))
        if show_tech_name is not None:
            settings.put(SHOW_TECH_SETTING, "yes" if show_tech_name else "no")
        uow.commit()
    return office_rules(uow_factory)


class OnlineBookingService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, bus: Bus, policy: BookingPolicy) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._bus = bus
        self.policy = policy
        zone(policy.business_zone)  # an unknown zone is refused now, not at the first customer
        self._read_schedules = ScheduleCache()

    @classmethod
    def for_office(
        cls, uow_factory: UnitOfWorkFactory, clock: Clock, bus: Bus, business_zone: str
    ) -> OnlineBookingService:
        """The page as the office set it up (`crewboard service rule`): whether customers see names."""
        shown = office_rules(uow_factory).show_tech_name
        return cls(uow_factory, clock, bus, BookingPolicy(business_zone, show_tech_name=shown))

    def now(self) -> datetime:
        return self._clock.now()

    # --- reading -----------------------------------------------------------------------------

    def bookable(self) -> list[ServiceType]:
        """Service types some active tech is qualified for, by name."""
        with self._uow(read_only=True) as uow:
            active = {t.id for t in uow.techs.list()}
            return [s for s in page_store(uow).service_types.list() if s.qualified & active]

    def service(self, service_id: str) -> ServiceType:
        with self._uow(read_only=True) as uow:
            return find_service(uow, service_id)

    def slots(
        self, service_id: str, first_day: date | None = None, days: int | None = None
    ) -> list[OfferedStart]:
        """Every start offered for the service from `first_day` (today in the business's zone) on.

        What it reads is kept while the store's version stands (see slot_schedules): a page asked
        again before anything changed only searches."""
        days = self.policy.horizon_days if days is None else days
        if not 1 <= days <= self.policy.horizon_days:
            raise InvalidInput(f"Ask for 1 to {self.policy.horizon_days} days of times.")
        now = self._clock.now()
        window, whole_days = self._window(first_day, days, now), self._days(first_day, days, now)
        with self._uow(read_only=True) as uow:
            version = page_store(uow).slot_reads.version()
            read = self._read_schedules.get(service_id, whole_days, version)
            if read is None:
                service = find_service(uow, service_id)
                schedules = tuple(self._schedules(uow, service, whole_days))
                read = ReadSchedules(version, whole_days, service, schedules)
                self._read_schedules.put(service_id, read)
        if window.empty:
            return []
        return offered_starts(
            read.schedules, read.service, window, self.policy.business_zone, self.policy.step
        )

    def suggest(self, service_id: str, start: datetime) -> tuple[ServiceType, Assignment]:
        """The tech the office's rule would pick for `service` at `start`, and why; nothing is written.

        The desktop's "Assign automatically" shows this before the dispatcher saves; Refused when
        nobody qualified is free for the whole job and its buffer then.
        """
        start = ensure_utc(start)
        with self._uow(read_only=True) as uow:
            service = find_service(uow, service_id)
            schedules = self._schedules(uow, service, Interval(start, start + service.occupies))
            free = free_for(schedules, service, start)
            choice = choose_tech(service, self._candidates(uow, service, start), free, assignment_rule(uow))
        if choice is None:
            raise Refused(
                f"Nobody qualified for {service.name} is free for the whole job and its buffer then."
            )
        return service, choice

    # --- booking -----------------------------------------------------------------------------

    def book(
        self,
        service_id: str,
        start: datetime,
        details: CustomerDetails,
        source: BookingSource = BookingSource.ONLINE,
        actor: str = ONLINE_ACTOR,
    ) -> Placed:
        """Book `service` at `start` with the tech the office's rule picks among those free then.

        Raises SlotTaken (with fresh slots) when nobody qualified is free for the whole job and
        its buffer any more; InvalidInput for a time the page could never have offered.
        """
        customer_details = details.checked() if source is BookingSource.ONLINE else details
        start = ensure_utc(start)
        held = HeldBus()
        outcome = _Outcome()
        with self._taken_reported(), self._uow() as uow:
            service = find_service(uow, service_id)
            self._check_start(start, source)
            schedules = self._schedules(uow, service, Interval(start, start + service.occupies))
            free = free_for(schedules, service, start)
            choice = choose_tech(service, self._candidates(uow, service, start), free, assignment_rule(uow))
            if choice is None:
                raise _Taken(service)
            bookings = BookingService(LentFactory(uow), self._clock, held)
            booking = bookings.create(
                NewBooking(
                    customer=customer_details.name,
                    service=service.name,
                    duration=service.duration,
                    start=start,
                    tech=choice.tech_id,
                    notes=customer_details.notes,
                    **self._contact(uow, customer_details, source),
                ),
                actor=actor,
            )
            booking, customer = self._own_customer(uow, booking, customer_details, source)
            now = self._clock.now()
            store = page_store(uow)
            store.assignments.record(
                AutoAssignment(booking.id, choice.tech_id, now, choice.explanation, service.id)
            )
            tech = uow.techs.get(choice.tech_id)
            assert tech is not None  # chosen among the techs loaded in this transaction
            if source is BookingSource.ONLINE:
                store.online.add(OnlineBooking(booking.id, service.id, now))
                self._tell_dispatcher(uow, outcome, f"Booked online: {service.name}", booking, tech, customer)
            token = manage_token(self._key(uow), booking.id)
            uow.commit()
        self._published(held, outcome)
        return Placed(booking, service, tech, choice, customer, token)

    def derived_key(self, purpose: str) -> bytes:
        """A key for `purpose` (the page's form tokens), derived from the store's manage-link key."""
        with self._uow() as uow:
            key = self._key(uow)
            uow.commit()
        return hmac.new(key, f"crewboard-derived:{purpose}".encode(), hashlib.sha256).digest()

    # --- managing through a link ---------------------------------------------------------------

    def managed(self, token: str) -> Managed:
        with self._uow(read_only=True) as uow:
            booking = self._linked(uow, token)
            return self._describe(uow, booking)

    def cancel(self, token: str) -> Managed:
        held = HeldBus()
        outcome = _Outcome()
        with self._uow() as uow:
            booking = self._linked(uow, token)
            cancelled = BookingService(LentFactory(uow), self._clock, held).cancel(
                booking.id, actor=ONLINE_ACTOR
            )
            shown = self._describe(uow, cancelled)
            if shown.customer is not None:
                self._tell_dispatcher(
                    uow,
                    outcome,
                    "Cancelled online",
                    booking,
                    shown.tech,
                    shown.customer,
                    service=booking.service,
                )
            uow.commit()
        self._published(held, outcome)
        return shown

    def reschedule(self, token: str, start: datetime) -> Placed:
        """Move the linked job to `start`: its tech keeps it when free then, else the rule picks again."""
        start = ensure_utc(start)
        held = HeldBus()
        outcome = _Outcome()
        with self._taken_reported(), self._uow() as uow:
            booking = self._linked(uow, token)
            record = page_store(uow).online.get(booking.id)
            service = (
                page_store(uow).service_types.get(record.service_type_id)
                if record and record.service_type_id
                else None
            )
            if service is None:
                raise Refused("This job can only be moved by calling the office.")
            self._check_start(start, BookingSource.ONLINE)
            job = Interval(start, start + service.occupies)
            techs = [t for t in uow.techs.list() if t.id in service.qualified]
            blocks = busy_blocks(uow, techs, job, exclude_booking=booking.id)
            schedules = [TechSchedule(t, tuple(b.interval for b in blocks[t.id])) for t in techs]
            free = free_for(schedules, service, start)
            if booking.tech_id is not None and booking.tech_id in free:
                tech_id = booking.tech_id
                choice = Assignment(tech_id, "", "kept the same technician")
            else:
                found = choose_tech(
                    service, self._candidates(uow, service, start), free, assignment_rule(uow)
                )
                if found is None:
                    raise _Taken(service)
                choice, tech_id = found, found.tech_id
                page_store(uow).assignments.record(
                    AutoAssignment(booking.id, tech_id, self._clock.now(), found.explanation, service.id)
                )
            moved = BookingService(LentFactory(uow), self._clock, held).edit(
                booking.id, BookingEdit(start=start, tech=tech_id), actor=ONLINE_ACTOR
            )
            shown = self._describe(uow, moved)
            assert shown.tech is not None and shown.customer is not None
            self._tell_dispatcher(
                uow, outcome, f"Moved online: {service.name}", moved, shown.tech, shown.customer
            )
            token = manage_token(self._key(uow), moved.id)
            uow.commit()
        self._published(held, outcome)
        return Placed(moved, service, shown.tech, choice, shown.customer, token)

    # --- helpers -------------------------------------------------------------------------------

    @contextmanager
    def _taken_reported(self) -> Iterator[None]:
        """Turn a slot found taken inside the writer's transaction into SlotTaken with fresh slots,
        read after that transaction ended: searching two weeks must not hold the store's write lock."""
        try:
            yield
        except _Taken as taken:
            with self._uow(read_only=True) as uow:
                window = self._window(None, self.policy.horizon_days)
                fresh = self._offers(uow, taken.service, window)[:FRESH_SLOTS]
            raise SlotTaken("That time was just taken; please choose another.", fresh) from None

    def _days(self, first_day: date | None, days: int, now: datetime) -> Interval:
        """The whole local days a search of `days` from `first_day` covers: what it reads and keeps,
        so the notice moving with the clock needs no new read."""
        tz = zone(self.policy.business_zone)
        day = first_day or now.astimezone(tz).date()
        return Interval(local_midnight(day, tz), local_midnight(day + timedelta(days=days), tz))

    def _window(self, first_day: date | None, days: int, now: datetime | None = None) -> Interval:
        tz = zone(self.policy.business_zone)
        now = now or self._clock.now()
        day = first_day or now.astimezone(tz).date()
        begin = max(local_midnight(day, tz), now + self.policy.notice)
        end = local_midnight(day + timedelta(days=days), tz)
        return Interval(begin, max(begin, end))

    def _check_start(self, start: datetime, source: BookingSource) -> None:
        if source is not BookingSource.ONLINE:
            return
        window = self._window(None, self.policy.horizon_days)
        if not on_grid(start, self.policy.business_zone, self.policy.step):
            raise InvalidInput("That start time is not one we offer; choose one of the times listed.")
        if not window.start <= start < window.end:
            raise InvalidInput(
                f"Choose a time from {self.policy.notice // timedelta(minutes=1)} minutes from now "
                f"to {self.policy.horizon_days} days ahead."
            )

    def _schedules(self, uow: UnitOfWork, service: ServiceType, window: Interval) -> list[TechSchedule]:
        """The qualified techs with what keeps them busy in `window`: calendars, time off, jobs and the
        buffer after each job booked from a service type (read in two statements: see SlotReads)."""
        techs = sorted(
            (t for t in uow.techs.list() if t.id in service.qualified),
            key=lambda t: t.id,
        )
        ids = [t.id for t in techs]
        busy: dict[TechId, list[Interval]] = {tech_id: [] for tech_id in ids}
        reads = page_store(uow).slot_reads
        for tech_id, span in reads.busy_spans(ids, window):
            busy[tech_id].append(span)
        zones = {t.id: t.timezone for t in techs}
        for item in reads.time_off(ids, window):
            span = time_off_interval(item, zones[item.tech_id])
            if span.overlaps(window):
                busy[item.tech_id].append(span)
        return [TechSchedule(t, tuple(busy[t.id])) for t in techs]

    def _offers(self, uow: UnitOfWork, service: ServiceType, window: Interval) -> list[OfferedStart]:
        if window.empty:
            return []
        schedules = self._schedules(uow, service, window)
        return offered_starts(schedules, service, window, self.policy.business_zone, self.policy.step)

    def _candidates(self, uow: UnitOfWork, service: ServiceType, start: datetime) -> list[Candidate]:
        """Each qualified tech's booked hours in the job's ISO week (in the business's zone) and last turn."""
        tz = zone(self.policy.business_zone)
        local_day = start.astimezone(tz).date()
        monday = local_day - timedelta(days=local_day.weekday())
        week = Interval(local_midnight(monday, tz), local_midnight(monday + timedelta(days=7), tz))
        techs = [t for t in uow.techs.list() if t.id in service.qualified]
        booked: dict[TechId, timedelta] = {t.id: timedelta(0) for t in techs}
        for tech_id, span in uow.bookings.spans(week, [t.id for t in techs]):
            inside = span.intersection(week)
            if inside is not None and tech_id in booked:
                booked[tech_id] += inside.duration
        last = page_store(uow).assignments.last_assigned(booked)
        return [Candidate(t.id, t.name, booked[t.id], last.get(t.id)) for t in techs]

    def _contact(
        self, uow: UnitOfWork, details: CustomerDetails, source: BookingSource
    ) -> dict[str, str | None]:
        """Contact details for BookingService, which files them on the customer of that name.

        A page visitor must never change someone else's record by typing their name: when a
        customer of that name exists with other details, the job gets a record of its own
        (`_own_customer`) and the existing one is left as it is.
        """
        existing = uow.customers.by_name(details.name)
        if source is BookingSource.ONLINE and existing is not None and not _same_person(existing, details):
            return {"address": None, "phone": None, "email": None}
        return {"address": details.address, "phone": details.phone, "email": details.email}

    def _own_customer(
        self, uow: UnitOfWork, booking: Booking, details: CustomerDetails, source: BookingSource
    ) -> tuple[Booking, Customer]:
        current = uow.customers.get(booking.customer_id)
        assert current is not None  # BookingService just filed the job on it
        if source is not BookingSource.ONLINE or _same_person(current, details):
            return booking, current
        own = Customer(
            CustomerId(new_id()), details.name, details.address, details.phone, details.email, "Booked online"
        )
        uow.customers.add(own)
        moved = replace(booking, customer_id=own.id)
        uow.bookings.update(moved)
        return moved, own

    def _linked(self, uow: UnitOfWork, token: str) -> Booking:
        key = store_settings(uow).get(KEY_SETTING)
        booking_id = booking_of(bytes.fromhex(key), token) if key else None
        booking = uow.bookings.get(booking_id) if booking_id else None
        if booking is None or page_store(uow).online.get(booking.id) is None:
            raise LinkExpired("This link is not valid; use the link from your confirmation e-mail.")
        if not booking.is_live:
            raise LinkExpired("This booking was cancelled; book again if you need a visit.")
        if booking.start is None or booking.start <= self._clock.now():
            raise LinkExpired("This job has started, so it can no longer be changed online; call the office.")
        return booking

    def _describe(self, uow: UnitOfWork, booking: Booking) -> Managed:
        record = page_store(uow).online.get(booking.id)
        service = (
            page_store(uow).service_types.get(record.service_type_id)
            if record is not None and record.service_type_id is not None
            else None
        )
        tech = uow.techs.get(booking.tech_id) if booking.tech_id else None
        return Managed(booking, service, tech, uow.customers.get(booking.customer_id))

    def _key(self, uow: UnitOfWork) -> bytes:
        settings = store_settings(uow)
        stored = settings.get(KEY_SETTING)
        if stored:
            return bytes.fromhex(stored)
        key = new_key()
        settings.put(KEY_SETTING, key.hex())
        return key

    def _tell_dispatcher(
        self,
        uow: UnitOfWork,
        outcome: _Outcome,
        what: str,
        booking: Booking,
        tech: Technician | None,
        customer: Customer,
        service: str | None = None,
    ) -> None:
        tz = zone(self.policy.business_zone)
        when = booking.start.astimezone(tz).strftime("%a %d %b %H:%M") if booking.start else "unscheduled"
        who = tech.name if tech else "nobody yet"
        notification = Notification(
            id=NotificationId(new_id()),
            audience=Audience.DISPATCHER,
            recipient=DISPATCHER,
            subject=one_line(f"{what} {when} with {who}"),
            body=(
                f"{service or booking.service} for {customer.name} on {when} ({self.policy.business_zone}) "
                f"with {who}.\nPhone: {customer.phone}\nE-mail: {customer.email}\nAddress: {customer.address}\n"
                f"Note: {booking.notes or '-'}\nBooking {booking.id[:8]}."
            ),
            created=self._clock.now(),
            tech_id=tech.id if tech else None,
        )
        uow.notifications.add(notification)
        outcome.notifications.append(notification.id)

    def _published(self, held: HeldBus, outcome: _Outcome) -> None:
        held.release(self._bus)
        for notification_id in outcome.notifications:
            self._bus.publish(NotificationAdded(notification_id))


def _same_person(customer: Customer, details: CustomerDetails) -> bool:
    return (customer.phone, customer.email.casefold()) == (details.phone, details.email.casefold())


def online_among(uow_factory: UnitOfWorkFactory, booking_ids: Sequence[BookingId]) -> set[BookingId]:
    """Which of these bookings were made on the booking page (the board marks them "online")."""
    with uow_factory(read_only=True) as uow:
        return page_store(uow).online.online_among(booking_ids)


def assigned_because(uow_factory: UnitOfWorkFactory, booking_id: BookingId) -> str | None:
    """Why the rule gave this job to its tech, when it did."""
    with uow_factory(read_only=True) as uow:
        found = page_store(uow).assignments.for_booking(booking_id)
    return None if found is None else found.explanation
