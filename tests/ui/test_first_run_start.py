"""The first run as `crewboard` starts it: a fresh store opens on the welcome, with Help ▸ About."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.main import demo_command
from tests.children import ROOT, child_python_path
from tests.ui.app_child import run_app


def test_a_fresh_store_opens_on_the_welcome_with_about(tmp_path: Path) -> None:
    database = tmp_path / "office.db"
    done = run_app(
        tmp_path,
        database,
        """
        first_run = getattr(widget, "first_run", None)
        seen["welcome"] = first_run is not None and first_run.panel.isVisible()
        widget.findChild(QAction, "aboutAction").trigger()
        dialog = widget.findChild(QDialog, "aboutDialog")
        seen["store"] = dialog.findChild(QLabel, "aboutStore").text()
        """,
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
