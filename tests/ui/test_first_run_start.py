"""The first run as `crewboard` starts it: a fresh store opens on the welcome, with Help ▸ About."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from app.main import demo_command
from tests.children import child_python_path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QApplication, QDialog, QLabel

    app = QApplication(sys.argv)
    seen = {}

    def look_when_ready():
        for widget in app.topLevelWidgets():
            if widget.objectName() == "mainWindow" and widget.snapshot is not None:
                first_run = getattr(widget, "first_run", None)
                seen["welcome"] = first_run is not None and first_run.panel.isVisible()
                about = widget.findChild(QAction, "aboutAction")
                about.trigger()
                dialog = widget.findChild(QDialog, "aboutDialog")
                seen["store"] = dialog.findChild(QLabel, "aboutStore").text()
                widget.close()
                return
        QTimer.singleShot(20, look_when_ready)

    QTimer.singleShot(0, look_when_ready)
    from app.main import open_app

    code = open_app(sys.argv[1])
    print("seen:", seen)
    sys.exit(code)
    """
)


def test_a_fresh_store_opens_on_the_welcome_with_about(tmp_path: Path) -> None:
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
    assert f"seen: {{'welcome': True, 'store': '{database}'}}" in done.stdout, done.stdout


def test_the_demo_command_runs_from_a_virtualenv(tmp_path: Path) -> None:
    """What "Try the demo" starts is a working command here (its --version answers)."""
    command = demo_command()
    assert command[:3] == [sys.executable, "-m", "app.cli"] and command[-1] == "demo"
    env = {**os.environ, "CREWBOARD_LOG_DIR": str(tmp_path / "logs"), "PYTHONPATH": child_python_path()}
    done = subprocess.run(
        [*command[:-1], "--version", "--db", str(tmp_path / "x.db")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("crewboard ")
