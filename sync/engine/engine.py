"""Over 500 lines: a round's reads, flushes and their bookkeeping share one lock and one report.

The sync engine: a round reads every calendar of every connected account, then flushes the outbox.

`run_forever` repeats rounds on a short jittered poll, flushes at once when a booking change queues
a write (app.bus.OutboxQueued, published from any thread), and reads a calendar at once when
`request_read` is called (the push receiver does). Provider trouble is recorded per account and
never raised: bookings keep saving, writes wait in the outbox. All database work runs on one
worker thread, so the engine can share a GUI's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Container, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.bus import Bus, BusyChanged, ConflictChanged, NotificationAdded, OutboxQueued
from app.domain.ids import AccountId, CalendarId, TechId
from app.domain.model import AccountStatus, CalendarAccount
from app.domain.time import Clock
from app.services.accounts import AccountService
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from sync.core.guard import MassDeleteGuard
from sync.engine.alerts import Alerts
from sync.engine.booking_state import is_waiting
from sync.engine.errors import EngineLocked
from sync.engine.feed_pruning import FeedPruner
from sync.engine.inbound import CalendarReader, ReadOutcome
from sync.engine.lock import HEARTBEAT_EVERY, EngineLock
from sync.engine.outbound import FlushReport, OutboxFlusher
from sync.engine.ownership import store_key
from sync.engine.pacing_record import store_pacing
from sync.engine.poll_book import PollBook
from sync.engine.ports import Direction, HealthRecorder, ProviderFor, StoreHealthRecorder
from sync.engine.providers import ProviderPool
from sync.engine.read_pacer import ReadPacer, Wanted, techs_with_jobs_soon
from sync.engine.read_snapshot import RoundSnapshot, snapshot
from sync.engine.round_report import AccountReport, RoundReport
from sync.engine.success_throttle import SuccessThrottle
from sync.engine.worker import DbWorker
from sync.providers.errors import AuthExpired, ProviderError

log = logging.getLogger(__name__)

# A flush that made the engine re-read calendars (a 412) or moved bookings after the tech plans
# again at most this many times a round.
MAX_FLUSH_PASSES = 3
# Accounts read at once in a round (see `_read_all`); calendars of one account are read in turn.
# At the 100-200 ms a provider takes to answer, 16 in flight read 2,000 calendars in about 20 s
# (8 took 40 s). More would reach the pacer's ceiling (150 reads a second) but costs CPU in
# switching between the reads' threads: a quiet round of 400 calendars on loopback took 0.42 s
# of CPU at 8, 0.53 s at 16 and 0.62 s at 32 (docs/benchmarks.md).
READ_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class _Target:
    account: CalendarAccount
    tech_name: str
    calendars: tuple[CalendarId, ...]


class SyncEngine:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        provider_for: ProviderFor,
        clock: Clock,
        bus: Bus,
        *,
        poll_seconds: float = 10.0,
        jitter: float = 0.2,
        horizon_days: int = 120,
        health: HealthRecorder | None = None,
        holder_name: str = "crewboard sync",
        guard: MassDeleteGuard | None = None,
        rng: random.Random | None = None,
        lock: EngineLock | None = None,
        polls: PollBook | None = None,
        pacer: ReadPacer | None = None,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._bus = bus
        self.poll_seconds = poll_seconds
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._db = DbWorker(uow_factory)
        self._providers = ProviderPool(provider_for)
        self._reader = CalendarReader(self._db, clock, horizon_days=horizon_days, guard=guard)
        self._flusher = OutboxFlusher(self._db, clock, self._providers, rng=self._rng)
        # Repeated "still fine" is written once a minute, not every round (success_throttle.py).
        self._health: HealthRecorder = SuccessThrottle(health or StoreHealthRecorder(uow_factory))
        self._lock = lock or EngineLock(uow_factory, clock, holder_name)
        self._work = asyncio.Lock()
        self._requests = threading.Lock()
        self._pending_reads: set[CalendarId] = set()
        self._flush_wanted = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.locked_by: str | None = None
        self._keyed = False  # the store's event ownership key exists
        # Push first: which calendars a poll round reads (sync.core.poll_schedule); the push side
        # tells it of notices and channels through `polls`.
        self.polls = polls or PollBook(clock)
        # Quota pacing: a poll round sends the due reads the providers' limits allow, urgent first.
        self.pacer = pacer or ReadPacer(clock)
        # The owner's upkeep between rounds: the change feed keeps about a day (feed_pruning.py).
        self.feed_pruner = FeedPruner(uow_factory, clock)

    # --- public hooks -----------------------------------------------------------------------

    @property
    def holder(self) -> str:
        """How this engine names itself in the lock: "crewboard sync (pid N on host H)"."""
        return self._lock.holder

    @property
    def accept_mass_delete(self) -> bool:
        return self._reader.accept_mass_delete

    @accept_mass_delete.setter
    def accept_mass_delete(self, value: bool) -> None:
        """Apply a batch the mass-delete guard refused (after a person checked the account)."""
        self._reader.accept_mass_delete = value

    def request_read(self, calendar_id: CalendarId) -> None:
        """Read this calendar at once (a push notification said it changed). Safe from any thread.

        The notice is also a sign that the calendar's channel works (`polls`: push first)."""
        self.polls.noticed(calendar_id)
        with self._requests:
            self._pending_reads.add(calendar_id)
        self._poke()

    @property
    def providers(self) -> ProviderPool:
        """The open provider of each account; whoever shares it must not close it (`aclose` does)."""
        return self._providers

    def request_flush(self) -> None:
        """Send queued writes at once. Safe from any thread (bus handlers call it)."""
        with self._requests:
            self._flush_wanted = True
        self._poke()

    # --- one round --------------------------------------------------------------------------

    async def run_once(self) -> RoundReport:
        """Read every calendar of every connected account, then flush the outbox.

        Raises EngineLocked when another engine holds the lock; provider failures never raise.
        """
        return await self._round(None)

    async def run_due(self) -> RoundReport:
        """A poll round: read the calendars due (`polls`: push-first) that the quota pacer admits
        (`pacer`: urgent first, the rest wait for a later round), then flush the outbox."""
        # While reads are being paced, today's jobs make their techs' calendars urgent too.
        now = self._clock.now()
        busy: frozenset[TechId] = frozenset()
        if self.pacer.pacing is not None:
            busy = await self._db.read(lambda uow: techs_with_jobs_soon(uow, now))
        try:
            return await self._round(lambda targets: self._admitted(targets, busy))
        finally:
            await self._report_pacing()

    def _admitted(self, targets: Sequence[_Target], busy: frozenset[TechId]) -> Container[CalendarId]:
        due = self.polls.due()
        wanted = [
            Wanted(
                calendar_id, target.account, self.polls.priority(calendar_id, target.account.tech_id in busy)
            )
            for target in targets
            if target.account.status is AccountStatus.CONNECTED
            for calendar_id in target.calendars
            if calendar_id in due
        ]
        # Within a priority the pacer keeps this order: the longest unread first, so none starves.
        oldest = datetime.min.replace(tzinfo=UTC)
        wanted.sort(key=lambda w: self.polls.last_read(w.calendar_id) or oldest)
        return self.pacer.choose(wanted)

    async def _report_pacing(self) -> None:
        changed, pacing = self.pacer.report()
        if changed:
            await self._db.write(lambda uow: store_pacing(uow, pacing))

    async def _run_requested(self) -> RoundReport | None:
        """Serve push-triggered reads and bus-triggered flushes between polls."""
        with self._requests:
            reads = set(self._pending_reads)
            flush = self._flush_wanted
            self._pending_reads.clear()
            self._flush_wanted = False
        if not reads and not flush:
            return None
        return await self._round(reads)

    async def _round(
        self, only: Container[CalendarId] | Callable[[Sequence[_Target]], Container[CalendarId]] | None
    ) -> RoundReport:
        """Read the connected accounts' calendars (`only` these, when given), then flush the outbox.

        A full round (`only` None) also serves every read and flush requested until it holds the lock.
        """
        async with self._work:
            await self._hold_lock()
            if only is None:
                with self._requests:
                    self._pending_reads.clear()
                    self._flush_wanted = False
            report = RoundReport(self._clock.now())
            targets, snapshot = await self._db.read(_targets)
            if callable(only):
                only = only(targets)
            blocked: set[AccountId] = set()
            self._reader.begin_round(snapshot)
            try:
                await self._read_all(targets, report, blocked, only=only)
                await self._flush(report, blocked, targets)
                await self._reader.end_round()
            finally:
                self._reader.abandon_round()
            await self._record_successes(report)
            return report

    async def _hold_lock(self) -> None:
        try:
            await self._db.call(self._lock.ensure)
        except EngineLocked as locked:
            if self.locked_by != locked.holder:
                log.warning("%s", locked)
            self.locked_by = locked.holder
            raise
        self.locked_by = None
        if not self._keyed:
            # Made in a unit of work of its own, before any read stores a claim checked with it
            # (on an upgraded store, making it also forgets the claims nothing proved).
            await self._db.write(store_key)
            self._keyed = True

    def _account_report(self, report: RoundReport, target: _Target) -> None:
        account = target.account
        report.accounts[account.id] = AccountReport(
            account.id,
            target.tech_name,
            account.email,
            account.provider,
            account.status,
        )

    async def _read_all(
        self,
        targets: Sequence[_Target],
        report: RoundReport,
        blocked: set[AccountId],
        only: Container[CalendarId] | None = None,
    ) -> None:
        """Read the connected accounts' calendars, several accounts at a time.

        Each request to a provider waits tens of milliseconds on the network, so reading 400
        calendars one after another would outlast the poll interval. Accounts are independent
        (each has its own provider connection; the store serializes the writes), while the
        calendars of one account are read in turn to keep within its per-mailbox limits.
        """
        gate = asyncio.Semaphore(READ_CONCURRENCY)

        async def read_account(target: _Target) -> None:
            async with gate:
                for calendar_id in target.calendars:
                    if target.account.id in blocked:
                        break
                    if only is None or calendar_id in only:
                        await self._read(target.account, calendar_id, report, blocked)

        for target in targets:
            self._account_report(report, target)
        async with asyncio.TaskGroup() as group:
            for target in targets:
                if target.account.status is AccountStatus.CONNECTED:
                    group.create_task(read_account(target))

    async def _read(
        self, account: CalendarAccount, calendar_id: CalendarId, report: RoundReport, blocked: set[AccountId]
    ) -> None:
        entry = report.accounts.get(account.id)
        started = self._clock.now()
        self.pacer.spend(account, calendar_id)
        try:
            provider = await self._providers.get(account)
            outcome = await self._reader.read(calendar_id, provider)
        except AuthExpired as error:
            await self._auth_expired(account.id, str(error), report, blocked)
            return
        except ProviderError as error:
            await self._failed(account.id, str(error), report)
            return
        except Exception as error:
            log.exception("reading calendar %s failed", calendar_id)
            await self._failed(account.id, f"Unexpected error while reading the calendar: {error}", report)
            return
        report.calendars_read += 1
        report.events_stored += outcome.stored + outcome.deleted
        if entry is not None:
            entry.calendars_read += 1
            entry.events += outcome.stored + outcome.deleted
        if outcome.refused is not None:
            report.refused.append(outcome.refused)
            await self._failed(account.id, outcome.refused, report)
            return
        report.succeeded.setdefault(account.id, set()).add(Direction.READ)
        self.polls.read(calendar_id, started, not outcome.full and bool(outcome.stored or outcome.deleted))
        self._announce_read(outcome)

    async def _record_successes(self, report: RoundReport) -> None:
        """An account is healthy when nothing of it failed this round (a good read with failing
        writes is still an outage)."""
        now = self._clock.now()
        backlog = await self._db.read(_failing_writes)
        for account_id, kinds in report.succeeded.items():
            if account_id in report.errors:
                continue
            if Direction.WRITE not in kinds and account_id in backlog:
                continue  # reads work, but its writes are still failing: the outage goes on
            for kind in sorted(kinds, key=lambda k: k.value):
                await self._succeeded(account_id, now, kind)

    async def _succeeded(self, account_id: AccountId, at: datetime, kind: Direction) -> None:
        await self._db.call(lambda: self._health.succeeded(account_id, at, kind))

    async def _flush(self, report: RoundReport, blocked: set[AccountId], targets: Sequence[_Target]) -> None:
        by_id = {t.account.id: t for t in targets}
        for _ in range(MAX_FLUSH_PASSES):
            flushed = await self._flusher.flush(blocked)
            await self._absorb(flushed, report, blocked)
            reread = flushed.reread
            # A booking moved after the tech is queued once more (to write back the text we own):
            # that pass belongs to this round too.
            if not reread and not flushed.changed:
                return
            for target in by_id.values():
                if target.account.status is not AccountStatus.CONNECTED or target.account.id in blocked:
                    continue
                for calendar_id in target.calendars:
                    if calendar_id in reread:
                        await self._read(target.account, calendar_id, report, blocked)

    async def _absorb(self, flushed: FlushReport, report: RoundReport, blocked: set[AccountId]) -> None:
        report.writes += flushed.writes
        report.bookings_synced += len(flushed.done)
        report.bookings_moved += len(flushed.changed)
        for account_id, reason in flushed.auth_expired.items():
            await self._auth_expired(account_id, reason, report, blocked)
        for account_id, error in flushed.failed.items():
            await self._failed(account_id, error, report)
        for account_id in flushed.wrote - set(flushed.failed) - set(flushed.auth_expired):
            report.succeeded.setdefault(account_id, set()).add(Direction.WRITE)
            entry = report.accounts.get(account_id)
            if entry is not None:
                entry.writes += 1
        for change in flushed.changed:
            self._bus.publish(change)
        if flushed.changed:
            techs = tuple(dict.fromkeys(t for c in flushed.changed for t in c.tech_ids))
            self._bus.publish(BusyChanged(techs))
        self._announce_alerts(flushed.alerts, report)

    async def _failed(self, account_id: AccountId, error: str, report: RoundReport) -> None:
        report.errors[account_id] = error
        entry = report.accounts.get(account_id)
        if entry is not None:
            entry.error = error
        now = self._clock.now()
        log.info("calendar account %s: %s", account_id, error)
        await self._db.call(lambda: self._health.failed(account_id, now, error))

    async def _auth_expired(
        self, account_id: AccountId, reason: str, report: RoundReport, blocked: set[AccountId]
    ) -> None:
        """Stop the account's work, keep its data, and ask for a reconnect (once)."""
        blocked.add(account_id)
        await self._providers.drop(account_id)
        service = AccountService(self._uow, self._clock, self._bus)
        await self._db.call(lambda: service.mark_needs_reconnect(account_id, reason))
        report.errors[account_id] = reason
        entry = report.accounts.get(account_id)
        if entry is not None:
            entry.error = reason
            entry.status = AccountStatus.NEEDS_RECONNECT

    def _announce_read(self, outcome: ReadOutcome) -> None:
        if outcome.tech_id is not None and (outcome.stored or outcome.deleted or outcome.full):
            self._bus.publish(BusyChanged((outcome.tech_id,)))
        self._announce_alerts(outcome.alerts, None)

    def _announce_alerts(self, alerts: Alerts, report: RoundReport | None) -> None:
        for conflict in alerts.opened:
            self._bus.publish(ConflictChanged(conflict.id, conflict.booking_id, True))
        for conflict in alerts.closed:
            self._bus.publish(ConflictChanged(conflict.id, conflict.booking_id, False))
        for notification_id in alerts.notifications:
            self._bus.publish(NotificationAdded(notification_id))
        if report is not None:
            report.conflicts_opened += len(alerts.opened)
            report.conflicts_closed += len(alerts.closed)

    # --- running ----------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Sync until `stop` is set: rounds on a jittered poll, flushes and reads on request."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._wake = asyncio.Event()
        unsubscribe = self._bus.subscribe(OutboxQueued, lambda _event: self.request_flush())
        heartbeat = asyncio.create_task(self._keep_lock_alive(stop))
        next_round = loop.time()
        try:
            while not stop.is_set():
                if loop.time() >= next_round:
                    next_round = loop.time() + self._interval()
                    await self._guarded(self.run_due())
                    await self.feed_pruner.upkeep(self._lock.held, self._db.call)
                else:
                    await self._guarded(self._run_requested())
                with self._requests:
                    more = bool(self._pending_reads) or self._flush_wanted
                if more and self.locked_by is None:
                    continue
                await self._sleep(stop, max(0.0, next_round - loop.time()))
        finally:
            unsubscribe()
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            self._wake = None
            self._loop = None
            await self._release()

    async def _keep_lock_alive(self, stop: asyncio.Event) -> None:
        """Renew the lock on time even through long rounds or long polls."""
        every = HEARTBEAT_EVERY.total_seconds()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set() or not self._lock.held:
                continue
            try:
                await self._db.call(self._lock.beat)
            except EngineLocked as locked:
                log.warning("%s", locked)
                self.locked_by = locked.holder
            except Exception:
                log.exception("renewing the sync lock failed; trying again")

    async def _guarded(self, work: Awaitable[object]) -> None:
        try:
            await work
        except EngineLocked:
            pass  # read-only: logged once by _hold_lock; tried again next round
        except Exception:
            log.exception("sync round failed; trying again at the next poll")

    def _interval(self) -> float:
        spread = self.poll_seconds * self.jitter
        return max(0.1, self.poll_seconds + self._rng.uniform(-spread, spread))

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait for `seconds`, or less when stopped or poked."""
        wake = self._wake
        assert wake is not None
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            for waiter in waiters:
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
            wake.clear()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            loop.call_soon_threadsafe(wake.set)

    async def _release(self) -> None:
        try:
            await self._db.call(self._lock.release)
        except Exception:
            log.exception("releasing the sync lock failed; it goes stale in a minute")

    async def aclose(self) -> None:
        """Release the lock, close every provider and the database thread."""
        async with self._work:
            await self._release()
            await self._providers.aclose()
            self._db.close()


def _targets(uow: UnitOfWork) -> tuple[list[_Target], RoundSnapshot]:
    """Every account with a technician, and its calendars primary first; what their reads know.

    Four queries, whatever the number of accounts (each round asks: one query per account and
    per technician cost about a tenth of a quiet round at 1,000 accounts).
    """
    techs = {t.id: t for t in uow.techs.list(include_inactive=True)}
    calendars: dict[AccountId, list[CalendarId]] = {}
    listed = uow.calendars.list()
    for calendar in listed:  # primary first within each account, as for_account
        calendars.setdefault(calendar.account_id, []).append(calendar.id)
    accounts = uow.accounts.list()
    found: list[_Target] = []
    for account in accounts:
        if account.status is AccountStatus.DISCONNECTED:
            continue
        tech = techs.get(account.tech_id)
        if tech is None:
            continue
        found.append(_Target(account, tech.name, tuple(calendars.get(account.id, ()))))
    return found, snapshot(uow, listed, {a.id: a for a in accounts}, techs)


def _failing_writes(uow: UnitOfWork) -> set[AccountId]:
    """Accounts whose technician has outbox writes that failed and wait for a retry."""
    techs = {
        item.tech_id
        for item in uow.outbox.pending()
        if item.tech_id is not None and item.attempts > 0 and item.last_error and not is_waiting(item)
    }
    return {a.id for a in uow.accounts.list() if a.tech_id in techs}
