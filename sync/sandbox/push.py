"""Webhook delivery for both emulated providers, off the request threads.

Providers enqueue a notification (URL, headers, body) and return at once; one background thread
POSTs them in order. While paused (`POST /push/pause`) notifications queue up and `resume` flushes
them, which lets tests and demos reproduce late or bunched notifications; `drop` (`POST /push/drop`)
throws the held ones away instead, as if they were lost on the way. Receivers that answer
500/502/503/504 get a few retries with a short backoff, as Google documents for its push channels
(the exact retry schedule is unverified; ours is 3 attempts, 0.2 s then 0.4 s apart).

`deliveries` keeps the recent ones in detail; `totals` counts every finished one by outcome for the
sender's whole life (a long soak outlives the history): "delivered" (2xx), "refused" (any other
status) and "unreachable" (no answer at all: nothing listening, a reset, a timeout).

A notification may carry `on_done`, called on the sender's thread with the final status (None:
unreachable) once delivery is finished, so a provider can react to a notice it could not get
through (Graph then sends a `missed` lifecycle notice). It is not called while the sender stops.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
OUTCOMES = ("delivered", "refused", "unreachable")


@dataclass(frozen=True, slots=True)
class Notification:
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    provider: str = ""
    on_done: Callable[[int | None], None] | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class Delivery:
    notification: Notification
    status: int | None  # None: the receiver could not be reached
    attempts: int
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class PushSender:
    """A background thread that POSTs queued notifications; pausable; never blocks its callers."""

    def __init__(self, timeout: float = 5.0, attempts: int = 3, history: int = 1000) -> None:
        self._timeout = timeout
        self._attempts = attempts
        self._queue: queue.Queue[Notification | None] = queue.Queue()
        self._held: list[Notification] = []
        self._paused = False
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._stopping = threading.Event()
        self.deliveries: deque[Delivery] = deque(maxlen=history)
        self._totals: Counter[str] = Counter()
        self._dropped = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-push", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    @property
    def held(self) -> int:
        with self._lock:
            return len(self._held)

    @property
    def totals(self) -> dict[str, int]:
        """Finished notifications by outcome: delivered, refused, unreachable (each key always present)."""
        with self._lock:
            return {outcome: self._totals[outcome] for outcome in OUTCOMES}

    @property
    def dropped(self) -> int:
        """Held notifications thrown away by `drop_held` so far."""
        with self._lock:
            return self._dropped

    def drop_held(self) -> int:
        """Lose the held notifications; each one's `on_done` hears None (it never got through)."""
        with self._idle:
            dropped, self._held = self._held, []
            self._pending -= len(dropped)
            self._dropped += len(dropped)
            self._idle.notify_all()
        for notification in dropped:  # outside the lock: a reaction may send a notice of its own
            if notification.on_done is not None:
                try:
                    notification.on_done(None)
                except Exception:
                    log.exception("reacting to the notification dropped for %s failed", notification.url)
        return len(dropped)

    def send(self, notification: Notification) -> None:
        with self._lock:
            self._pending += 1
            if self._paused:
                self._held.append(notification)
                return
        self._queue.put(notification)

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            self._paused = paused
            released = [] if paused else self._held
            if not paused:
                self._held = []
        for notification in released:
            self._queue.put(notification)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is queued or in flight (held notifications count as pending)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == len(self._held), timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout, trust_env=False) as client:
            while True:
                notification = self._queue.get()
                if notification is None:
                    return
                try:
                    status = self._deliver(client, notification)
                    if notification.on_done is not None and not self._stopping.is_set():
                        try:
                            notification.on_done(status)
                        except Exception:  # a provider's reaction must not end the sender
                            log.exception("reacting to the delivery to %s failed", notification.url)
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()

    def _deliver(self, client: httpx.Client, notification: Notification) -> int | None:
        status: int | None = None
        error: str | None = None
        attempt = 0
        for attempt in range(1, self._attempts + 1):
            if self._stopping.is_set():
                error = "sandbox stopping"
                break
            try:
                response = client.post(
                    notification.url, headers=dict(notification.headers), content=notification.body
                )
                status, error = response.status_code, None
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            if status is not None and status not in RETRY_STATUSES:
                break
            if attempt < self._attempts and self._stopping.wait(0.2 * 2 ** (attempt - 1)):
                break
        if error is not None or (status is not None and status >= 300):
            log.info("push to %s failed: %s", notification.url, error or status)
        outcome = "unreachable" if status is None else "delivered" if 200 <= status < 300 else "refused"
        with self._lock:
            self._totals[outcome] += 1
        self.deliveries.append(Delivery(notification, status, attempt, error, dict(notification.headers)))
        return status
