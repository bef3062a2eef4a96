"""Each desk names itself: --desk, else CREWBOARD_DESK, else settings.toml, else user@host."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

import pytest

from app.domain.model import AuditEntry
from app.errors import InvalidInput
from storage import open_database
from storage.database import default_desk, desk_name
from tests.storage.conftest import T0


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The settings.toml this test's desk reads (in a config folder of its own)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("CREWBOARD_DESK", raising=False)
    folder = tmp_path / "config" / "crewboard"
    folder.mkdir(parents=True)
    return folder / "settings.toml"


def test_without_a_name_a_desk_is_user_at_host(settings: Path) -> None:
    assert default_desk() == f"{getpass.getuser()}@{socket.gethostname()}"


def test_settings_file_then_environment_name_the_desk(
    settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.write_text(
        '[store]\nurl = "postgresql://dispatch@office/crewboard"\n\n[desk]\nname = "front desk"\n'
    )
    assert default_desk() == "front desk"
    monkeypatch.setenv("CREWBOARD_DESK", "  back   office ")
    assert default_desk() == "back office"


def test_a_bad_name_is_one_sentence(settings: Path) -> None:
    settings.write_text("[desk]\nname = 7\n")
    with pytest.raises(InvalidInput, match=r"^name under \[desk\] in .*settings.toml must be text"):
        default_desk()
    with pytest.raises(InvalidInput, match="The desk name is empty"):
        desk_name(" \n ")
    with pytest.raises(InvalidInput, match="longer than 200 characters"):
        desk_name("x" * 201)


def test_the_audit_log_and_the_feed_are_signed_by_the_desk_that_wrote(db_url: str) -> None:
    front = open_database(db_url, desk="front-desk")
    back = open_database(db_url, desk="back-office")
    try:
        for database, action in ((front, "booking.created"), (back, "booking.moved")):
            with database.unit_of_work() as uow:
                uow.audit.record(AuditEntry(T0, action, "AC repair"))
                uow.settings.put(f"last.{action}", "yes")
                uow.commit()
        with front.unit_of_work(read_only=True) as uow:
            assert [(e.action, e.desk) for e in uow.audit.recent()] == [
                ("booking.moved", "back-office"),
                ("booking.created", "front-desk"),
            ]
            assert [c.desk for c in uow.changes.since(0)] == ["front-desk", "back-office"]
    finally:
        front.dispose()
        back.dispose()
