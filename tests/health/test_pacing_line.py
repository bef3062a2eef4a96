"""`crewboard health` says so while the sync service paces its reads."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.bus import Bus
from app.cli.monitoring import health
from app.domain.model import Provider
from app.domain.time import FixedClock
from app.services.container import Services
from app.services.read_pacing import ReadPacing
from storage.database import open_database
from sync.engine.pacing_record import store_pacing
from tests.health.conftest import add_account

T0 = datetime(2026, 11, 2, 16, 5, tzinfo=UTC)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[Services, FixedClock]]:
    database = open_database(str(tmp_path / "cli.db"))
    clock = FixedClock(T0)
    try:
        yield Services.build(database.unit_of_work, clock, Bus()), clock
    finally:
        database.dispose()


def test_the_pacing_line_shows_while_the_record_is_fresh(
    office: tuple[Services, FixedClock], capsys: pytest.CaptureFixture[str]
) -> None:
    services, clock = office
    maria = services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
    add_account(services, maria, Provider.GOOGLE, "1")
    with services.uow() as uow:
        store_pacing(uow, ReadPacing(since=T0 - timedelta(minutes=3), waiting=412, updated=T0))
        uow.commit()

    assert health(services, argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert (
        "Reads are being paced to stay within the calendar providers' limits: 412 calendar read(s) "
        "wait for the next round; bookings still save and are sent at once."
    ) in out.splitlines()

    clock.advance(timedelta(minutes=3))  # the service stopped refreshing it: old news
    assert health(services, argparse.Namespace(json=False)) == 0
    assert "paced" not in capsys.readouterr().out

    with services.uow() as uow:
        store_pacing(uow, None)  # pacing ended
        uow.commit()
    assert health(services, argparse.Namespace(json=False)) == 0
    assert "paced" not in capsys.readouterr().out
