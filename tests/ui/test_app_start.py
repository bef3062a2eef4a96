"""Starting the desktop app the way `crewboard` does: a fresh database, the window, a clean exit."""

from __future__ import annotations

from pathlib import Path

from tests.ui.app_child import run_app


def test_open_app_creates_the_database_shows_the_board_and_exits_cleanly(tmp_path: Path) -> None:
    database = tmp_path / "office.db"
    done = run_app(tmp_path, database, 'seen["title"] = widget.windowTitle()')
    assert done.returncode == 0, done.stderr
    assert "seen: {'title': 'Crewboard'}" in done.stdout
    assert database.exists()
    assert "Traceback" not in done.stderr
