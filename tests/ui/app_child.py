"""Starting the desktop app in a child process, the way `crewboard` does, and looking at its window.

The child runs app.main.open_app on a database file (offscreen) and, once the main window shows its
first snapshot, runs the caller's lines with `widget` (the main window) and `seen` (a dict) in
scope, closes the window and prints `seen:` with what the lines put in it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.children import ROOT, child_python_path

_SCRIPT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDialog, QLabel

app = QApplication(sys.argv)
seen = {{}}

def look(widget):
{look}

def look_when_ready():
    for widget in app.topLevelWidgets():
        if widget.objectName() == "mainWindow" and widget.snapshot is not None:
            look(widget)
            widget.close()
            return
    QTimer.singleShot(20, look_when_ready)

QTimer.singleShot(0, look_when_ready)
from app.main import open_app

code = open_app(sys.argv[1])
print("seen:", seen)
sys.exit(code)
"""


def run_app(tmp_path: Path, database: Path, look: str) -> subprocess.CompletedProcess[str]:
    """open_app on `database` in a child; `look` is the body of look(widget), filling `seen`."""
    script = _SCRIPT.format(look=textwrap.indent(textwrap.dedent(look).strip(), "    "))
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CREWBOARD_LOG_DIR": str(tmp_path / "logs"),
        "PYTHONPATH": child_python_path(),
    }
    return subprocess.run(
        [sys.executable, "-c", script, str(database)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
