"""`crewboard conflicts` and `crewboard conflicts resolve`, on a database the engine filled."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cli.main import main
from sync.engine import SyncEngine
from tests.sync.conftest import NOW, PRIMARY, World, timed


@pytest.fixture
def cli(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Callable[..., tuple[int, str, str]]:
    monkeypatch.setenv("CREWBOARD_DB", world.database.url)
    monkeypatch.setenv("CREWBOARD_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("CREWBOARD_TIMEZONE", "America/Chicago")

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


async def test_conflicts_are_listed_and_resolved_from_the_command_line(
    world: World, engine: SyncEngine, cli: Callable[..., tuple[int, str, str]]
) -> None:
    booking = world.book(hours=3)
    world.phone.add_event(PRIMARY, timed(NOW + timedelta(hours=3)), title="Dentist")
    await engine.run_once()

    code, out, _ = cli("conflicts", "--json")
    assert code == 0
    [row] = json.loads(out)
    assert {"id", "booking_id", "tech", "kind", "status", "start", "end"} <= set(row)
    assert row["booking_id"] == booking.id and row["tech"] == "Maria"
    assert (row["kind"], row["status"], row["other_title"]) == ("overlap", "open", "Dentist")
    assert row["start"] == "2026-11-02T09:00-06:00"

    code, out, _ = cli("conflicts")
    assert code == 0 and "calendar event over the job" in out

    code, out, err = cli("conflicts", "resolve", row["id"][:8], "--reschedule", "2026-11-02T13:00")
    assert code == 0, err
    assert "moved the job to 2026-11-02T13:00-06:00" in out
    assert world.booking(booking.id).start == NOW + timedelta(hours=7)

    code, out, _ = cli("conflicts", "--json")
    assert json.loads(out) == []
    code, out, _ = cli("conflicts", "--all", "--json")
    [done] = json.loads(out)
    assert (done["status"], done["resolution"], done["resolved_by"]) == (
        "resolved",
        "reschedule",
        "dispatcher",
    )

    code, _, err = cli("conflicts", "resolve", row["id"], "--keep")
    assert code == 2 and "already resolved" in err
    code, _, err = cli("conflicts", "resolve", row["id"])
    assert code == 2 and "--keep" in err

    world.clock.current = datetime.now(UTC) + timedelta(minutes=1)  # the CLI queued on the real clock
    await engine.run_once()
    [event] = world.booking_events()
    assert event.when.start == NOW + timedelta(hours=7)
