"""Typed change events. Every use case publishes what it changed after its transaction commits.

Screens and the sync engine subscribe by event type; the Qt bridge turns these into signals.
Handlers run synchronously in the publisher's thread: keep them short and hand work off.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from app.domain.ids import AccountId, BookingId, ConflictId, NotificationId, TechId

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BookingChanged:
    booking_id: BookingId
    tech_ids: tuple[TechId, ...]  # every tech whose schedule changed (old and new on reassign)
    kind: str  # "created", "moved", "reassigned", "cancelled", "edited"


@dataclass(frozen=True, slots=True)
class TechsChanged:
    tech_ids: tuple[TechId, ...]


@dataclass(frozen=True, slots=True)
class BusyChanged:
    """Calendar busy blocks or time off changed for these techs."""

    tech_ids: tuple[TechId, ...]


@dataclass(frozen=True, slots=True)
class ConflictChanged:
    conflict_id: ConflictId
    booking_id: BookingId
    opened: bool


@dataclass(frozen=True, slots=True)
class HealthChanged:
    account_id: AccountId


@dataclass(frozen=True, slots=True)
class AccountsChanged:
    tech_id: TechId


@dataclass(frozen=True, slots=True)
class NotificationAdded:
    notification_id: NotificationId


@dataclass(frozen=True, slots=True)
class OutboxQueued:
    """A provider write is waiting; the engine flushes at once instead of at the next poll."""

    booking_id: BookingId


Event = (
    BookingChanged
    | TechsChanged
    | BusyChanged
    | ConflictChanged
    | HealthChanged
    | AccountsChanged
    | NotificationAdded
    | OutboxQueued
)
E = TypeVar("E")


class Bus:
    """A small synchronous publish/subscribe hub, safe to call from any thread."""

    def __init__(self) -> None:
        self._handlers: dict[type[Any], list[Callable[[Any], None]]] = defaultdict(list)
        self._lock = threading.Lock()

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call `handler` for every event of `event_type`; returns a function that unsubscribes."""
        with self._lock:
            self._handlers[event_type].append(handler)

        def unsubscribe() -> None:
            with self._lock:
                if handler in self._handlers[event_type]:
                    self._handlers[event_type].remove(handler)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            handlers = list(self._handlers.get(type(event), ()))
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                # One broken subscriber must not stop the others or undo a committed change.
                log.exception("event handler failed for %s", type(event).__name__)
