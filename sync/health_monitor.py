"""Per-account sync health: record each read and write, escalate outages, summarise recoveries.

The engine reports every attempt (`succeeded` / `failed`, the engine's HealthRecorder protocol);
`evaluate(now)`, run every few seconds, raises an outage's escalation level as time passes:

- warning (5 min by default): a log line, and the board hears HealthChanged and shows it;
- dispatcher (30 min): a notification to the dispatcher;
- owner (2 h): a notification to the owner.

The level reached is stored in SyncHealth.level in the same transaction as the notification, so
each level fires once per outage even across restarts. When a failing account first succeeds
again its level drops to OK; the dispatcher and owner hear that it recovered if they were told it
broke, and the tech gets one message listing the jobs that were added to their schedule while
their calendar was out of reach (only for outages long enough to have warned: a blip of a few
seconds is not worth a message). That is every job whose calendar write the outage held back: the
ones booked or changed during it, and the ones already waiting in the outbox when it was noticed
(an outage is only noticed at the first failing call, a moment after the provider went down, so a
job booked in between was queued before it "started"). Those are noted in the audit log when the
outage starts, so the summary finds them after a restart too.

Methods are blocking (one short transaction each); the engine calls them from its database worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from app.bus import Bus, HealthChanged, NotificationAdded
from app.domain.escalation import Thresholds, format_duration, level_for, levels_between, parse_duration, rank
from app.domain.ids import AccountId, BookingId
from app.domain.model import (
    AccountStatus,
    Audience,
    AuditEntry,
    Booking,
    CalendarAccount,
    HealthLevel,
    Notification,
    SyncHealth,
    Technician,
)
from app.domain.time import Clock, zone
from app.errors import InvalidInput
from app.services.accounts import provider_label
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.text import sentence
from sync.engine.ports import Direction
from sync.notify import Notifier, describe_error
from sync.providers.config import ConfigurationError, read_settings_file, settings_path

log = logging.getLogger(__name__)

HELD = "sync.writes_held"  # audit action: the jobs whose calendar writes were waiting when an outage began
SETTING_KEYS = {"warn": "warn_after", "dispatcher": "dispatcher_after", "owner": "owner_after"}


def load_thresholds(
    settings: Mapping[str, Any] | None = None,
    warn: timedelta | None = None,
    dispatcher: timedelta | None = None,
    owner: timedelta | None = None,
    path: Path | None = None,
) -> Thresholds:
    """Thresholds from command-line values, else `[sync]` in settings.toml, else the defaults.

    `settings` is the parsed settings file; None reads it from `path` (the user's settings.toml).
    """
    path = path or settings_path()
    data = read_settings_file(path) if settings is None else settings
    section = data.get("sync", {})
    if not isinstance(section, Mapping):
        raise ConfigurationError(f"[sync] in {path} must be a table of settings; fix the file.")
    defaults = Thresholds()
    chosen: dict[str, timedelta] = {}
    for name, flag in (("warn", warn), ("dispatcher", dispatcher), ("owner", owner)):
        key = SETTING_KEYS[name]
        raw = section.get(key)
        if flag is not None:
            chosen[name] = flag
        elif raw is not None:
            if not isinstance(raw, str):
                raise ConfigurationError(
                    f'{key} in {path} must be a duration in quotes, like "30m"; fix the file.'
                )
            try:
                chosen[name] = parse_duration(raw)
            except InvalidInput as error:
                raise ConfigurationError(f"{key} in {path}: {error}") from None
        else:
            chosen[name] = getattr(defaults, name)
    return Thresholds(**chosen)


class HealthMonitor:
    """Keeps SyncHealth per account and turns long outages into alerts, once per level per outage."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        bus: Bus,
        notifier: Notifier,
        thresholds: Thresholds | None = None,
        office_zone: tzinfo = UTC,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._bus = bus
        self._notifier = notifier
        self.thresholds = thresholds or Thresholds()
        self._office_zone = office_zone
        self._lock = threading.Lock()  # one read-modify-write of a health row at a time

    # -- the engine's HealthRecorder ------------------------------------------------------------------

    def succeeded(self, account_id: AccountId, at: datetime, kind: Direction = Direction.READ) -> None:
        """A read or write of the account worked; the first one after an outage ends it."""
        added: list[Notification] = []
        with self._lock, self._uow() as uow:
            before = uow.health.get(account_id) or SyncHealth(account_id)
            after = replace(
                before, last_success=at, failing_since=None, last_error=None, level=HealthLevel.OK
            )
            after = replace(after, last_read=at) if kind is Direction.READ else replace(after, last_write=at)
            if before.failing_since is not None:
                added = self._recovery_notices(uow, before, at)
                for notification in added:
                    uow.notifications.add(notification)
            uow.health.put(after)
            uow.commit()
        if before.failing_since is not None:
            log.info(
                "calendar account %s syncs again after %s",
                account_id,
                format_duration(at - before.failing_since),
            )
            self._announce(account_id, added)

    def failed(self, account_id: AccountId, at: datetime, error: BaseException | str) -> None:
        """A read or write of the account failed; the first failure starts the outage's clock."""
        text = describe_error(error)
        with self._lock, self._uow() as uow:
            before = uow.health.get(account_id) or SyncHealth(account_id)
            started = before.failing_since is None
            uow.health.put(replace(before, failing_since=before.failing_since or at, last_error=text))
            if started:
                _note_held_writes(uow, account_id, at)
            uow.commit()
        if started:
            log.info("calendar account %s started failing: %s", account_id, text)
            self._bus.publish(HealthChanged(account_id))

    # -- escalation ------------------------------------------------------------------------------------

    def evaluate(self, now: datetime | None = None) -> list[tuple[AccountId, HealthLevel]]:
        """Raise each failing account to the level its outage has reached; returns the levels fired."""
        now = now or self._clock.now()
        fired: list[tuple[AccountId, HealthLevel]] = []
        raised: list[AccountId] = []
        added: list[Notification] = []
        warnings: list[str] = []
        with self._lock, self._uow() as uow:
            for health in uow.health.list():
                target = level_for(health.failing_since, now, self.thresholds)
                if rank(target) <= rank(health.level):
                    continue
                account = uow.accounts.get(health.account_id)
                if account is None or account.status is AccountStatus.DISCONNECTED:
                    continue
                tech = uow.techs.get(account.tech_id)
                if tech is None:
                    continue
                for level in levels_between(health.level, target):
                    fired.append((account.id, level))
                    if level is HealthLevel.WARNING:
                        warnings.append(
                            f"{self._label(tech, account)} has not synced since "
                            f"{self._office_time(health.failing_since or now)}"
                        )
                    notification = self._alert(level, tech, account, health, now)
                    if notification is not None:
                        uow.notifications.add(notification)
                        added.append(notification)
                uow.health.put(replace(health, level=target))
                raised.append(account.id)
            uow.commit()
        for warning in warnings:
            log.warning("%s", warning)
        for account_id in raised:
            self._bus.publish(HealthChanged(account_id))
        for notification in added:
            self._bus.publish(NotificationAdded(notification.id))
        return fired

    async def check(self) -> None:
        """One round: escalate what is due, then e-mail what is waiting (off the event loop)."""
        await asyncio.to_thread(self.evaluate)
        await self._notifier.deliver_pending()

    async def run(self, stop: asyncio.Event, every: timedelta = timedelta(seconds=15)) -> None:
        """Evaluate, then deliver what is pending, every `every` until `stop` is set."""
        while not stop.is_set():
            try:
                await self.check()
            except Exception:  # one bad round must not end health watching for the session
                log.exception("health round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every.total_seconds())

    # -- messages ---------------------------------------------------------------------------------------

    def _label(self, tech: Technician, account: CalendarAccount) -> str:
        return f"{tech.name}'s {provider_label(account.provider)} calendar ({account.email})"

    def _office_time(self, instant: datetime) -> str:
        return instant.astimezone(self._office_zone).strftime("%a %H:%M")

    def _alert(
        self,
        level: HealthLevel,
        tech: Technician,
        account: CalendarAccount,
        health: SyncHealth,
        now: datetime,
    ) -> Notification | None:
        if level is HealthLevel.WARNING or health.failing_since is None:
            return None  # the board and the log carry the warning
        audience = Audience.DISPATCHER if level is HealthLevel.DISPATCHER else Audience.OWNER
        label = self._label(tech, account)
        since = self._office_time(health.failing_since)
        subject = f"{label} has not synced for {format_duration(now - health.failing_since)}"
        reconnect = (
            f" The sign-in no longer works: ask {tech.name} to connect the calendar again."
            if account.status in (AccountStatus.NEEDS_RECONNECT, AccountStatus.REVOKED)
            else ""
        )
        body = (
            f"Crewboard has not been able to sync {label} since {since}."
            f" Last error: {sentence(health.last_error or 'unknown')}{reconnect}\n\n"
            f"Bookings are safe on the board, and changes to {tech.name}'s jobs will be sent when the "
            f"calendar is reachable again. Until then {tech.name}'s calendar may be missing new or moved "
            "jobs, and the board may not see personal events added there, so check with them before "
            "booking them tightly."
        )
        return self._notifier.compose(audience, subject, body, now, tech)

    def _recovery_notices(self, uow: UnitOfWork, health: SyncHealth, now: datetime) -> list[Notification]:
        assert health.failing_since is not None
        account = uow.accounts.get(health.account_id)
        tech = None if account is None else uow.techs.get(account.tech_id)
        if account is None or tech is None:
            return []
        notices: list[Notification] = []
        outage = now - health.failing_since
        label = self._label(tech, account)
        for audience, level in (
            (Audience.DISPATCHER, HealthLevel.DISPATCHER),
            (Audience.OWNER, HealthLevel.OWNER),
        ):
            if rank(health.level) >= rank(level):
                notices.append(
                    self._notifier.compose(
                        audience,
                        f"{label} syncs again",
                        f"{label} is in sync again after {format_duration(outage)} "
                        f"({self._office_time(health.failing_since)}–{self._office_time(now)}). "
                        "Waiting changes are being sent now; nothing more to do.",
                        now,
                        tech,
                    )
                )
        if rank(health.level) >= rank(HealthLevel.WARNING) or outage >= self.thresholds.warn:
            held = _held_writes(uow, account.id, health.failing_since)
            added = added_during(uow.bookings.list(live_only=True), tech, health.failing_since, now, held)
            if added:
                notices.append(self._summary(uow, tech, added, health.failing_since, now))
        return notices

    def _summary(
        self, uow: UnitOfWork, tech: Technician, added: Sequence[Booking], since: datetime, now: datetime
    ) -> Notification:
        tz = zone(tech.timezone)
        lines = []
        for booking in added:
            customer = uow.customers.get(booking.customer_id)
            when = booking.start.astimezone(tz).strftime("%a %H:%M") if booking.start else "unscheduled"
            lines.append(f"{when} {booking.service} — {customer.name if customer else 'unknown customer'}")
        count = f"{len(added)} job" if len(added) == 1 else f"{len(added)} jobs"
        gap = f"{since.astimezone(tz):%H:%M}–{now.astimezone(tz):%H:%M}"
        body = (
            f"While your calendar was out of reach ({gap}), {count} {'was' if len(added) == 1 else 'were'} "
            f"added: {', '.join(lines)}.\n\nThey are on their way to your calendar now."
        )
        subject = f"{count} added while your calendar was out of reach"
        return self._notifier.compose(Audience.TECH, subject, body, now, tech)

    def _announce(self, account_id: AccountId, added: Sequence[Notification]) -> None:
        self._bus.publish(HealthChanged(account_id))
        for notification in added:
            self._bus.publish(NotificationAdded(notification.id))


def added_during(
    bookings: Sequence[Booking],
    tech: Technician,
    since: datetime,
    until: datetime,
    held: Collection[BookingId] = (),
) -> list[Booking]:
    """Live bookings of `tech` created or changed in [since, until], or whose calendar writes were
    `held` when the outage began, by start time."""

    def inside(instant: datetime | None) -> bool:
        return instant is not None and since <= instant <= until

    chosen = [
        b
        for b in bookings
        if b.tech_id == tech.id
        and b.is_live
        and (b.id in held or inside(b.created_at) or inside(b.updated_at))
    ]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(chosen, key=lambda b: (b.start or far, b.id))


def _note_held_writes(uow: UnitOfWork, account_id: AccountId, at: datetime) -> None:
    """Record the jobs of the account's tech whose calendar writes wait as the outage begins."""
    account = uow.accounts.get(account_id)
    if account is None:
        return
    waiting = sorted({item.booking_id for item in uow.outbox.pending() if item.tech_id == account.tech_id})
    if not waiting:
        return
    uow.audit.record(
        AuditEntry(
            at,
            HELD,
            f"{len(waiting)} calendar write(s) wait until the calendar can be reached again",
            account_id=account_id,
            extra={"bookings": " ".join(waiting)},
        )
    )


def _held_writes(uow: UnitOfWork, account_id: AccountId, since: datetime) -> set[BookingId]:
    """The jobs noted as waiting when the outage that began at `since` started."""
    limit = 500
    while True:
        entries = uow.audit.recent(limit)
        for entry in entries:
            if entry.at < since:
                return set()
            if entry.action == HELD and entry.account_id == account_id:
                return {BookingId(b) for b in entry.extra.get("bookings", "").split()}
        if len(entries) < limit:
            return set()
        limit *= 4
