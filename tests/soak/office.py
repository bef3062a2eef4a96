"""`python -m tests.soak --office`: an office on PostgreSQL under chaos.

Two desk processes book, move, reassign and cancel at random on one PostgreSQL store (a server
started for the soak); two `crewboard serve` processes share sync, and the owner is SIGKILLed
every few seconds (a new one joins each time, so a standby is always waiting); the PostgreSQL
server itself is restarted twice mid-run. Then one service runs until no write waits, and the
providers' calendars are read fresh through the product's adapters. Invariants: every booking a
desk saved is in the store (nothing lost); every live booking with a tech has exactly one event
on its tech's calendar and no cancelled or unassigned one has any (nothing doubled or left over).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from app.domain.model import BookingStatus, CalendarAccount, Provider, RemoteEvent
from app.services.container import Services
from storage.database import Database, open_database
from sync.engine.booking_state import is_waiting
from sync.providers.secrets import TokenStore
from sync.sandbox.server import Sandbox
from tests.children import child_python_path
from tests.office.serve_process import ServeProcess, owner_of
from tests.pg import fresh_database, migrate_template, start_server, stopped_if_we_die
from tests.soak.runner import (
    ROOT,
    SoakConfig,
    SoakResult,
    Tech,
    _env,
    connect_tech,
    provider_truth,
    token_refs,
)

Truth = dict[str, tuple[CalendarAccount, dict[str, Any], list[RemoteEvent]]]

DESKS = 2
RESTARTS = 2  # PostgreSQL restarts during the chaos phase
SETTLE_QUIET = 3.0  # seconds with no write waiting before the store counts as settled


def _desk(
    url: str, names: list[str], seed: int, seconds: float, out: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """One desk: tests.soak.office_desk in a process of its own, with its own connections."""
    command = [sys.executable, "-m", "tests.soak.office_desk", url, str(seed), str(seconds), str(out), *names]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL)


def _owner(serves: list[ServeProcess]) -> ServeProcess | None:
    for serve in serves:
        answer = serve.healthz()
        if answer is not None and owner_of(answer) == serve.pid and answer[1]["status"] == "owner":
            return serve
    return None


def run_office_soak(config: SoakConfig, store: TokenStore | None = None) -> SoakResult:
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    result = SoakResult(seed=seed)
    began = time.monotonic()
    store = store or TokenStore()
    store.check()

    def say(text: str) -> None:
        if config.echo:
            print(f"[{time.monotonic() - began:6.1f}s] {text}", flush=True)

    server = start_server()
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        stack.enter_context(stopped_if_we_die(server))
        migrate_template(server)
        url = stack.enter_context(fresh_database(server))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crewboard-office-soak-")))
        env = {**_env(workdir), "PYTHONPATH": child_python_path()}
        sandbox = Sandbox(timeout_hold=config.timeout_hold)
        sandbox.start()
        stack.callback(sandbox.stop)
        control = stack.enter_context(
            httpx.Client(base_url=sandbox.urls.control, timeout=15, trust_env=False)
        )
        database = open_database(url, desk="soak-setup")
        stack.callback(database.dispose)
        services = Services.build(database.unit_of_work)
        techs: list[Tech] = []

        def forget() -> None:
            for tech in techs:
                tech.phone.close()
            for ref in token_refs(techs):
                store.delete(ref)

        stack.callback(forget)
        for n in range(config.techs):
            provider = Provider.GOOGLE if n % 2 == 0 else Provider.MICROSOFT
            techs.append(connect_tech(sandbox, control, services, store, n + 1, provider))
        say(f"office soak: {len(techs)} techs on PostgreSQL (seed {seed})")

        serves: list[ServeProcess] = []

        def stop_all() -> None:
            for serve in serves:
                serve.stop(signal.SIGKILL)

        stack.callback(stop_all)

        def join() -> None:
            serves.append(ServeProcess.start(url, workdir / f"serve-{len(serves)}", poll=config.poll))

        join()
        join()
        started = time.monotonic()
        while _owner(serves) is None:  # one of the two takes ownership, the other stands by
            if time.monotonic() - started > 60:
                raise RuntimeError("neither crewboard serve took ownership within a minute")
            time.sleep(0.2)
        outs = [workdir / f"desk-{n}.json" for n in range(DESKS)]
        desks = [
            _desk(url, [t.name for t in techs], rng.randrange(1 << 30), config.seconds, out, env)
            for out in outs
        ]
        chaos_end = time.monotonic() + config.seconds
        restarts_at = sorted(
            time.monotonic() + config.seconds * (k + 1) / (RESTARTS + 1) for k in range(RESTARTS)
        )
        next_kill = time.monotonic() + rng.uniform(*config.kill_every)
        while time.monotonic() < chaos_end:
            if restarts_at and time.monotonic() >= restarts_at[0]:
                restarts_at.pop(0)
                server.halt()
                time.sleep(rng.uniform(0.5, 3.0))  # the store is gone for a while
                server.resume()
                result.operations["PostgreSQL restarted"] += 1
                say("PostgreSQL restarted")
            if time.monotonic() >= next_kill:
                owner = _owner(serves)
                if owner is not None:
                    owner.stop(signal.SIGKILL)
                    serves.remove(owner)
                    result.kills += 1
                    join()
                    result.restarts += 1
                next_kill = time.monotonic() + rng.uniform(*config.kill_every)
            time.sleep(0.2)
        for desk in desks:
            if desk.wait(timeout=120) != 0:
                result.failures.append(f"a desk process exited with {desk.returncode}")
        stop_all()
        serves.clear()
        say(f"chaos over: {result.kills} owners killed; settling with one service")

        created: list[str] = []
        for out in outs:
            with contextlib.suppress(FileNotFoundError):
                data = json.loads(out.read_text("utf-8"))
                created += data["created"]
                result.operations.update(Counter(data["operations"]))
        join()
        serves[0].wait_owner()
        deadline = time.monotonic() + config.settle_seconds
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            with database.unit_of_work(read_only=True) as uow:
                waiting = [item for item in uow.outbox.pending() if not is_waiting(item)]
            if waiting:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= SETTLE_QUIET:
                break
            time.sleep(0.5)
        else:
            result.failures.append("writes still waited in the outbox when the settle time ran out")
        if serves[0].stop(signal.SIGTERM) != 0:
            result.failures.append(f"the settling service did not stop cleanly: {serves[0].stderr()[-300:]}")
        serves.clear()
        result.requests = len(control.get("/requests").json())
        say("settled; checking the providers' calendars")
        _check(database, asyncio.run(provider_truth(database, store)), created, result)
    result.seconds = time.monotonic() - began
    return result


def _check(database: Database, truth: Truth, created: list[str], result: SoakResult) -> None:
    with database.unit_of_work(read_only=True) as uow:
        bookings = {b.id: b for b in uow.bookings.list(live_only=False)}
        accounts = {a.tech_id: a.id for a in uow.accounts.list()}
    missing = [b for b in created if b not in bookings]
    if missing:
        result.lost += len(missing)
        result.failures.append(f"{len(missing)} booking(s) a desk saved are missing from the store")
    events: dict[str, list[str]] = {}
    for calendar_id, (_account, _info, found) in truth.items():
        for event in found:
            if event.booking_id is not None:
                events.setdefault(event.booking_id, []).append(calendar_id)
    result.booking_events = sum(len(v) for v in events.values())
    live = [b for b in bookings.values() if b.status is BookingStatus.SCHEDULED and b.tech_id is not None]
    result.live_bookings = len(live)
    for booking in live:
        count = len(events.get(booking.id, []))
        if count == 0 and booking.tech_id in accounts:
            result.lost += 1
        elif count > 1:
            result.duplicated += count - 1
    gone = [b for b in bookings.values() if b.status is not BookingStatus.SCHEDULED or b.tech_id is None]
    leftover = sum(len(events.get(b.id, [])) for b in gone)
    strays = sum(len(v) for k, v in events.items() if k not in bookings)
    if result.lost:
        result.failures.append(f"{result.lost} live booking(s) have no event on their tech's calendar")
    if result.duplicated:
        result.failures.append(f"{result.duplicated} booking event(s) are doubled")
    if leftover or strays:
        result.duplicated += leftover + strays
        result.failures.append(
            f"{leftover} event(s) of cancelled or unassigned bookings and {strays} unknown ones remain"
        )
