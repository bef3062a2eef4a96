"""The provider sandbox in a child process: its CPU and memory are the provider's, not Crewboard's.

`SandboxProcess` starts `sync.sandbox.server.Sandbox` (the same in-process sandbox the tests use)
on loopback in a child Python process and talks to it over a pipe: seeding accounts with a year
of events (in the child, through each provider's own `seed_event`, so no HTTP is spent on setup)
and reading its memory and CPU. Everything Crewboard does goes over HTTP, as against Google and
Microsoft; requests and their bytes are counted from the sandbox's own request log (`GET /requests`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import multiprocessing.connection
import random
import resource
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class AccountSpec:
    provider: str  # "google" or "microsoft"
    email: str
    name: str
    timezone: str
    second_calendar: str
    year: bool  # seed a year of events (else a light week)


# --- a year of a technician's calendar -----------------------------------------------------------


def year_specs(
    tz_name: str, now: dt.datetime, rng: random.Random, second: str
) -> list[tuple[str | None, dict[str, Any]]]:
    """Half a year back and half a year ahead: jobs-of-life singles, all-day days off, private,
    tentative, declined and free events, and recurring series (weekly, biweekly, daily with
    exceptions) on the primary calendar; a weekly series and weekend singles on the second one."""
    tz = ZoneInfo(tz_name)
    today = now.astimezone(tz).date()
    first = today - dt.timedelta(days=182)
    last = today + dt.timedelta(days=183)

    def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)

    specs: list[tuple[str | None, dict[str, Any]]] = []
    monday = first - dt.timedelta(days=first.weekday())
    series_start = at(monday, 7, 30)
    specs.append(
        (
            None,
            {
                "summary": "Team meeting",
                "start": series_start,
                "end": series_start + dt.timedelta(minutes=45),
                "timezone": tz_name,
                "rrule": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
                "response": "accepted",
                "organizer": "dispatch@bench.example",
            },
        )
    )
    one_on_one = at(monday + dt.timedelta(days=3), 16, 0)
    specs.append(
        (
            None,
            {
                "summary": "1:1 with the dispatcher",
                "start": one_on_one,
                "end": one_on_one + dt.timedelta(minutes=30),
                "timezone": tz_name,
                "rrule": ["RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"],
            },
        )
    )
    standup = at(monday, 7, 0)
    skip = standup + dt.timedelta(days=7 * 10)
    specs.append(
        (
            None,
            {
                "summary": "Daily check-in",
                "start": standup,
                "end": standup + dt.timedelta(minutes=15),
                "timezone": tz_name,
                "rrule": [
                    "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=200",
                    f"EXDATE;TZID={tz_name}:{skip.strftime('%Y%m%dT%H%M%S')}",
                ],
            },
        )
    )
    gym = at(monday + dt.timedelta(days=5), 9, 0)
    specs.append(
        (
            second,
            {
                "summary": "Kids' soccer",
                "start": gym,
                "end": gym + dt.timedelta(hours=2),
                "timezone": tz_name,
                "rrule": ["RRULE:FREQ=WEEKLY;BYDAY=SA"],
            },
        )
    )
    day = first
    index = 0
    while day <= last:
        if day.weekday() < 5:
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
                hour = rng.randint(8, 16)
                start = at(day, hour, rng.choice((0, 15, 30, 45)))
                spec: dict[str, Any] = {
                    "summary": f"Appointment {index}",
                    "start": start,
                    "end": start + dt.timedelta(minutes=rng.choice((30, 60, 90))),
                    "timezone": tz_name,
                }
                kind = index % 20
                if kind == 3:
                    spec["private"] = True
                elif kind == 7:
                    spec["tentative"] = True
                elif kind == 11:
                    spec.update(response="declined", organizer="vendor@bench.example")
                elif kind == 13:
                    spec["show_as"] = "free"
                specs.append((None, spec))
                index += 1
            if rng.random() < 0.03:
                specs.append(
                    (
                        None,
                        {
                            "summary": "PTO",
                            "start_date": day,
                            "end_date": day + dt.timedelta(days=1),
                            "show_as": "oof",
                        },
                    )
                )
        elif rng.random() < 0.5:
            start = at(day, rng.randint(10, 15))
            specs.append(
                (
                    second,
                    {
                        "summary": f"Weekend plans {index}",
                        "start": start,
                        "end": start + dt.timedelta(hours=2),
                        "timezone": tz_name,
                    },
                )
            )
            index += 1
        day += dt.timedelta(days=1)
    return specs


def _seed(box: Any, accounts: list[AccountSpec], seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    events = 0
    recurring = 0
    for spec in accounts:
        provider = box.providers[spec.provider]
        provider.create_account(spec.email, spec.timezone, spec.name)
        provider.add_calendar(spec.email, spec.second_calendar)
        if not spec.year:
            continue
        for calendar, event in year_specs(spec.timezone, now, rng, spec.second_calendar):
            provider.seed_event(spec.email, calendar, event)
            events += 1
            recurring += 1 if event.get("rrule") else 0
    return {"events": events, "recurring": recurring}


def _change(box: Any, changes: list[tuple[str, str, str | None, dict[str, Any]]]) -> str:
    """Add one event per (provider, email, calendar name, event spec), all in one go, as many
    people editing at the same moment; the sandbox's time once the last is in, ISO UTC."""
    for provider, email, calendar, event in changes:
        box.providers[provider].seed_event(email, calendar, event)
    return dt.datetime.now(dt.UTC).isoformat()


def _serve(conn: multiprocessing.connection.Connection) -> None:
    from sync.sandbox.server import Sandbox

    box = Sandbox()
    urls = box.start()
    conn.send(urls.as_json())
    try:
        while True:
            if not conn.poll(1.0):
                continue
            command, argument = conn.recv()
            if command == "stop":
                break
            if command == "seed":
                accounts, seed = argument
                started = time.perf_counter()
                result: Any = _seed(box, accounts, seed)
                result["seconds"] = time.perf_counter() - started
            elif command == "change":
                result = _change(box, argument)
            elif command == "rss":
                result = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            elif command == "cpu":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                result = usage.ru_utime + usage.ru_stime
            else:
                result = {"error": f"unknown command {command}"}
            conn.send(result)
    finally:
        box.stop()
        conn.close()


class SandboxProcess:
    """`with SandboxProcess() as box:` — `box.urls` are the sandbox's URLs; stops with the block."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), name="bench-sandbox", daemon=True)
        self.urls: dict[str, str] = {}

    def __enter__(self) -> SandboxProcess:
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the sandbox did not start within a minute")
        self.urls = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(("stop", None))
        self._process.join(30)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)

    def _ask(self, command: str, argument: Any = None, timeout: float = 600) -> Any:
        self._conn.send((command, argument))
        if not self._conn.poll(timeout):
            raise TimeoutError(f"the sandbox did not answer {command} within {timeout:.0f} s")
        return self._conn.recv()

    def seed(self, accounts: list[AccountSpec], seed: int = 7) -> dict[str, Any]:
        result: dict[str, Any] = self._ask("seed", (accounts, seed))
        return result

    def change(self, changes: list[tuple[str, str, str | None, dict[str, Any]]]) -> dt.datetime:
        """Add the events at once (see `_change`); when the sandbox had them all, aware UTC."""
        return dt.datetime.fromisoformat(str(self._ask("change", changes)))

    def peak_rss(self) -> int:
        return int(self._ask("rss"))

    def cpu_seconds(self) -> float:
        """CPU time the sandbox process has used so far (user and system)."""
        return float(self._ask("cpu"))
