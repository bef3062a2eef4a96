"""A client library's date-triggered warning is logged once and never reaches the user's terminal.

google-api-core warns about the running Python's end of life from a date on (2027-07-26 for 3.11).
The library's own check takes the date as an argument, so the test needs no moved clock.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = """
import datetime, sys
if sys.argv[1] == "configured":
    from app.logs import configure_logging
    configure_logging()
import google.api_core as core
far = datetime.date(9999, 12, 30)
for _ in range(3):
    core.check_python_version(package="google.api_core", today=far)
"""


def _run(mode: str, log_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode],
        capture_output=True,
        text=True,
        env={"CREWBOARD_LOG_DIR": str(log_dir), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=60,
    )


@pytest.mark.parametrize("mode", ["configured", "bare"])
def test_a_library_end_of_life_warning_goes_to_the_log_once(mode: str, tmp_path: Path) -> None:
    done = _run(mode, tmp_path)
    if mode == "bare":
        # Without Crewboard's logging the warning reaches stderr: the check really warns on that day.
        assert "FutureWarning" in done.stderr
        return
    assert done.stderr == ""
    log = (tmp_path / "crewboard.log").read_text(encoding="utf-8")
    assert log.count("py.warnings") == 1, log  # logged once for three identical warnings
    assert "FutureWarning" in log
