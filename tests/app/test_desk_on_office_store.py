"""The rule for a desk: on an office store (PostgreSQL) it never syncs; on SQLite it does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import app.main


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
    assert _desk_opened_on(pg_url, monkeypatch, tmp_path)["sync"] is False


def test_a_desk_on_its_own_sqlite_file_syncs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert _desk_opened_on(str(tmp_path / "desk.db"), monkeypatch, tmp_path)["sync"] is True
