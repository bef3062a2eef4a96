"""On a shared computer the log and the data are this user's alone, through the real command line.

A fresh start creates the data folder and the log folder 0700 and the database and the log file
0600; a start over older, readable ones tightens them and says so in one log line each place.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _crewboard(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "CREWBOARD_TIMEZONE": "America/Chicago",
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # the umask most desktops run with
        check=False,
    )


def test_the_data_and_the_log_are_private_and_widened_ones_are_tightened(tmp_path: Path) -> None:
    added = _crewboard(
        tmp_path,
        "tech",
        "add",
        "Maria Lopez",
        "--email",
        "maria@example.com",
        "--timezone",
        "America/Chicago",
    )
    assert added.returncode == 0, added.stderr
    data = tmp_path / "data" / "crewboard"
    logs = tmp_path / "state" / "crewboard" / "log"
    db, log = data / "crewboard.db", logs / "crewboard.log"
    assert log.exists(), list(tmp_path.rglob("*"))
    assert {str(p): _mode(p) for p in (data, logs, db, log)} == {
        str(data): 0o700,
        str(logs): 0o700,
        str(db): 0o600,
        str(log): 0o600,
    }

    for path, mode in ((data, 0o755), (logs, 0o755), (db, 0o644), (log, 0o644)):
        path.chmod(mode)
    listed = _crewboard(tmp_path, "tech", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Maria Lopez" in listed.stdout
    assert [_mode(p) for p in (data, logs, db, log)] == [0o700, 0o700, 0o600, 0o600]
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if "Made private" in line]
    assert len(lines) == 2, lines  # one for the log, one for the data
    assert str(logs) in lines[0] and str(log) in lines[0]
    assert str(data) in lines[1] and str(db) in lines[1]
    assert "Made private" not in listed.stderr  # the log says it; the terminal stays quiet


def test_a_rotated_log_starts_private_too(tmp_path: Path) -> None:
    from app.logs import PrivateRotatingFileHandler

    old = os.umask(0o022)
    try:
        handler = PrivateRotatingFileHandler(tmp_path / "crewboard.log", maxBytes=200, backupCount=2)
        try:
            for n in range(20):
                handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, f"line {n} " * 5, None, None))
        finally:
            handler.close()
    finally:
        os.umask(old)
    files = sorted(tmp_path.iterdir())
    assert [p.name for p in files] == ["crewboard.log", "crewboard.log.1", "crewboard.log.2"]
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
