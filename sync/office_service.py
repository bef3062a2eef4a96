"""`crewboard serve`: one office's always-on service, owner of sync or standby, and its web side.

The web side (push routes, /healthz, and whatever the command mounts, such as the booking page)
listens from start to end. Sync, health escalation with its e-mail, and the push channels run only
while this process owns sync (sync.engine.lock): a standby tries for ownership every
RETRY_EVERY seconds and takes over when the owner's lock is released, which PostgreSQL does when
the owner's connection dies. An owner checks its lock connection every CHECK_EVERY seconds; when
the check fails or does not answer in time, it stops syncing at once (its tasks are cancelled,
nothing is sent to a provider afterwards) and goes back to standby.

    service = OfficeService(engine, lock, monitor, push, clock, public_url=...)
    await service.run(stop)

One engine, one monitor and one receiver for the process life; a channel keeper per term of
ownership. Its channels are never stopped at the end of a term, lost or given up: they are the
next owner's (or the next start's) to keep, as they are (sync.channels).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import datetime, timedelta

from app.domain.time import Clock
from app.errors import StorageError
from app.services.sync_owner import Role, ServiceState
from sync.engine import EngineLocked, SyncEngine
from sync.engine.lock import EngineLock, OwnerLock
from sync.health_monitor import HealthMonitor
from sync.wiring import PushSide

log = logging.getLogger(__name__)

RETRY_EVERY = 1.0  # seconds between a standby's tries for ownership
CHECK_EVERY = 1.0  # seconds between an owner's checks of its lock connection
CHECK_TIMEOUT = 3.0  # a check that takes longer than this is a lost connection
HEALTH_EVERY = timedelta(seconds=15)


class OfficeService:
    """Runs `engine`, `monitor` and the push side as one service; see the module docstring."""

    def __init__(
        self,
        engine: SyncEngine,
        lock: EngineLock,
        monitor: HealthMonitor,
        push: PushSide,
        clock: Clock,
        *,
        public_url: str | None = None,
        retry_every: float = RETRY_EVERY,
        check_every: float = CHECK_EVERY,
        health_every: timedelta = HEALTH_EVERY,
    ) -> None:
        self._engine = engine
        self._lock = lock
        self._monitor = monitor
        self._push = push
        self._clock = clock
        self._public_url = public_url
        self._retry_every = retry_every
        self._check_every = check_every
        self._health_every = health_every
        self._role = Role.STANDBY
        self._why = ""
        self._since: datetime | None = None
        self.became_owner = asyncio.Event()  # set at each takeover (tests and benchmarks wait on it)

    def state(self) -> ServiceState:
        return ServiceState(self._role, self._lock.holder, self._since, self._why)

    async def run(self, stop: asyncio.Event) -> None:
        """Stand by or own, until `stop` is set; then give ownership up."""
        try:
            while not stop.is_set():
                if not await self._take_ownership(stop):
                    break
                await self._own(stop)
        finally:
            self._role = Role.STANDBY
            try:
                await asyncio.to_thread(self._lock.release)
            except StorageError as error:  # the advisory lock goes with the session; a row goes stale
                log.warning("giving up sync ownership: %s", error)

    async def _take_ownership(self, stop: asyncio.Event) -> bool:
        """Try every `retry_every` seconds; True once owner, False when stopped first."""
        told = ""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self._lock.acquire)
            except EngineLocked as locked:
                self._role, self._why = Role.STANDBY, ""
                if locked.holder != told:
                    log.info("standing by: sync is owned by %s", locked.holder)
                    told = locked.holder
            except StorageError as error:
                self._role, self._why = Role.UNAVAILABLE, str(error)
                if told != str(error):
                    log.warning("standing by: %s", error)
                    told = str(error)
            else:
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retry_every)
        return False

    async def _own(self, stop: asyncio.Event) -> None:
        """One term of ownership: sync until stopped or until the lock is lost."""
        self._role, self._why = Role.OWNER, ""
        self._since = getattr(self._lock, "since", None) or self._clock.now()
        self.became_owner.set()
        log.info("this service owns sync now, as %s", self._lock.holder)
        term = asyncio.Event()
        keeper = self._push.new_keeper(self._public_url) if self._public_url is not None else None
        work: list[Awaitable[None]] = [
            self._engine.run_forever(term),
            self._monitor.run(term, self._health_every),
        ]
        if keeper is not None:
            work.append(keeper.run(term))
        tasks = [asyncio.ensure_future(item) for item in work]
        watch = asyncio.ensure_future(self._watch(stop))
        try:
            done, _ = await asyncio.wait([watch, *tasks], return_when=asyncio.FIRST_COMPLETED)
            lost = watch in done and watch.result()
            if lost:
                log.warning("this service lost its lock on the store: sync stopped; standing by")
                for task in tasks:
                    task.cancel()  # at once: nothing more goes to a provider from this process
            else:
                term.set()  # a clean stop: rounds end; the channels stay for the next owner
            for task in tasks:
                if task in done:
                    task.result()  # a task that ended by itself failed: say so, as the sync command does
        finally:
            term.set()
            watch.cancel()
            await asyncio.gather(watch, *tasks, return_exceptions=True)
            self._role, self._since = Role.STANDBY, None
            self.became_owner.clear()

    async def _watch(self, stop: asyncio.Event) -> bool:
        """Until stopped (False) or the lock is lost (True): check it every `check_every` seconds."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._check_every)
            if stop.is_set():
                return False
            if not await self._still_owner():
                return True
        return False

    async def _still_owner(self) -> bool:
        lock = self._lock
        if not isinstance(lock, OwnerLock):
            return lock.held  # the lock row: the engine's heartbeat finds out, and says so here
        try:
            return await asyncio.wait_for(asyncio.to_thread(lock.check), CHECK_TIMEOUT)
        except TimeoutError:
            lock.held = False  # no answer in time: as good as lost (the session ends by itself)
            return False
