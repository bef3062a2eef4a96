"""How the board keeps up with changes: the rows of the few techs a change touched are read and
patched in; everything is read again only when it must be, and then at most once a second.

A stream of sync changes (busy blocks of a few techs every few hundred milliseconds, health
notes, other desks' jobs) would otherwise reload the whole week of every tech several times a
second. Each change event says which techs or jobs it concerns; `PendingChanges` gathers them
until the board asks, and `BoardRefresher` keeps one load in flight at a time: a delta
(`BoardService.rows`) when the changes name a few techs or jobs, a full snapshot when one cannot
be applied as a delta (a change that names no tech, health of an account the board does not show)
or when so many techs changed that one read of all is cheaper. Nothing is dropped: changes that arrive while a
load is in flight, or while a full reload waits for its second, are loaded right after it.

Every load carries a generation; navigation starts a new one at once, so an answer for an older
period (delta or full) never reaches the board.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from PySide6.QtCore import QObject, QTimer

from app.bus import (
    AccountsChanged,
    BookingChanged,
    BusyChanged,
    ConflictChanged,
    HealthChanged,
    TechsChanged,
)
from app.domain.ids import BookingId, TechId
from app.domain.time import Interval
from app.services.board import BoardDelta, BoardService, BoardSnapshot
from ui.board.layout import BoardMode
from ui.worker import DatabaseWorker

REFRESH_DELAY_MS = 60  # gather a burst of change events into one load
FULL_RELOAD_INTERVAL_S = 1.0  # change-driven full reloads start at most this often
DELTA_MIN_LIMIT = 8  # a delta may always name this many techs and jobs; beyond a quarter of the
# rows a full reload is cheaper (one read of everything against one read per tech)


@dataclass(slots=True)
class PendingChanges:
    """What changed since the board's last load: some techs and jobs, or "everything"."""

    full: bool = False
    techs: set[TechId] = field(default_factory=set)
    bookings: set[BookingId] = field(default_factory=set)

    def note(self, event: object, snapshot: BoardSnapshot | None) -> None:
        if isinstance(event, BusyChanged) and event.tech_ids:
            self.techs.update(event.tech_ids)
        elif isinstance(event, TechsChanged) and len(event.tech_ids) == 1:
            self.techs.update(event.tech_ids)  # a tech added, edited or removed: their row alone
        elif isinstance(event, AccountsChanged):
            self.techs.add(event.tech_id)
        elif isinstance(event, BookingChanged):
            self.bookings.add(event.booking_id)
            self.techs.update(event.tech_ids)
        elif isinstance(event, ConflictChanged):
            self.bookings.add(event.booking_id)
        elif isinstance(event, HealthChanged) and (owner := _account_owner(snapshot, event)) is not None:
            self.techs.add(owner)
        else:
            # Techs by the batch (how the feed relay's catch-up says "everything"), a change that
            # names no tech, an account the board does not show, anything new: read it all.
            self.full = True

    @property
    def empty(self) -> bool:
        return not (self.full or self.techs or self.bookings)

    def needs_full(self, rows: int) -> bool:
        return self.full or len(self.techs) + len(self.bookings) > max(DELTA_MIN_LIMIT, rows // 4)

    def add(self, other: PendingChanges) -> None:
        self.full |= other.full
        self.techs |= other.techs
        self.bookings |= other.bookings

    def take(self) -> PendingChanges:
        """Everything noted so far, leaving this empty."""
        taken = PendingChanges(self.full, self.techs, self.bookings)
        self.full, self.techs, self.bookings = False, set(), set()
        return taken


def _account_owner(snapshot: BoardSnapshot | None, event: HealthChanged) -> TechId | None:
    if snapshot is None:
        return None
    return next(
        (row.tech.id for row in snapshot.rows for a in row.accounts if a.id == event.account_id), None
    )


def showing(snapshot: BoardSnapshot, bookings: set[BookingId]) -> set[TechId]:
    """The techs whose rows show any of `bookings` now (a job moved away must leave its old row)."""
    return {row.tech.id for row in snapshot.rows if any(b.id in bookings for b in row.bookings)}


@dataclass(frozen=True, slots=True)
class Shown:
    """The period the board shows: what a load is for."""

    mode: BoardMode
    first: date
    window: Interval


# The window applies a loaded snapshot; `changed` names the techs a delta re-read (None: a full load).
Apply = Callable[[BoardSnapshot, Shown, frozenset[TechId] | None], None]


class BoardRefresher(QObject):
    """Loads the board's snapshot on the worker: in full, or as deltas of the changes noted."""

    def __init__(
        self,
        worker: DatabaseWorker,
        service: BoardService,
        shown: Callable[[], Shown],
        apply: Apply,
        monotonic: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._worker = worker
        self._service = service
        self._shown = shown
        self._apply = apply
        self._monotonic = monotonic
        self._pending = PendingChanges()
        self._generation = 0
        self._in_flight = False
        self._last_full: float | None = None
        self._snapshot: BoardSnapshot | None = None
        self._stopped = False
        self.full_loads = 0  # started, for the benchmark and the tests
        self.delta_loads = 0
        self._gather = QTimer(self)
        self._gather.setSingleShot(True)
        self._gather.setInterval(REFRESH_DELAY_MS)
        self._gather.timeout.connect(self._load_pending)
        self._wait_full = QTimer(self)
        self._wait_full.setSingleShot(True)
        self._wait_full.timeout.connect(self._load_pending)

    @property
    def snapshot(self) -> BoardSnapshot | None:
        return self._snapshot

    @property
    def idle(self) -> bool:
        """Nothing loading and nothing noted: the board shows every change it heard of."""
        return not self._in_flight and self._pending.empty

    def reload(self) -> None:
        """Read everything for the period shown now (navigation, a mode change, a refresh asked for)."""
        if self._stopped:
            return
        self._gather.stop()
        self._wait_full.stop()
        self._pending.take()
        self._load_full()

    def changed(self, event: object) -> None:
        """Note a change event; the board loads it after a short gathering pause."""
        if self._stopped:
            return
        self._pending.note(event, self._snapshot)
        if not self._in_flight and not self._gather.isActive() and not self._wait_full.isActive():
            self._gather.start()

    def stop(self) -> None:
        self._stopped = True
        self._gather.stop()
        self._wait_full.stop()

    # --- loading -----------------------------------------------------------------------------

    def _load_pending(self) -> None:
        if self._stopped or self._in_flight or self._pending.empty:
            return
        snapshot = self._snapshot
        if snapshot is None or self._pending.needs_full(len(snapshot.rows)):
            wait = (
                0.0
                if self._last_full is None
                else self._last_full + FULL_RELOAD_INTERVAL_S - self._monotonic()
            )
            if wait > 0:
                self._wait_full.start(math.ceil(wait * 1000))
                return
            self._pending.take()
            self._load_full()
            return
        changes = self._pending.take()
        self._load_delta(snapshot, changes)

    def _load_full(self) -> None:
        self._generation += 1
        self._in_flight = True
        self._last_full = self._monotonic()
        self.full_loads += 1
        generation, shown, service = self._generation, self._shown(), self._service
        self._worker.run(
            lambda: service.snapshot(shown.window),
            on_done=lambda snap: self._on_full_loaded(generation, shown, snap),
            on_error=lambda error: self._on_failed(generation, PendingChanges(full=True), error),
            context=self,
        )

    def _load_delta(self, snapshot: BoardSnapshot, changes: PendingChanges) -> None:
        self._generation += 1
        self._in_flight = True
        self.delta_loads += 1
        generation, shown, service = self._generation, self._shown(), self._service
        techs = changes.techs | showing(snapshot, changes.bookings)
        bookings = set(changes.bookings)
        self._worker.run(
            lambda: service.rows(shown.window, techs, bookings),
            on_done=lambda delta: self._on_delta_loaded(generation, shown, delta),
            on_error=lambda error: self._on_failed(generation, changes, error),
            context=self,
        )

    def _on_full_loaded(self, generation: int, shown: Shown, snapshot: BoardSnapshot) -> None:
        if generation != self._generation:
            return  # a newer load is in flight; it answers for the period shown now
        self._landed(snapshot, shown, None)

    def _on_delta_loaded(self, generation: int, shown: Shown, delta: BoardDelta) -> None:
        if generation != self._generation or self._snapshot is None:
            return
        self._landed(self._snapshot.patched(delta), shown, delta.tech_ids)

    def _landed(self, snapshot: BoardSnapshot, shown: Shown, changed: frozenset[TechId] | None) -> None:
        self._in_flight = False
        self._snapshot = snapshot
        self._apply(snapshot, shown, changed)
        if not self._pending.empty and not self._stopped:
            self._gather.start()  # what arrived meanwhile, gathered a moment more

    def _on_failed(self, generation: int, changes: PendingChanges, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._in_flight = False
        self._pending.add(changes)  # loaded with the next change rather than retried in a loop
        self._worker.report(error)
