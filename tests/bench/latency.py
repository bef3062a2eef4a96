"""Figures: how long a change takes to cross, each way, with the engine running as in the app.

Four technicians (two Google, two Microsoft), each with a year of events on two calendars, are
connected through their providers' sign-in; the engine runs `run_forever` (poll 10 s, jittered as
it is in the app) on its own loop, with the push receiver on the same loop and a channel watched
on every calendar.

- outbound: a booking saved (BookingService.create returns: the booking and its outbox row are
  committed) until the provider has stored its event (the time the sandbox logged the event's
  successful POST);
- inbound, push: an edit on the tech's phone (the provider's own API, a control-API token) until
  the busy block is in the store (the store is polled every 2 ms on its own connection); edits
  alternate between a new event and moving the previous one;
- inbound, polling: the same with push notifications held by the sandbox (`POST /push/pause`),
  edits spread at random over time so they land anywhere in the poll cycle.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

from app.services.bookings import NewBooking
from storage.types import utc_text
from tests.bench.common import Figure, from_samples, not_measurable, percentile, progress, report
from tests.bench.harness import Connected, EngineThread, Store, connect, store
from tests.bench.phone import Phone
from tests.bench.sandbox_proc import SandboxProcess
from tests.bench.scale import specs

OUTBOUND = 60
PUSH_EDITS = 60
POLL_EDITS = 50
POLL_SECONDS = 10.0
WAIT = 30.0


@dataclass(slots=True)
class Pending:
    check: tuple[str, str | None]  # (title, start as stored text or None)
    edited: float
    found: float | None = None
    provider: str = ""


@dataclass(slots=True)
class StoreWatcher:
    """Polls the store on its own connection for busy blocks with a given title (and start)."""

    path: Path
    every: float = 0.002
    pending: list[Pending] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            while not self.stop.is_set():
                with self.lock:
                    waiting = [p for p in self.pending if p.found is None]
                for item in waiting:
                    title, start = item.check
                    if start is None:
                        row = conn.execute(
                            "SELECT 1 FROM busy_blocks WHERE title = ? LIMIT 1", (title,)
                        ).fetchone()
                    else:
                        row = conn.execute(
                            "SELECT 1 FROM busy_blocks WHERE title = ? AND start = ? LIMIT 1", (title, start)
                        ).fetchone()
                    if row is not None:
                        item.found = time.perf_counter()
                time.sleep(self.every)
        finally:
            conn.close()

    def add(self, item: Pending) -> None:
        with self.lock:
            self.pending.append(item)


def split(samples: list[float], providers: list[str], scale: float) -> str:
    """Median and p95 per provider, for the note."""
    parts = []
    for provider, label in (("google", "Google"), ("microsoft", "Microsoft")):
        mine = [s * scale for s, p in zip(samples, providers, strict=True) if p == provider]
        if mine:
            parts.append(f"{label} median {statistics.median(mine):.0f}, p95 {percentile(mine, 0.95):.0f}")
    return "; ".join(parts)


def edit_slot(index: int) -> tuple[dt.datetime, dt.datetime]:
    base = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2 + index % 20)
    start = base + timedelta(minutes=15 * (index % 30))
    return start, start + timedelta(minutes=45)


def inbound(
    watcher: StoreWatcher,
    phones: list[Phone],
    count: int,
    tag: str,
    spacing: tuple[float, float],
    rng: random.Random,
    providers: list[str],
) -> tuple[list[float], int]:
    """`count` phone edits; the latencies (s) and how many never arrived within WAIT.

    `providers` is filled with the provider of each latency, in order.
    """
    items: list[Pending] = []
    last: dict[int, tuple[str, str]] = {}  # per phone: the event its previous edit created
    for index in range(count):
        which = index % len(phones)
        phone = phones[which]
        start, end = edit_slot(index)
        previous = last.pop(which, None)
        if previous is not None:
            # Each event is moved once, so no edit is overtaken by a later one before it is read.
            title, event_id = previous
            item = Pending((title, utc_text(start)), 0.0)
            item.edited = time.perf_counter()
            phone.move(event_id, start, end)
        else:
            title = f"{tag} edit {index}"
            item = Pending((title, None), 0.0)
            item.edited = time.perf_counter()
            event_id = phone.create(title, start, end)
            last[which] = (title, event_id)
        item.provider = phone.provider
        watcher.add(item)
        items.append(item)
        if spacing[1] > 0:
            time.sleep(rng.uniform(*spacing))
        else:
            deadline = time.perf_counter() + WAIT
            while item.found is None and time.perf_counter() < deadline:
                time.sleep(0.002)
    deadline = time.perf_counter() + WAIT
    while any(i.found is None for i in items) and time.perf_counter() < deadline:
        time.sleep(0.01)
    arrived = [(i.found - i.edited, i.provider) for i in items if i.found is not None]
    providers[:] = [provider for _, provider in arrived]
    return [latency for latency, _ in arrived], len(items) - len(arrived)


def outbound(
    made: Store, urls: dict[str, str], connected: list[Connected], count: int, providers: list[str]
) -> tuple[list[float], int]:
    control = urls["control"]
    latencies: list[float] = []
    lost = 0
    with httpx.Client(base_url=control, timeout=30) as client:
        for index in range(count):
            item = connected[index % len(connected)]
            entries = client.get("/requests", params={"account": item.spec.email}).json()
            seq = max((int(e["seq"]) for e in entries), default=0)
            start, _ = edit_slot(index + 7)
            start = start.replace(hour=(start.hour % 8) + 14)
            made.services.bookings.create(
                NewBooking(
                    customer=f"Customer {index}",
                    service="AC repair",
                    duration=timedelta(minutes=60),
                    start=start,
                    tech=item.tech.id,
                    address="12 Elm St",
                    notes="Gate code 4411",
                ),
                force=True,
            )
            saved = dt.datetime.now(dt.UTC)
            found: dt.datetime | None = None
            deadline = time.perf_counter() + WAIT
            while found is None and time.perf_counter() < deadline:
                time.sleep(0.02)
                entries = client.get(
                    "/requests", params={"account": item.spec.email, "since": str(seq)}
                ).json()
                for entry in entries:
                    if (
                        entry["method"] == "POST"
                        and str(entry["path"]).endswith("/events")
                        and entry["status"]
                        in (
                            200,
                            201,
                        )
                    ):
                        found = dt.datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))
                        break
            if found is None:
                lost += 1
            else:
                latencies.append((found - saved).total_seconds())
                providers.append(item.spec.provider)
    return latencies, lost


def run(out: str | None) -> list[Figure]:
    accounts = specs(4, prefix="latency")
    rng = random.Random(11)
    push_providers: list[str] = []
    poll_providers: list[str] = []
    figures: list[Figure] = []
    with SandboxProcess() as box, store() as made:
        box.seed(accounts)
        connected = connect(made, box.urls, accounts)
        engine = EngineThread(made, poll_seconds=POLL_SECONDS)
        watcher = StoreWatcher(made.path)
        watch_thread = threading.Thread(target=watcher.run, name="bench-store-watch", daemon=True)
        phones = [Phone(box.urls, a.provider, a.email) for a in accounts]
        try:
            engine.call(engine.engine.run_once(), timeout=300)
            channels = engine.start_push()
            engine.start()
            watch_thread.start()
            progress(f"latency: engine running, {channels} push channels")

            out_providers: list[str] = []
            out_s, out_lost = outbound(made, box.urls, connected, OUTBOUND, out_providers)
            progress(f"latency: outbound {len(out_s)} bookings")
            figures.append(
                from_samples(
                    "outbound",
                    "outbound latency: booking saved → event at the provider",
                    [s * 1000 for s in out_s],
                    "ms",
                    "p95 ≤ 500 ms",
                    500.0,
                    note=f"{OUTBOUND} bookings, Google and Microsoft alternating; {split(out_s, out_providers, 1000)}"
                    + (f"; {out_lost} not written within {WAIT:.0f} s" if out_lost else ""),
                )
            )

            push_s, push_lost = inbound(watcher, phones, PUSH_EDITS, "push", (0.0, 0.0), rng, push_providers)
            deliveries = httpx.get(f"{box.urls['control']}/push", timeout=30).json()["deliveries"]
            delivered = sum(1 for d in deliveries if d["status"] in (200, 202))
            progress(f"latency: push {len(push_s)} edits, {delivered} notices delivered")
            if channels == 0 or delivered == 0:
                figures.append(
                    not_measurable(
                        "inbound_push",
                        "inbound latency, push: phone edit → busy block stored",
                        "ms",
                        "p95 ≤ 500 ms",
                        "no push notice reached the receiver",
                    )
                )
            else:
                figures.append(
                    from_samples(
                        "inbound_push",
                        "inbound latency, push: phone edit → busy block stored",
                        [s * 1000 for s in push_s],
                        "ms",
                        "p95 ≤ 500 ms",
                        500.0,
                        note=(
                            f"{PUSH_EDITS} edits (new events and moves), one at a time; "
                            f"{split(push_s, push_providers, 1000)}; {delivered} notices delivered; channels made "
                            "by the ChannelKeeper, as `crewboard sync --listen` does"
                            + (f"; {push_lost} not stored within {WAIT:.0f} s" if push_lost else "")
                        ),
                    )
                )

            httpx.post(f"{box.urls['control']}/push/pause", timeout=30).raise_for_status()
            # Push first would wait for the 4-6 min safety net to find the silence; here push is off
            # as far as the engine knows (as after a failed renewal), so it polls every calendar.
            for item in connected:
                for calendar in item.calendars:
                    engine.engine.polls.failed(calendar.id)
            poll_s, poll_lost = inbound(watcher, phones, POLL_EDITS, "poll", (0.5, 1.5), rng, poll_providers)
            httpx.post(f"{box.urls['control']}/push/resume", timeout=30).raise_for_status()
            progress(f"latency: polling {len(poll_s)} edits")
            figures.append(
                from_samples(
                    "inbound_poll",
                    "inbound latency, polling (push paused, poll 10 s)",
                    poll_s,
                    "s",
                    "p95 ≤ 10.5 s",
                    POLL_SECONDS + 0.5,
                    note=(
                        f"{POLL_EDITS} edits 0.5–1.5 s apart; the engine's poll is jittered ±20 % (8–12 s); "
                        f"max {max(poll_s, default=0):.1f} s, "
                        f"{sum(1 for s in poll_s if s > POLL_SECONDS + 0.5)} over {POLL_SECONDS + 0.5:.1f} s; "
                        f"{split(poll_s, poll_providers, 1)}"
                        + (f"; {poll_lost} not stored within {WAIT:.0f} s" if poll_lost else "")
                    ),
                )
            )
        finally:
            watcher.stop.set()
            for phone in phones:
                phone.close()
            engine.stop()
    report(figures, out)
    return figures


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
