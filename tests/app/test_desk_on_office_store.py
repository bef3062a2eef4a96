"""The rule for a desk: on an office store (PostgreSQL) it never syncs and hands sign-ins to the
service; on SQLite it syncs and keeps them in its keyring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import app.main
from sync.token_handover import HandoverTokenStore


def _desk_opened_on(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """What `crewboard` (open_app) asks of the desktop for the store `db_url`, window left unopened."""
    seen: dict[str, Any] = {}

    def run_desktop(services: Any, **options: Any) -> int:
        seen.update(options)
        return 0

    monkeypatch.setenv("CREWBOARD_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(app.main, "run_desktop", run_desktop)
    assert app.main.open_app(db_url) == 0
    return seen


def test_a_desk_on_the_office_store_runs_no_sync(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    opened = _desk_opened_on(pg_url, monkeypatch, tmp_path)
    assert opened["sync"] is False
    # Its sign-ins are sealed to the office service, never kept in this desk's keyring.
    assert isinstance(opened["store"], HandoverTokenStore)


def test_a_desk_on_its_own_sqlite_file_syncs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    opened = _desk_opened_on(str(tmp_path / "desk.db"), monkeypatch, tmp_path)
    assert opened["sync"] is True and opened["store"] is None
