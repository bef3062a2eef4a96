"""Figures for CalDAV techs: inbound latency (polling) and what an idle calendar costs.

Four technicians keep their calendars on a real Radicale (a subprocess on loopback), each with a
year of events (about 200 objects, weekly series among them), connected through CaldavConnector
(passwords in the keyring). The engine runs `run_forever` with a 10 s poll, jittered, as in the
app; it reaches Radicale through the tests' fault layer, which here only counts requests and bytes.
CalDAV has no push, so polling is the only way in:

- inbound: the phone (the `caldav` client library) adds an event, at random moments in the poll
  cycle, until its busy block is in the store (polled every 2 ms on its own connection);
- outbound: a booking saved until Radicale has stored its VEVENT (the fault layer saw its PUT
  answered 201);
- idle: requests and bytes per calendar, per poll and per hour, over a quiet window.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from app.domain.model import Provider
from app.services.accounts import AccountService
from app.services.bookings import NewBooking
from sync.providers.caldav_auth import CaldavConnector
from tests.bench.common import Figure, from_samples, progress, report
from tests.bench.harness import Connected, EngineThread, Store, store
from tests.bench.latency import Pending, StoreWatcher
from tests.bench.sandbox_proc import AccountSpec
from tests.caldav.faults import FaultProxy
from tests.caldav.harness import ics, vevent
from tests.caldav.radicale import RadicaleServer

TECHS = 4
EVENTS_PER_TECH = 200
INBOUND_EDITS = 24
OUTBOUND = 24
POLL_SECONDS = 10.0
IDLE_WINDOW = 90.0
WAIT = 30.0


def _user(index: int) -> str:
    return f"tech{index}@example.com"


def _seed(radicale: RadicaleServer, user: str, slug: str, rng: random.Random) -> None:
    """A year of a phone's events (one-offs, all-day days, weekly series) written straight into
    Radicale's folder: seeding is not what is measured, and a PUT each takes minutes."""
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    folder = radicale.storage / "collection-root" / user / slug
    for index in range(EVENTS_PER_TECH):
        start = now + timedelta(days=rng.randint(-180, 180), hours=rng.randint(0, 10))
        spec: dict[str, object] = {
            "summary": f"Seed {index}",
            "start": start,
            "end": start + timedelta(hours=1),
        }
        if index % 20 == 0:
            spec["rrule"] = ["RRULE:FREQ=WEEKLY;COUNT=30"]
        if index % 15 == 0:
            day = start.date()
            spec = {"summary": f"Seed {index}", "start_date": day, "end_date": day + timedelta(days=1)}
        uid = f"seed-{index}"
        (folder / f"{uid}.ics").write_bytes(ics([vevent(spec, uid=uid)]))


def run(out: str | None) -> list[Figure]:
    rng = random.Random(18)
    folder = tempfile.TemporaryDirectory(prefix="crewboard-bench-caldav-")
    radicale = RadicaleServer(Path(folder.name) / "radicale")
    paths: dict[str, str] = {}
    for index in range(TECHS):
        radicale.add_user(_user(index), f"app-password-{index}")
    radicale.start()
    proxy = FaultProxy(lambda: radicale.url, hold=1.0)
    try:
        for index in range(TECHS):
            user = _user(index)
            paths[user] = radicale.make_calendar(user, "calendar", "Calendar")
            _seed(radicale, user, "calendar", rng)
        progress(f"Radicale seeded: {TECHS} techs × {EVENTS_PER_TECH} objects")
        with store() as made:
            accounts = AccountService(made.services.uow, made.services.clock, made.bus)
            connected: list[Connected] = []
            for index in range(TECHS):
                user = _user(index)
                tech = made.services.techs.add(
                    f"CalDAV Tech {index}", user, "America/Chicago", hours="mon-sat 07:00-19:00"
                )
                view = accounts.connect(
                    tech.id,
                    Provider.CALDAV,
                    CaldavConnector(proxy.url, user, f"app-password-{index}", made.tokens),
                )
                spec = AccountSpec(
                    "caldav", user, tech.name, "America/Chicago", second_calendar="", year=True
                )
                item = Connected(spec, tech, view.account, view.calendars)
                connected.append(item)
                made.connected.append(item)
            engine = EngineThread(made, poll_seconds=POLL_SECONDS)
            engine.start()
            watcher = StoreWatcher(made.path)
            watching = threading.Thread(target=watcher.run, daemon=True)
            watching.start()
            try:
                first = _wait_for_first_reads(made, connected)
                progress(f"first full reads done in {first:.1f} s")
                figures = [
                    *_idle(proxy, len(connected)),
                    _inbound(radicale, paths, watcher, rng),
                    _outbound(made, proxy, connected),
                ]
            finally:
                watcher.stop.set()
                watching.join(10)
                engine.stop()
    finally:
        proxy.close()
        radicale.stop()
        folder.cleanup()
    report(figures, out)
    return figures


def _wait_for_first_reads(made: Store, connected: list[Connected]) -> float:
    """Seconds until every calendar has a stored cursor: its first full read is committed."""
    started = time.perf_counter()
    deadline = started + 120
    while time.perf_counter() < deadline:
        with made.database.unit_of_work() as uow:
            cursors = [
                c.sync_cursor for item in connected for c in uow.calendars.for_account(item.account.id)
            ]
        if cursors and all(cursors):
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError("the first full reads did not finish within 120 s")


def _idle(proxy: FaultProxy, calendars: int) -> list[Figure]:
    progress(f"idle window: {IDLE_WINDOW:.0f} s")
    begin = time.perf_counter()
    seen = len(proxy.state.exchanges)
    time.sleep(IDLE_WINDOW)
    quiet = [e for e in proxy.state.exchanges[seen:] if e.at >= begin]
    seconds = time.perf_counter() - begin
    per_hour = 3600.0 / seconds
    requests = len(quiet) / calendars * per_hour
    kilobytes = sum(e.sent + e.received for e in quiet) / calendars * per_hour / 1e3
    polls = seconds / POLL_SECONDS
    per_poll = len(quiet) / calendars / polls
    return [
        Figure(
            "caldav_idle_requests",
            "idle cost, CalDAV: requests per calendar per poll",
            "req/cal/poll",
            "≤ 1 request per calendar per poll",
            median=per_poll,
            n=len(quiet),
            value=per_poll,
            limit=1.0,
            note=f"{len(quiet)} requests over {seconds:.0f} s, {calendars} calendars, poll {POLL_SECONDS:.0f} s "
            "(one sync-collection REPORT per calendar per poll)",
        ).judge(),
        Figure(
            "caldav_idle_hour",
            "idle cost, CalDAV: requests and kB per calendar per hour",
            "req/cal/h",
            "—",
            median=requests,
            n=len(quiet),
            value=requests,
            note=f"{kilobytes:.0f} kB per calendar per hour (bodies as decoded, headers counted)",
        ),
    ]


def _inbound(
    radicale: RadicaleServer, paths: dict[str, str], watcher: StoreWatcher, rng: random.Random
) -> Figure:
    progress(f"inbound: {INBOUND_EDITS} phone edits at random moments")
    from caldav.collection import Calendar as PhoneCalendar
    from caldav.davclient import DAVClient

    items: list[Pending] = []
    users = sorted(paths)
    for index in range(INBOUND_EDITS):
        user = users[index % len(users)]
        client = DAVClient(url=radicale.url, username=user, password=radicale.password(user))
        phone = PhoneCalendar(client=client, url=f"{radicale.url}{paths[user]}")
        start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2 + index)
        title = f"Phone edit {index}"
        item = Pending((title, None), 0.0, provider="caldav")
        phone.save_event(
            ics([vevent({"summary": title, "start": start, "end": start + timedelta(hours=1)})]).decode()
        )
        item.edited = time.perf_counter()
        watcher.add(item)
        items.append(item)
        time.sleep(rng.uniform(0.5, POLL_SECONDS))
    deadline = time.perf_counter() + WAIT
    while any(i.found is None for i in items) and time.perf_counter() < deadline:
        time.sleep(0.01)
    samples = [i.found - i.edited for i in items if i.found is not None]
    lost = len(items) - len(samples)
    return from_samples(
        "caldav_inbound_poll",
        "inbound latency, CalDAV (polling 10 s): phone edit → busy block stored",
        samples,
        "s",
        "p95 ≤ 10.5 s",
        10.5,
        note=f"{lost} edits never arrived within {WAIT:.0f} s" if lost else "",
    )


def _outbound(made: Store, proxy: FaultProxy, connected: list[Connected]) -> Figure:
    progress(f"outbound: {OUTBOUND} bookings")
    samples: list[float] = []
    lost = 0
    for index in range(OUTBOUND):
        item = connected[index % len(connected)]
        seen = len(proxy.state.exchanges)
        start = (dt.datetime.now(dt.UTC) + timedelta(days=3 + index % 20)).replace(
            hour=15 + index % 6, minute=0, second=0, microsecond=0
        )
        made.services.bookings.create(
            NewBooking(
                customer=f"Customer {index}",
                service="AC repair",
                duration=timedelta(minutes=60),
                start=start,
                tech=item.tech.id,
                address="12 Elm St",
            ),
            force=True,
        )
        saved = time.perf_counter()
        deadline = saved + WAIT
        found: float | None = None
        while found is None and time.perf_counter() < deadline:
            for exchange in proxy.state.exchanges[seen:]:
                if exchange.method == "PUT" and exchange.status in (201, 204):
                    found = exchange.at
                    break
            time.sleep(0.002)
        if found is None:
            lost += 1
        else:
            samples.append((found - saved) * 1000)
    return from_samples(
        "caldav_outbound",
        "outbound latency, CalDAV: booking saved → VEVENT stored",
        samples,
        "ms",
        "p95 ≤ 500 ms",
        500.0,
        note=f"{lost} never written within {WAIT:.0f} s" if lost else "",
    )


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
