"""The soak: a busy office, hostile phones, a flaky network and a sync process killed again and again.

One run, bounded in time: technicians on both providers connected through the real sign-in
flows; the dispatcher books, moves, reassigns and cancels through `BookingService`; every tech's
phone adds, edits and deletes personal events and the booking events on the provider's own API;
the sandbox injects faults at about `fault_rate` of requests, rotating through every kind; and
`crewboard sync` runs as a separate process on the same SQLite file, SIGKILLed at random moments
and restarted. It runs with push (`--listen` on one loopback port chosen at the start, kept across
restarts because the channels a killed process opened still point there), so the sandbox's Google
channels and Graph subscriptions deliver notices to it, fail while it is down, and are held and
flushed by the `push_pause` fault. Then the faults stop, a few scripted conflicts are staged,
`crewboard sync --once` runs until a round changes nothing, and every invariant is checked against
provider truth read fresh through the adapters. `SoakResult.failures` lists each broken invariant in one sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from app.domain.model import (
    BusySource,
    CalendarAccount,
    ConflictKind,
    ConflictStatus,
    Provider,
    RemoteEvent,
    Response,
    ShowAs,
)
from app.domain.time import Interval
from app.errors import CrewboardError
from app.services.bookings import NewBooking
from app.services.container import Services
from storage.database import Database, open_database
from sync.engine.booking_state import is_waiting
from sync.providers.endpoints import read_endpoints
from sync.providers.factory import open_provider
from sync.providers.google_auth import GoogleConnector
from sync.providers.microsoft_auth import MicrosoftConnector
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from tests.children import child_python_path
from tests.soak.phones import PERSONAL_PREFIX, PRIVATE_PREFIX, GooglePhone, OutlookPhone, Phone

ROOT = Path(__file__).resolve().parents[2]
CHICAGO = ZoneInfo("America/Chicago")
REQUEST_FAULTS = ("5xx", "429", "timeout", "reset", "drop_after_commit")
ACCOUNT_FAULTS = ("expire_access", "invalidate_cursors", "push_pause")
FAULT_KINDS = REQUEST_FAULTS + ACCOUNT_FAULTS
# Tables whose content says what sync decided; a settle round that leaves them alike changed nothing.
STATE_TABLES = ("bookings", "remote_events", "busy_blocks", "event_links", "outbox", "conflicts")
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
# A Google watch channel or a Graph subscription being made, as the sandbox logs the request.
CHANNEL_PATHS = ("/events/watch", "/subscriptions")


@dataclass(frozen=True, slots=True)
class SoakConfig:
    seconds: float = 360.0  # the chaos phase
    techs: int = 10
    min_kills: int = 30
    fault_rate: float = 0.2
    poll: float = 1.0
    kill_every: tuple[float, float] = (2.5, 9.0)  # seconds between SIGKILLs, uniform
    settle_seconds: float = 150.0
    timeout_hold: float = 1.0
    push: bool = True  # the sync process listens for push notices (a loopback --public-url)
    seed: int | None = None
    workdir: Path | None = None
    echo: bool = True


@dataclass
class SoakResult:
    seed: int
    operations: Counter[str] = field(default_factory=Counter)
    faults_injected: Counter[str] = field(default_factory=Counter)
    faults_hit: Counter[str] = field(default_factory=Counter)  # request faults as the sandbox logged them
    kills: int = 0
    restarts: int = 0
    settle_rounds: int = 0
    requests: int = 0
    live_bookings: int = 0
    booking_events: int = 0
    personal_events: int = 0
    conflicts: Counter[str] = field(default_factory=Counter)
    push_address: str | None = None  # what --public-url said; None: the soak ran without push
    push: Counter[str] = field(default_factory=Counter)  # notices by outcome (sandbox's totals)
    push_held: int = 0  # notices the push_pause fault held back, then released
    channels_made: int = 0  # channel-making requests the provider answered with success
    channels_dropped: int = 0  # ... that it carried out but whose answer a fault dropped
    channels_live: int = 0  # at the end, at the providers
    channels_stray: int = 0  # ... of them not the one stored on any calendar
    calendars: int = 0
    lost: int = 0
    duplicated: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and self.lost == 0 and self.duplicated == 0

    def text(self) -> str:
        def counts(counter: Counter[str]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"

        lines = [
            f"soak seed {self.seed}: {self.seconds:.0f} s, {self.requests} provider requests",
            f"operations: {counts(self.operations)}",
            f"faults injected: {counts(self.faults_injected)}",
            f"faults hit (request log): {counts(self.faults_hit)}",
            f"sync process: {self.kills} SIGKILLs, {self.restarts} starts; settled in {self.settle_rounds} round(s)",
            *self._push_lines(),
            f"at the end: {self.live_bookings} live bookings, {self.booking_events} booking events, "
            f"{self.personal_events} blocking personal events; conflicts: {counts(self.conflicts)}",
            f"lost: {self.lost}  duplicated: {self.duplicated}",
        ]
        lines += [f"FAILED: {failure}" for failure in self.failures]
        lines.append("RESULT: " + ("every invariant holds" if self.ok else "INVARIANTS BROKEN"))
        return "\n".join(lines)

    def _push_lines(self) -> list[str]:
        if self.push_address is None:
            return ["push: off (the sync process only polled)"]
        return [
            f"push to {self.push_address}: {self.push['delivered']} notices delivered, "
            f"{self.push['refused']} refused, {self.push['unreachable']} unreachable (process down); "
            f"{self.push_held} held by push_pause, then released",
            f"push channels: {self.channels_made} made ({self.channels_dropped} more whose answer a "
            f"fault dropped); at the end {self.channels_live} live for {self.calendars} calendar(s), "
            f"{self.channels_stray} not stored on any",
        ]


@dataclass
class Tech:
    name: str
    email: str
    provider: Provider
    phone: Phone


class SyncProcess:
    """`crewboard sync` in a child process on the same database; killed with SIGKILL on demand."""

    def __init__(
        self,
        db_url: str,
        env: dict[str, str],
        poll: float,
        log_path: Path,
        listen: tuple[str, int] | None = None,
    ) -> None:
        self.db_url, self.env, self.poll = db_url, env, poll
        self.log_path = log_path
        self.listen = listen
        self.child: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.starts = 0

    def start(self) -> None:
        assert self.child is None
        command = [sys.executable, "-m", "app.cli", "--db", self.db_url, "sync", "--poll", str(self.poll)]
        if self.listen is not None:
            # The same address at every start: channels a killed process opened still point there.
            command += ["--listen", f"{self.listen[0]}:{self.listen[1]}", "--public-url", self.public_url]
        with self.log_path.open("ab") as log:
            self.child = subprocess.Popen(
                command,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self.starts += 1

    @property
    def public_url(self) -> str:
        """Where the providers send notices: straight to the listener (the sandbox accepts loopback http)."""
        assert self.listen is not None
        return f"http://{self.listen[0]}:{self.listen[1]}/crewboard"

    def kill(self) -> None:
        """SIGKILL and reap it (a zombie would still look alive to the next engine's lock check)."""
        if self.child is None:
            return
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGKILL)
            self.kills += 1
        self.child.wait(timeout=10)
        self.child = None

    def alive(self) -> bool:
        return self.child is not None and self.child.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        """The last lines the sync processes wrote (stdout and stderr), to say why one stopped."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            return f"(its output could not be read: {error})"
        return "\n".join(text.splitlines()[-lines:])


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port nothing listens on now (the sync binds it with SO_REUSEADDR at every start)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CREWBOARD_LOG_DIR"] = str(workdir / "logs")
    env["CREWBOARD_TIMEZONE"] = "America/Chicago"
    env["XDG_CONFIG_HOME"] = str(workdir / "config")  # no settings.toml of the user's
    env["PYTHONPATH"] = child_python_path()
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def once(db_url: str, env: dict[str, str], timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    """`crewboard sync --once`, bounded."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", db_url, "sync", "--once"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- setting up ---------------------------------------------------------------------------------


def connect_tech(
    sandbox: Sandbox, control: httpx.Client, services: Services, store: TokenStore, n: int, provider: Provider
) -> Tech:
    """A sandbox account and a technician, connected through the provider's real sign-in flow."""
    site = "google" if provider is Provider.GOOGLE else "microsoft"
    name = f"Tech {n:02d} {'Google' if provider is Provider.GOOGLE else 'Outlook'}"
    email = f"tech{n:02d}@{'gmail' if provider is Provider.GOOGLE else 'contoso'}.test"
    made = control.post("/accounts", json={"provider": site, "email": email, "timezone": "America/Chicago"})
    made.raise_for_status()
    services.techs.add(name, email, "America/Chicago")
    endpoints = read_endpoints(sandbox.urls.control)
    if provider is Provider.GOOGLE:
        google = GoogleConnector(
            endpoints.google_settings(), store, browser=SandboxApprover(email), timeout=20
        )
        try:
            services.accounts.connect(name, Provider.GOOGLE, google)
        finally:
            google.close()
        phone: Phone = GooglePhone(control, email, sandbox.urls.google)
    else:
        microsoft = MicrosoftConnector(
            endpoints.microsoft_settings(), store, timeout=20, browser=SandboxApprover(email, sandbox.urls.ca)
        )
        with microsoft:
            services.accounts.connect(name, Provider.MICROSOFT, microsoft)
        assert sandbox.urls.graph is not None
        phone = OutlookPhone(control, email, sandbox.urls.graph, sandbox.urls.ca)
    return Tech(name, email, provider, phone)


def token_refs(techs: list[Tech]) -> list[str]:
    return [f"{t.provider.value}:{t.email}" for t in techs]


# --- the actors ---------------------------------------------------------------------------------


def _slot(rng: random.Random, now: datetime) -> datetime:
    """A start in business hours, two to nine days ahead, on the half hour, in Chicago."""
    local = now.astimezone(CHICAGO) + timedelta(days=rng.randint(2, 9))
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return local.replace(hour=rng.randint(8, 15), minute=rng.choice((0, 30)), second=0, microsecond=0)


class Dispatcher:
    """Books, moves, reassigns and cancels at random through the booking use cases."""

    def __init__(self, services: Services, techs: list[Tech], rng: random.Random, result: SoakResult) -> None:
        self.services, self.techs, self.rng, self.result = services, techs, rng, result
        self.created: list[str] = []  # every booking id the service confirmed

    def act(self) -> None:
        live = [b for b in self.services.bookings.list() if b.tech_id is not None]
        weights = {"book": 4 if len(live) < 6 * len(self.techs) else 1, "move": 3, "reassign": 1, "cancel": 1}
        if not live:
            weights = {"book": 1}
        action = self.rng.choices(list(weights), list(weights.values()))[0]
        now = self.services.clock.now()
        try:
            if action == "book":
                tech = self.rng.choice(self.techs)
                booking = self.services.bookings.create(
                    NewBooking(
                        customer=f"Customer {self.rng.randint(1, 10_000)}",
                        service=self.rng.choice(("AC repair", "Tune-up", "Leak check", "Inspection")),
                        duration=timedelta(minutes=self.rng.choice((30, 60, 90))),
                        start=_slot(self.rng, now),
                        tech=tech.name,
                        address=f"{self.rng.randint(1, 999)} Elm St",
                    ),
                    force=self.rng.random() < 0.3,
                )
                self.created.append(booking.id)
            elif action == "move":
                target = self.rng.choice(live)
                self.services.bookings.move(target.id, _slot(self.rng, now), force=self.rng.random() < 0.3)
            elif action == "reassign":
                target = self.rng.choice(live)
                self.services.bookings.reassign(target.id, self.rng.choice(self.techs).name, force=True)
            else:
                self.services.bookings.cancel(self.rng.choice(live).id)
        except CrewboardError as error:  # busy time (refused), a locked database for a moment, ...
            self.result.operations[f"dispatcher {action} refused ({type(error).__name__})"] += 1
            return
        self.result.operations[f"dispatcher {action}"] += 1


class Phones:
    """Every tech's phone: personal events and the booking events, added, edited and deleted."""

    def __init__(self, techs: list[Tech], rng: random.Random, result: SoakResult, clock: Any) -> None:
        self.techs, self.rng, self.result, self.clock = techs, rng, result, clock
        self.serial = itertools.count(1)

    def act(self) -> None:
        tech = self.rng.choice(self.techs)
        phone = tech.phone
        events = phone.events()
        if events is None:
            self.result.operations["phone read failed"] += 1
            return
        personal = [e for e in events if e["title"].startswith((PERSONAL_PREFIX, PRIVATE_PREFIX))]
        ours = [e for e in events if not e["title"].startswith((PERSONAL_PREFIX, PRIVATE_PREFIX))]
        weights = {
            "add personal": 4 if len(personal) < 8 else 1,
            "move personal": 2 if personal else 0,
            "retitle personal": 1 if personal else 0,
            "delete personal": 2 if personal else 0,
            "move booking event": 2 if ours else 0,
            "retitle booking event": 1 if ours else 0,
            "delete booking event": 1 if ours else 0,
        }
        action = self.rng.choices(list(weights), list(weights.values()))[0]
        now = self.clock()
        minutes = self.rng.choice((30, 60, 120))
        done: bool
        if action == "add personal":
            private = self.rng.random() < 0.25
            title = f"{PRIVATE_PREFIX if private else PERSONAL_PREFIX} {next(self.serial)} {tech.email}"
            done = phone.add(title, _slot(self.rng, now), minutes, private=private) is not None
        elif action == "move personal":
            done = phone.move(self.rng.choice(personal)["id"], _slot(self.rng, now), minutes)
        elif action == "retitle personal":
            target = self.rng.choice(personal)
            prefix = PRIVATE_PREFIX if target["title"].startswith(PRIVATE_PREFIX) else PERSONAL_PREFIX
            done = phone.retitle(target["id"], f"{prefix} {next(self.serial)} renamed")
        elif action == "delete personal":
            done = phone.delete(self.rng.choice(personal)["id"])
        elif action == "move booking event":
            target = self.rng.choice(ours)
            length = int((target["end"] - target["start"]).total_seconds() // 60)
            done = phone.move(target["id"], _slot(self.rng, now), length)
        elif action == "retitle booking event":
            done = phone.retitle(
                self.rng.choice(ours)["id"], f"Job {next(self.serial)} (renamed on the phone)"
            )
        else:
            done = phone.delete(self.rng.choice(ours)["id"])
        self.result.operations[f"phone {action}" + ("" if done else " failed")] += 1


class FaultMaker:
    """Keeps injected faults near `rate` of the provider requests, rotating through every kind."""

    def __init__(
        self,
        control: httpx.Client,
        techs: list[Tech],
        rng: random.Random,
        result: SoakResult,
        config: SoakConfig,
    ) -> None:
        self.control, self.techs, self.rng, self.result, self.config = control, techs, rng, result, config
        self.kinds = itertools.cycle(FAULT_KINDS)
        self.seen_seq = 0
        self.requests = 0
        self.injected = 0
        self.paused_until: float | None = None
        self.lock = threading.Lock()

    def observe(self) -> None:
        entries = self.control.get("/requests", params={"since": str(self.seen_seq)}).json()
        for entry in entries:
            self.seen_seq = max(self.seen_seq, int(entry["seq"]))
            self.requests += 1
            if entry.get("fault"):
                self.result.faults_hit[str(entry["fault"])] += 1
            if entry.get("method") == "POST" and str(entry.get("path", "")).endswith(CHANNEL_PATHS):
                status = entry.get("status")
                if entry.get("fault") == "drop_after_commit":
                    self.result.channels_dropped += 1
                elif isinstance(status, int) and 200 <= status < 300:
                    self.result.channels_made += 1
        self.result.requests = self.requests

    def resume_push(self) -> None:
        """End a push_pause: count what it held back, then let the sandbox flush it."""
        self.result.push_held += int(self.control.get("/push").json()["held"])
        self.control.post("/push/resume").raise_for_status()
        self.paused_until = None

    def tick(self) -> None:
        self.observe()
        if self.paused_until is not None and time.monotonic() >= self.paused_until:
            self.resume_push()
        if self.injected >= self.config.fault_rate * self.requests:
            return
        if len(self.control.get("/faults").json()) >= 3:
            return  # still waiting for requests to consume the last ones (say, the sync is restarting)
        kind = next(self.kinds)
        tech = self.rng.choice(self.techs)
        if kind in REQUEST_FAULTS:
            body: dict[str, Any] = {"kind": kind, "count": self.rng.randint(1, 2), "retry_after": 1}
            if kind == "timeout":
                body["hold_seconds"] = self.config.timeout_hold
            if self.rng.random() < 0.5:
                body["provider"] = tech.provider.value
            self.control.post("/faults", json=body).raise_for_status()
            self.injected += body["count"]
        elif kind == "push_pause":
            if self.paused_until is None:
                self.control.post("/push/pause").raise_for_status()
                self.paused_until = time.monotonic() + self.rng.uniform(2, 6)
            self.injected += 1
        else:
            path = "expire-access" if kind == "expire_access" else "invalidate-cursors"
            self.control.post(f"/accounts/{tech.email}/{path}").raise_for_status()
            self.injected += 1
        self.result.faults_injected[kind] += 1

    def stop(self) -> None:
        self.control.delete("/faults").raise_for_status()
        self.resume_push()


# --- settling and checking ----------------------------------------------------------------------


def state_digest(db_path: Path) -> str:
    """A hash of what sync decided, without row ids (a rewritten row with the same content is no change)."""
    digest = hashlib.sha256()
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)) as db:
        for table in STATE_TABLES:
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[1] != "id"]
            rows = db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            for row in sorted(rows, key=repr):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def our_writes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("method") in WRITE_METHODS and "/events" in str(e.get("path", ""))]


def settle(
    database: Database, db_path: Path, env: dict[str, str], control: httpx.Client, deadline: float
) -> tuple[int, list[str]]:
    """`crewboard sync --once` until a round changes nothing and no write waits; bounded in rounds and time."""
    problems: list[str] = []
    previous: str | None = None
    last_output: list[str] = []
    for round_no in range(1, 61):
        if time.monotonic() > deadline:
            return round_no - 1, [*problems, "sync did not settle before the deadline"]
        before = max((int(e["seq"]) for e in control.get("/requests").json()), default=0)
        done = once(database.url, env)
        if done.returncode != 0 or "Traceback" in done.stderr:
            problems.append(f"crewboard sync --once exited {done.returncode}: {done.stderr.strip()[:300]}")
        if "Refused:" in done.stdout:
            problems.append(f"the sync refused work: {done.stdout.strip()[:300]}")
        after = control.get("/requests", params={"since": str(before)}).json()
        digest = state_digest(db_path)
        with database.unit_of_work() as uow:
            pending = [item for item in uow.outbox.pending() if not is_waiting(item)]
        last_output[:] = [done.stdout, done.stderr]
        if digest == previous and not our_writes(after) and not pending:
            return round_no, problems
        previous = digest
        if pending:  # writes wait for their backoff: sleep until the first is due (bounded)
            due = min(item.next_attempt for item in pending)
            wait = (due - datetime.now(UTC)).total_seconds()
            time.sleep(min(max(wait, 0.0) + 0.2, max(0.0, deadline - time.monotonic()), 60.0))
    return 60, [*problems, f"sync did not settle in 60 rounds; the last said: {' '.join(last_output)[:400]}"]


async def provider_truth(
    database: Database, store: TokenStore
) -> dict[str, tuple[CalendarAccount, dict[str, Any], list[RemoteEvent]]]:
    """Every event of every synced calendar, read fresh (no cursor) through the product's adapters."""
    now = datetime.now(UTC)
    window = Interval(now - timedelta(days=1), now + timedelta(days=120))
    truth: dict[str, tuple[CalendarAccount, dict[str, Any], list[RemoteEvent]]] = {}
    with database.unit_of_work() as uow:
        accounts = uow.accounts.list()
        calendars = {a.id: uow.calendars.for_account(a.id) for a in accounts}
        links = {
            (link.calendar_id, link.remote_id): link.booking_id
            for b in uow.bookings.list()
            if (link := uow.links.for_booking(b.id)) is not None
        }
    for account in accounts:
        provider = open_provider(account, store, timeout=20)
        try:
            for calendar in calendars[account.id]:
                batch = await provider.read_changes(calendar, None, window)
                info = {"primary": calendar.primary, "blocks": calendar.blocks, "tech_id": account.tech_id}
                events = []
                for event in batch.events:
                    if event.cancelled:
                        continue
                    # Graph's delta reads leave out our tag; the remote id we recorded names the job.
                    if event.booking_id is None and (calendar.id, event.remote_id) in links:
                        event = replace(event, booking_id=links[(calendar.id, event.remote_id)])
                    events.append(event)
                truth[calendar.id] = (account, info, events)
        finally:
            await provider.aclose()
    return truth


def check(
    database: Database,
    db_path: Path,
    truth: dict[str, tuple[CalendarAccount, dict[str, Any], list[RemoteEvent]]],
    created: list[str],
    staged: dict[str, ConflictKind],
    result: SoakResult,
) -> None:
    """Every invariant, against provider truth; each failure is one sentence in `result.failures`."""
    fail = result.failures.append
    now = datetime.now(UTC)
    horizon = Interval(now - timedelta(days=1), now + timedelta(days=120))
    with database.unit_of_work() as uow:
        bookings = {b.id: b for b in uow.bookings.list()}
        customers = {c.id: c for c in uow.customers.list()}
        conflicts = uow.conflicts.list()
        techs = uow.techs.list()
        tech_names = {t.id: t.name for t in techs}
        blocks = uow.busy.for_techs([t.id for t in techs], horizon)
        pending = uow.outbox.pending()
    open_conflicts: dict[tuple[str, ConflictKind], int] = Counter()
    for conflict in conflicts:
        result.conflicts[f"{conflict.kind.value} {conflict.status.value}"] += 1
        if conflict.status is ConflictStatus.OPEN:
            open_conflicts[(conflict.booking_id, conflict.kind)] += 1

    missing = [b for b in created if b not in bookings]
    if missing:
        result.lost += len(missing)
        fail(f"{len(missing)} booking(s) the service confirmed are missing from the database")
    open_ids = {c.booking_id for c in conflicts if c.status is ConflictStatus.OPEN}
    stuck = [i for i in pending if not is_waiting(i) or i.booking_id not in open_ids]
    if stuck:
        fail(f"{len(stuck)} write(s) still wait in the outbox after sync settled")

    by_booking: dict[str, list[tuple[str, RemoteEvent]]] = {}
    for calendar_id, (_account, _info, events) in truth.items():
        for event in events:
            if event.booking_id is not None:
                by_booking.setdefault(event.booking_id, []).append((calendar_id, event))
    result.booking_events = sum(len(v) for v in by_booking.values())
    orphans = [b for b in by_booking if b not in bookings]
    if orphans:
        result.duplicated += sum(len(by_booking[b]) for b in orphans)
        fail(f"{len(orphans)} calendar event(s) carry a booking id the database does not know")

    for booking in bookings.values():
        found = by_booking.get(booking.id, [])
        if not booking.is_live or booking.tech_id is None:
            if found and booking.id in open_ids:
                result.operations[
                    "cancelled job kept in the calendar until a person decides its conflict"
                ] += 1
            elif found:
                result.duplicated += len(found)
                fail(f"booking {booking.id[:8]} ({booking.status.value}) still has {len(found)} event(s)")
            continue
        result.live_bookings += 1
        if len(found) > 1:
            result.duplicated += len(found) - 1
            fail(f"booking {booking.id[:8]} has {len(found)} calendar events")
        waiting = any(
            open_conflicts[(booking.id, k)] for k in (ConflictKind.EDITED_BOTH, ConflictKind.EVENT_DELETED)
        )
        if not found:
            # A job whose event the tech deleted, or deleted while a changed-on-both-sides conflict
            # was open, waits (booked, flagged) for a person; without an open conflict it is lost.
            if not waiting:
                result.lost += 1
                fail(
                    f"booking {booking.id[:8]} of {tech_names.get(booking.tech_id)} has no calendar event "
                    "and no open conflict waiting for a person"
                )
            continue
        calendar_id, event = found[0]
        _account, info, _events = truth[calendar_id]
        if waiting:
            # Changed on both sides: the event stays as the tech left it until a person decides.
            result.operations["job waiting for a person to decide its conflict"] += 1
            continue
        if info["tech_id"] != booking.tech_id or not info["primary"]:
            fail(f"booking {booking.id[:8]}'s event is not in its technician's primary calendar")
        customer = customers.get(booking.customer_id)
        title = f"{booking.service} — {customer.name}" if customer and customer.name else booking.service
        if event.title != title:
            fail(f"booking {booking.id[:8]}'s event is titled {event.title!r}, not {title!r}")
        span = booking.interval
        assert span is not None
        same_time = event.when.start == span.start and event.when.end == span.end
        if not same_time and not open_conflicts[(booking.id, ConflictKind.EDITED_BOTH)]:
            fail(f"booking {booking.id[:8]}'s event is at another time and no edited-both conflict is open")

    # Personal events: every blocking one mirrored exactly once, nothing stale left blocking.
    mirrored: dict[tuple[str | None, str | None], list[Interval]] = {}
    for block in blocks:
        if block.source is BusySource.CALENDAR:
            mirrored.setdefault((block.calendar_id, block.remote_id), []).append(block.interval)
    expected: set[tuple[str | None, str | None]] = set()
    for calendar_id, (_account, info, events) in truth.items():
        if not info["blocks"]:
            continue
        for event in events:
            if event.booking_id is not None or event.when.start is None or event.recurrence:
                continue
            if event.show_as is not ShowAs.BUSY or event.response is not Response.ORGANIZER:
                continue
            interval = Interval(event.when.start, event.when.end)
            if not horizon.overlaps(interval):
                continue
            key = (calendar_id, event.remote_id)
            expected.add(key)
            copies = mirrored.get(key, [])
            if not copies:
                result.lost += 1
                fail(f"personal event {event.remote_id[:24]} does not block its technician's time")
            elif len(copies) > 1:
                result.duplicated += len(copies) - 1
                fail(f"personal event {event.remote_id[:24]} blocks {len(copies)} times")
            elif copies[0] != interval:
                fail(f"personal event {event.remote_id[:24]} blocks the wrong time")
    result.personal_events = len(expected)
    stale = [key for key in mirrored if key not in expected]
    if stale:
        result.duplicated += len(stale)
        fail(f"{len(stale)} busy block(s) stand for events that are no longer in the calendar")

    # Conflicts staged on purpose exist; every open overlap stands for a real overlap.
    for booking_id, kind in staged.items():
        if not open_conflicts[(booking_id, kind)]:
            fail(f"no open {kind.value} conflict for booking {booking_id[:8]}, staged to raise one")
    real = {(cal, e.remote_id): e for cal, (_a, _i, events) in truth.items() for e in events}
    for conflict in conflicts:
        if conflict.kind is not ConflictKind.OVERLAP or conflict.status is not ConflictStatus.OPEN:
            continue
        booking = bookings.get(conflict.booking_id)
        other = real.get((conflict.calendar_id or "", conflict.remote_id or ""))
        if booking is None or not booking.is_live or booking.interval is None or other is None:
            fail(f"overlap conflict {conflict.id[:8]} stays open for an event or job that is gone")
        elif other.when.start is not None and not booking.interval.overlaps(
            Interval(other.when.start, other.when.end)
        ):
            fail(f"overlap conflict {conflict.id[:8]} stays open although nothing overlaps any more")

    # Private events never leave their details in the database.
    content = db_path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = db_path.with_name(db_path.name + suffix)
        if extra.exists():
            content += extra.read_bytes()
    if PRIVATE_PREFIX.encode() in content:
        fail("a private event's title, description or attendee reached the database file")


def check_push(database: Database, control: httpx.Client, result: SoakResult) -> None:
    """Push really ran, and channels did not pile up across the restarts.

    `ChannelKeeper` keeps one channel per calendar, stored on the calendar's row, and a restarted
    process reuses it until it is near expiry (hours away here) instead of opening another. A channel
    the provider made but no row holds is one whose answer never reached the row: a fault dropped
    the answer after the provider carried it out, or the process was killed between the answer and
    storing it; such channels lapse by themselves. So: every stored channel is live; and the channels
    no row holds stay within those dropped answers plus at most one kill per calendar, never one for
    each restart.
    """
    fail = result.failures.append
    status = control.get("/push").json()
    result.push.update({k: int(v) for k, v in status["totals"].items()})
    if result.push["delivered"] == 0:
        fail("push was on, yet not a single notice reached the sync process")
    with database.unit_of_work() as uow:
        calendars = [c for a in uow.accounts.list() for c in uow.calendars.for_account(a.id)]
    live = {str(c["id"]): c for c in status["channels"]}
    stored = {c.channel_id for c in calendars if c.channel_id}
    result.calendars = len(calendars)
    result.channels_live = len(live)
    result.channels_stray = len([i for i in live if i not in stored])
    gone = [c.name for c in calendars if c.channel_id and c.channel_id not in live]
    if gone:
        fail(f"{len(gone)} calendar(s) keep a push channel the provider no longer has")
    outside = [c for c in live.values() if c["url"] != f"{result.push_address}/{c['provider']}"]
    if outside:
        fail(f"{len(outside)} live push channel(s) point elsewhere than the sync's public address")
    allowed = result.channels_dropped + len(calendars)
    if result.channels_stray > allowed:
        fail(
            f"{result.channels_stray} push channels are live that no calendar holds (at most {allowed} "
            "expected: answers dropped by faults, one kill per calendar); restarts pile channels up"
        )


# --- the run ------------------------------------------------------------------------------------


def stage_conflicts(
    services: Services,
    techs: list[Tech],
    database: Database,
    db_path: Path,
    env: dict[str, str],
    control: httpx.Client,
    deadline: float,
    result: SoakResult,
) -> dict[str, ConflictKind]:
    """One of each conflict on purpose, on both providers: deleted, edited on both sides, overlap."""
    staged: dict[str, ConflictKind] = {}
    now = services.clock.now()
    day = (now.astimezone(CHICAGO) + timedelta(days=12)).replace(hour=7, minute=0, second=0, microsecond=0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    plan: list[tuple[Tech, ConflictKind, datetime, str]] = []
    for n, tech in enumerate(techs[:2]):
        for m, kind in enumerate(
            (ConflictKind.EVENT_DELETED, ConflictKind.EDITED_BOTH, ConflictKind.OVERLAP)
        ):
            start = day + timedelta(hours=3 * m, minutes=30 * n)
            booking = services.bookings.create(
                NewBooking(
                    customer=f"Staged {kind.value} {n}",
                    service="Staged job",
                    duration=timedelta(hours=1),
                    start=start,
                    tech=tech.name,
                ),
                force=True,
            )
            plan.append((tech, kind, start, booking.id))
    rounds, problems = settle(database, db_path, env, control, deadline)
    result.settle_rounds += rounds
    result.failures.extend(problems)
    for tech, kind, start, booking_id in plan:
        events = tech.phone.events() or []
        mine = [e for e in events if e["title"].startswith(f"Staged job — Staged {kind.value}")]
        if len(mine) != 1:
            result.failures.append(f"the staged {kind.value} job for {tech.name} is not in the calendar")
            continue
        if kind is ConflictKind.EVENT_DELETED:
            ok = tech.phone.delete(mine[0]["id"])
        elif kind is ConflictKind.EDITED_BOTH:
            ok = tech.phone.move(mine[0]["id"], start + timedelta(hours=1), 60)
            services.bookings.move(booking_id, start + timedelta(minutes=90), force=True)
        else:
            ok = (
                tech.phone.add(f"{PERSONAL_PREFIX} over the staged job", start + timedelta(minutes=15), 30)
                is not None
            )
        if not ok:
            result.failures.append(f"the phone could not stage the {kind.value} conflict")
        staged[booking_id] = kind
    return staged


def run_soak(config: SoakConfig, store: TokenStore | None = None) -> SoakResult:
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    result = SoakResult(seed=seed)
    began = time.monotonic()
    store = store or TokenStore()
    store.check()

    def say(text: str) -> None:
        if config.echo:
            print(f"[{time.monotonic() - began:6.1f}s] {text}", flush=True)

    with contextlib.ExitStack() as stack:
        if config.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crewboard-soak-")))
        else:
            workdir = config.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        db_path = workdir / "crewboard.db"
        env = _env(workdir)
        sandbox = Sandbox(timeout_hold=config.timeout_hold)
        sandbox.start()
        stack.callback(sandbox.stop)
        control = stack.enter_context(
            httpx.Client(base_url=sandbox.urls.control, timeout=15, trust_env=False)
        )
        database = open_database(f"sqlite:///{db_path}")
        stack.callback(database.dispose)
        services = Services.build(database.unit_of_work)
        techs: list[Tech] = []
        stack.callback(lambda: [store.delete(ref) for ref in token_refs(techs)])
        stack.callback(lambda: [t.phone.close() for t in techs])
        for n in range(config.techs):
            provider = Provider.GOOGLE if n % 2 == 0 else Provider.MICROSOFT
            techs.append(connect_tech(sandbox, control, services, store, n + 1, provider))
        say(f"{len(techs)} techs connected through the sign-in flows (seed {seed})")

        listen = ("127.0.0.1", free_port()) if config.push else None
        sync = SyncProcess(database.url, env, config.poll, workdir / "sync-process.log", listen)
        if listen is not None:
            result.push_address = sync.public_url
        stack.callback(sync.kill)
        dispatcher = Dispatcher(services, techs, rng, result)
        phones = Phones(techs, rng, result, services.clock.now)
        faults = FaultMaker(control, techs, rng, result, config)

        for _ in range(2 * config.techs):
            dispatcher.act()
        sync.start()
        chaos_end = time.monotonic() + config.seconds
        next_kill = time.monotonic() + rng.uniform(*config.kill_every)
        ticks = 0
        while time.monotonic() < chaos_end or sync.kills < config.min_kills:
            if time.monotonic() > chaos_end + 120:
                result.failures.append(f"only {sync.kills} kills happened; wanted {config.min_kills}")
                break
            faults.tick()
            roll = rng.random()
            if roll < 0.45:
                dispatcher.act()
            elif roll < 0.9:
                phones.act()
            if time.monotonic() >= next_kill:
                sync.kill()
                sync.start()
                next_kill = time.monotonic() + rng.uniform(*config.kill_every)
            elif not sync.alive():  # it stopped by itself: that is a finding, then carry on
                code = sync.child.returncode if sync.child is not None else None
                result.failures.append(
                    f"the sync process exited by itself during the soak (exit code {code}); "
                    f"the end of its output:\n{sync.log_tail()}"
                )
                sync.kill()
                sync.start()
            ticks += 1
            if ticks % 100 == 0:
                say(
                    f"{sync.kills} kills, {faults.requests} requests, {sum(result.faults_injected.values())} faults"
                )
            time.sleep(rng.uniform(0.05, 0.25))
        sync.kill()
        faults.stop()
        faults.observe()
        say(f"chaos over: {sync.kills} kills; settling")

        deadline = time.monotonic() + config.settle_seconds
        staged = stage_conflicts(services, techs, database, db_path, env, control, deadline, result)
        rounds, problems = settle(database, db_path, env, control, deadline)
        result.settle_rounds += rounds
        result.failures.extend(problems)
        say(f"settled after {result.settle_rounds} round(s); checking")
        truth = asyncio.run(provider_truth(database, store))
        check(database, db_path, truth, dispatcher.created, staged, result)
        if config.push:
            check_push(database, control, result)
        for tech in techs:
            result.operations["phone request failed (fault)"] += tech.phone.failures
        result.kills, result.restarts = sync.kills, sync.starts
        for kind in FAULT_KINDS:
            if result.faults_injected[kind] == 0:
                result.failures.append(f"no {kind} fault was injected")
        if sync.kills < config.min_kills:
            result.failures.append(
                f"the sync process was killed {sync.kills} times, fewer than {config.min_kills}"
            )
        faults.observe()
    result.seconds = time.monotonic() - began
    return result
