"""The sync commands: `crewboard sync` runs the engine, `crewboard conflicts` lists and decides conflicts.

`sync --once` runs one round and prints one line per account: the events it read and the events it
wrote (created, changed or deleted) in that account's calendars. When an account failed, it says
which on stderr and exits 5 (AccountsFailing); the writes wait in the outbox. Without `--once` it runs
until Ctrl-C or SIGTERM and then stops cleanly, releasing the sync lock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any, cast

from app.cli.args import Parser, parse_instant
from app.cli.monitoring import add_health_arguments, check_push_arguments
from app.cli.output import emit_json, emit_table, local_iso
from app.domain.ids import AccountId
from app.domain.model import AccountStatus, CalendarAccount, Conflict, Resolution
from app.domain.time import zone
from app.errors import AccountsFailing, InvalidInput
from app.office import office_zone, office_zone_name
from app.services.container import Services

if TYPE_CHECKING:  # the sync machinery loads only for the commands that run it
    from sync.engine import SyncEngine
    from sync.engine.lock import EngineLock
    from sync.engine.ports import ProviderFor
    from sync.health_monitor import HealthMonitor


def add_sync_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `crewboard sync`. Push (--listen, --public-url) and health escalation
    (--warn-after, --dispatcher-after, --owner-after) options are added here too."""
    parser.add_argument(
        "--once", action="store_true", help="run one round, print a line per account, and exit"
    )
    parser.add_argument(
        "--poll",
        type=seconds_argument,
        default=10.0,
        metavar="SECONDS",
        help="how often to read every calendar (default 10; writes go out at once)",
    )
    parser.add_argument(
        "--accept-deletions",
        action="store_true",
        help="apply calendar changes the mass-delete guard refused, after you checked the account",
    )
    add_health_arguments(parser)


def register(sub: Any) -> None:
    """Add `sync` and `conflicts` to the main parser's subcommands."""
    sy = sub.add_parser("sync", help="keep bookings and technicians' calendars in sync")
    add_sync_arguments(sy)
    sy.set_defaults(run=run_sync)

    cf = sub.add_parser("conflicts", help="list sync conflicts, or decide one")
    cf.add_argument("--all", action="store_true", help="include resolved conflicts")
    cf.add_argument("--json", action="store_true")
    cf.set_defaults(run=list_conflicts)
    actions = cf.add_subparsers(dest="conflicts_command", metavar="ACTION", parser_class=Parser)
    rs = actions.add_parser("resolve", help="decide a conflict: keep, reschedule or reassign the job")
    rs.add_argument("id", help="conflict id (the first 8 characters are enough)")
    how = rs.add_mutually_exclusive_group(required=True)
    how.add_argument("--keep", action="store_true", help="keep the job as booked")
    how.add_argument("--reschedule", metavar="ISO", help="move the job to this start")
    how.add_argument("--reassign", metavar="TECH", help="give the job to another technician")
    rs.add_argument("--json", action="store_true")
    rs.set_defaults(run=resolve_conflict)


MAX_POLL_SECONDS = 86400


def seconds_argument(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds")
    if value < 1 or value > MAX_POLL_SECONDS:
        raise argparse.ArgumentTypeError(
            f"the poll interval must be between 1 and {MAX_POLL_SECONDS} seconds (a day)"
        )
    return value


# --- sync -----------------------------------------------------------------------------------------


def build_engine(
    s: Services, a: argparse.Namespace, provider_for: ProviderFor, holder: str
) -> tuple[SyncEngine, HealthMonitor, EngineLock]:
    """The engine, its health monitor and its lock, as `sync` and `serve` run them: alert thresholds from the
    flags (else settings.toml), the read pacer from settings, and the store's sync lock (on
    PostgreSQL the office's advisory lock, so a `sync` and a `serve` never both sync one store)."""
    from storage.database import database_url
    from sync.engine import SyncEngine
    from sync.engine.lock import sync_lock_for
    from sync.engine.pacer_settings import pacer_limits
    from sync.engine.read_pacer import ReadPacer
    from sync.providers.config import read_settings_file, settings_path
    from sync.wiring import build_health_monitor

    monitor = build_health_monitor(
        s.uow,
        s.clock,
        s.bus,
        warn=a.warn_after,
        dispatcher=a.dispatcher_after,
        owner=a.owner_after,
        office_zone=office_zone(),
    )
    lock = sync_lock_for(database_url(a.db), s.uow, s.clock, holder)
    engine = SyncEngine(
        s.uow,
        provider_for,
        s.clock,
        s.bus,
        poll_seconds=a.poll,
        health=monitor,
        pacer=ReadPacer(s.clock, pacer_limits(read_settings_file(), settings_path())),
        lock=lock,
    )
    return engine, monitor, lock


def run_sync(s: Services, a: argparse.Namespace) -> int:
    from app.web.server import serve_routes
    from sync.providers.factory import open_provider
    from sync.providers.protocol import CalendarProvider
    from sync.providers.secrets import TokenStore
    from sync.wiring import SyncCompanions

    check_push_arguments(a.listen, a.public_url)
    if a.once and a.listen is not None:
        raise InvalidInput("--listen needs a sync that keeps running; leave out --once.")
    store = TokenStore()
    writes: Counter[AccountId] = Counter()

    def provider_for(account: CalendarAccount) -> CalendarProvider:
        provider = open_provider(account, store)
        if a.once:  # count what each account's calendars were sent, for the report
            return cast(CalendarProvider, _CountedWrites(provider, account.id, writes))
        return provider

    engine, monitor, _lock = build_engine(s, a, provider_for, "crewboard sync")
    engine.accept_mass_delete = a.accept_deletions
    if a.once:
        return asyncio.run(_once(engine, monitor, writes))
    companions = SyncCompanions(
        monitor,
        s.uow,
        s.clock,
        provider_for,
        a.listen,
        a.public_url,
        pool=engine.providers,
        polls=engine.polls,
        serve=serve_routes if a.listen is not None else None,
    )
    return asyncio.run(_forever(engine, companions))


class _CountedWrites:
    """A provider that counts the events it created, changed or deleted for one account.

    The round's own per-account figure counts the flush passes in which an account wrote, not the
    events, so ten new jobs read as "1 write(s)"; the provider sees every confirmed write.
    """

    def __init__(self, inner: Any, account_id: AccountId, counts: Counter[AccountId]) -> None:
        self._inner = inner
        self._account_id = account_id
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create_event(self, *args: Any, **kwargs: Any) -> Any:
        written = await self._inner.create_event(*args, **kwargs)
        self._counts[self._account_id] += 1
        return written

    async def update_event(self, *args: Any, **kwargs: Any) -> Any:
        written = await self._inner.update_event(*args, **kwargs)
        self._counts[self._account_id] += 1
        return written

    async def delete_event(self, *args: Any, **kwargs: Any) -> None:
        await self._inner.delete_event(*args, **kwargs)
        self._counts[self._account_id] += 1


async def _once(engine: Any, monitor: Any, writes: Counter[AccountId]) -> int:
    try:
        report = await engine.run_once()
        await monitor.check()  # escalate outages and e-mail alerts, as a running sync would
    finally:
        await engine.aclose()
    if not report.accounts:
        print("No calendars connected; nothing to sync. Connect one with 'crewboard connect'.")
    failing: list[str] = []
    for account_id, entry in report.accounts.items():
        entry.writes = writes[account_id]
        print(entry.summary())
        if account_id in report.errors or entry.status is not AccountStatus.CONNECTED:
            why = report.errors.get(account_id) or entry.error or entry.status.value.replace("_", " ")
            failing.append(f"{entry.tech} ({entry.provider.value} {entry.email}): {' '.join(why.split())}")
    for reason in report.refused:
        print(f"Refused: {reason}")
    if report.conflicts_opened:
        print(f"{report.conflicts_opened} new conflict(s); see 'crewboard conflicts'.")
    if failing:
        sys.stdout.flush()
        raise AccountsFailing(
            f"Sync failed for {len(failing)} account(s), whose writes wait in the outbox: "
            f"{'; '.join(failing)}. See 'crewboard health'."
        )
    return 0


async def _forever(engine: Any, companions: Any) -> int:
    from sync.engine import EngineLocked

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers on the loop
            loop.add_signal_handler(signum, stop.set)
    _say(f"Syncing calendars as {engine.holder}; press Ctrl-C to stop.")
    beside = asyncio.create_task(companions.run(engine.request_read, stop))
    running: asyncio.Task[None] | None = None
    try:
        try:
            await engine.run_once()
        except EngineLocked as locked:
            _say(f"{locked} Waiting.")
        running = asyncio.create_task(engine.run_forever(stop))
        done, _pending = await asyncio.wait({running, beside}, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()  # a failure of either (say, the push address is taken) ends the sync
    finally:
        stop.set()
        await asyncio.gather(*(t for t in (beside, running) if t is not None), return_exceptions=True)
        await engine.aclose()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
    _say("Sync stopped.")
    return 0


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# --- conflicts ------------------------------------------------------------------------------------


def conflict_json(s: Services, conflict: Conflict) -> dict[str, Any]:
    booking = s.bookings.get(conflict.booking_id)
    tech = next(
        (t for t in s.techs.list(include_removed=True) if t.id == (booking.tech_id or conflict.tech_id)), None
    )
    tz = tech.timezone if tech else office_zone_name()
    return {
        "id": conflict.id,
        "booking_id": conflict.booking_id,
        "tech": tech.name if tech else None,
        "kind": conflict.kind.value,
        "status": conflict.status.value,
        "start": local_iso(booking.start, tz) if booking.start else None,
        "end": local_iso(booking.end, tz) if booking.end else None,
        "service": booking.service,
        "other_title": conflict.other_title,
        "other_start": local_iso(conflict.other_start, tz) if conflict.other_start else None,
        "other_end": local_iso(conflict.other_end, tz) if conflict.other_end else None,
        "detail": conflict.detail,
        "opened_at": conflict.opened_at.isoformat(),
        "resolution": conflict.resolution.value if conflict.resolution else None,
        "resolved_by": conflict.resolved_by,
        "resolved_at": conflict.resolved_at.isoformat() if conflict.resolved_at else None,
    }


_KIND_TEXT = {
    "overlap": "calendar event over the job",
    "edited_both": "changed on both sides",
    "event_deleted": "tech deleted the job's event",
}


def list_conflicts(s: Services, a: argparse.Namespace) -> int:
    rows = [conflict_json(s, c) for c in s.conflicts.list(include_resolved=a.all)]
    if a.json:
        emit_json(rows)
    elif not rows:
        print("No open conflicts." if not a.all else "No conflicts yet.")
    else:
        emit_table(
            [
                [
                    r["id"][:8],
                    r["tech"] or "",
                    r["start"] or "",
                    r["service"],
                    _KIND_TEXT.get(r["kind"], r["kind"]),
                    r["status"]
                    if r["status"] == "open"
                    else f"{r['resolution'] or 'closed'} by {r['resolved_by']}",
                ]
                for r in rows
            ],
            ["ID", "TECH", "START", "JOB", "WHAT", "STATUS"],
        )
    return 0


def resolve_conflict(s: Services, a: argparse.Namespace) -> int:
    conflict = s.conflicts.get(a.id)
    if a.keep:
        done = s.conflicts.resolve(conflict.id, Resolution.KEEP)
        what = "kept the job as booked"
    elif a.reschedule:
        booking = s.bookings.get(conflict.booking_id)
        tech = next((t for t in s.techs.list(include_removed=True) if t.id == booking.tech_id), None)
        tz = tech.timezone if tech else office_zone_name()
        start = parse_instant(a.reschedule, zone(tz))
        done = s.conflicts.resolve(
            conflict.id, Resolution.RESCHEDULE, start=start, expected_version=booking.version
        )
        what = f"moved the job to {local_iso(start, tz)}"
    elif a.reassign:
        seen = s.bookings.get(conflict.booking_id).version  # never over another desk's newer change
        done = s.conflicts.resolve(conflict.id, Resolution.REASSIGN, tech=a.reassign, expected_version=seen)
        what = f"gave the job to {a.reassign}"
    else:  # argparse requires one of them; this keeps the intent explicit
        raise InvalidInput("Say how to resolve it: --keep, --reschedule ISO or --reassign TECH.")
    if a.json:
        emit_json(conflict_json(s, done))
    else:
        print(f"Resolved conflict {done.id[:8]}: {what}. The calendar follows at the next sync.")
    return 0
