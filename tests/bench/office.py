"""Figures for an office: a desk's booking → the event at the provider through `crewboard serve`, and
the cost of a quiet poll round on PostgreSQL beside SQLite.

- desk → provider: a desk (this process, its own Database on a PostgreSQL server started for the
  run) saves a booking; a `crewboard serve` process owns sync (poll 10 s) and is woken by the change
  feed's NOTIFY (sync.feed_wake). Measured from `BookingService.create` returning (booking and
  outbox row committed) to the sandbox logging the event's successful POST, as the single-process
  outbound row is. Target from the issue: p95 ≤ 1 s.
- quiet round, PostgreSQL vs SQLite: the same four techs (two calendars each, a year of events)
  connected to a fresh store of each kind, one initial round, then QUIET_ROUNDS rounds with nothing
  changed; wall and CPU time of the engine's process. Information, no target: the difference is
  the store's round trips (a local server here; a network hop in an office adds its latency).
"""

from __future__ import annotations

import contextlib
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from app.bus import Bus
from app.domain.time import SystemClock
from app.services.container import Services
from storage.database import open_database
from tests.bench.common import Figure, from_samples, not_measurable, progress, report
from tests.bench.harness import EngineThread, Store, connect
from tests.bench.latency import outbound
from tests.bench.sandbox_proc import SandboxProcess
from tests.bench.scale import specs
from tests.office.serve_process import ServeProcess
from tests.pg import PostgresServer, fresh_database, migrate_template, start_server, stopped_if_we_die

BOOKINGS = 40
QUIET_ROUNDS = 5
TECHS = 4


@contextlib.contextmanager
def _store(url: str, folder: Path) -> Iterator[Store]:
    """A desk's store over `url` (the harness's Store, whose own opener is SQLite-only)."""
    database = open_database(url, desk="bench-desk")
    bus = Bus()
    made = Store(
        tempfile.TemporaryDirectory(prefix="crewboard-office-", dir=folder),
        database,
        Services.build(database.unit_of_work, SystemClock(), bus),
        bus,
    )
    try:
        yield made
    finally:
        for item in made.connected:
            with contextlib.suppress(Exception):
                made.tokens.delete(item.account.token_ref)
        database.dispose()
        made.folder.cleanup()


def _desk_to_provider(server: PostgresServer, box: SandboxProcess, folder: Path) -> Figure:
    key, name, target = (
        "office_desk_to_provider",
        "office: desk booking → event at the provider (serve)",
        "p95 ≤ 1 s",
    )
    with fresh_database(server) as url, _store(url, folder) as made:
        connected = connect(made, box.urls, specs(TECHS, prefix="officea"))
        service = ServeProcess.start(url, folder / "serve", poll=10)
        try:
            service.wait_owner()
            warm: list[str] = []
            outbound(made, box.urls, connected, TECHS, warm)  # the first round after taking over
            progress("office: the service owns sync; measuring desk → provider")
            providers: list[str] = []
            samples, lost = outbound(made, box.urls, connected, BOOKINGS, providers)
        finally:
            service.stop(signal.SIGTERM)
    if not samples:
        return not_measurable(key, name, "ms", target, "no booking reached the provider")
    return from_samples(
        key,
        name,
        [s * 1000 for s in samples],
        "ms",
        target,
        1000.0,
        note=f"{BOOKINGS} bookings from a desk process; the service woken by NOTIFY, poll 10 s"
        + (f"; {lost} not written within 30 s" if lost else ""),
    )


def _quiet_rounds(made: Store) -> tuple[list[float], list[float]]:
    engine = EngineThread(made)
    try:
        engine.call(engine.engine.run_once(), timeout=600)
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(QUIET_ROUNDS):
            cpu0, t0 = time.process_time(), time.perf_counter()
            engine.call(engine.engine.run_once(), timeout=600)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - cpu0)
        return wall, cpu
    finally:
        engine.stop()


def _quiet(server: PostgresServer, box: SandboxProcess, folder: Path) -> list[Figure]:
    figures = []
    found: dict[str, tuple[list[float], list[float]]] = {}
    with fresh_database(server) as url, _store(url, folder) as made:
        connect(made, box.urls, specs(TECHS, prefix="officeb"))
        found["postgresql"] = _quiet_rounds(made)
    with _store(f"sqlite:///{folder / 'quiet.db'}", folder) as made:
        connect(made, box.urls, specs(TECHS, prefix="officeb"))
        found["sqlite"] = _quiet_rounds(made)
    for kind, (wall, cpu) in found.items():
        progress(f"office: quiet rounds on {kind}: {', '.join(f'{w * 1000:.0f}' for w in wall)} ms")
        figures.append(
            from_samples(
                f"office_quiet_round_{kind}",
                f"office: quiet poll round, {TECHS * 2} calendars ({kind}, wall)",
                [w * 1000 for w in wall],
                "ms",
                "information",
                None,
                judge_on="median",
                note=f"CPU median {statistics.median(cpu) * 1000:.0f} ms; {QUIET_ROUNDS} rounds after the first",
            )
        )
    return figures


def run(out: str | None) -> list[Figure]:
    server = start_server()
    figures: list[Figure] = []
    try:
        with (
            stopped_if_we_die(server),
            tempfile.TemporaryDirectory(prefix="crewboard-office-bench-") as tmp,
            SandboxProcess() as box,
        ):
            migrate_template(server)
            box.seed(specs(TECHS, prefix="officea") + specs(TECHS, prefix="officeb"))
            figures.append(_desk_to_provider(server, box, Path(tmp)))
            figures += _quiet(server, box, Path(tmp))
    finally:
        server.stop()
    report(figures, out)
    return figures


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
