"""`crewboard demo` stopped with SIGTERM (a closed session, `kill`) removes its folders, as closing
the window does: the demo's temporary folder and the sandbox's TLS folder, and stops the CalDAV
server (Radicale) it runs in its folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.children import ROOT, child_python_path

pytestmark = [pytest.mark.slow, pytest.mark.keyring]

# Logged once the window is up and its sync runs (the demo's push receiver is part of it).
WINDOW_UP = "demo push notices are received on"


def _wait_for(condition: str, log: Path, child: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert child.poll() is None, "the demo ended by itself"
        if log.exists() and condition in log.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"the demo never logged {condition!r}")


@pytest.mark.timeout(180)
def test_a_demo_stopped_with_sigterm_leaves_no_folder_behind(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    logs = tmp_path / "logs"
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "CREWBOARD_LOG_DIR": str(logs),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": child_python_path(),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(WINDOW_UP, logs / "crewboard.log", child)
        assert any("radicale" in c for c in _processes_naming(temp))
        made = sorted(p.name.split("-")[1] for p in temp.iterdir())
        assert made == ["demo", "sandbox"], made  # crewboard-demo-…, crewboard-sandbox-tls-…
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert list(temp.iterdir()) == []
    assert _processes_naming(temp) == [], "the demo's Radicale outlived it"


def _processes_naming(folder: Path) -> list[str]:
    """Command lines of running processes that name `folder` (Radicale's config lies in it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        if str(folder) in command:
            found.append(command)
    return found
