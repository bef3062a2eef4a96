"""Starting the desktop app the way `crewboard` does: a fresh database, the window, a clean exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.children import child_python_path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    seen = []

    def close_when_ready():
        for widget in app.topLevelWidgets():
            if widget.objectName() == "mainWindow" and widget.snapshot is not None:
                seen.append(widget.windowTitle())
                widget.close()
                return
        QTimer.singleShot(20, close_when_ready)

    QTimer.singleShot(0, close_when_ready)
    from app.main import open_app

    code = open_app(sys.argv[1])
    print("title:", seen)
    sys.exit(code)
    """
)


def test_open_app_creates_the_database_shows_the_board_and_exits_cleanly(tmp_path: Path) -> None:
    database = tmp_path / "office.db"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CREWBOARD_LOG_DIR": str(tmp_path / "logs"),
        "PYTHONPATH": child_python_path(),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(database)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "title: ['Crewboard']" in done.stdout
    assert database.exists()
    assert "Traceback" not in done.stderr
