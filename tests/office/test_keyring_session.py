"""resources/crewboard-keyring-session, which the systemd unit starts `crewboard serve` through: a
token saved in one session (say by `crewboard connect` as the service's user) is there in the next
(the service's start), and without its password it refuses with one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.children import ROOT

SCRIPT = ROOT / "resources" / "crewboard-keyring-session"

pytestmark = pytest.mark.keyring


def _in_session(tmp_path: Path, code: str, password_file: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DBUS_SESSION_BUS_ADDRESS", "CREWBOARD_IN_SECRET_SERVICE", "XDG_RUNTIME_DIR")
    }
    env |= {
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),  # the unit's StateDirectory: kept between starts
        "CREWBOARD_KEYRING_PASSWORD_FILE": str(password_file),
    }
    return subprocess.run(
        [str(SCRIPT), sys.executable, "-c", code],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_token_saved_in_one_session_is_read_in_the_next(tmp_path: Path) -> None:
    password = tmp_path / "keyring-password"
    password.write_text("office-keyring-password", "utf-8")
    saved = _in_session(
        tmp_path,
        "import keyring; keyring.set_password('crewboard-office-test', 'maria', 'refresh-1')",
        password,
    )
    assert saved.returncode == 0, saved.stderr
    read = _in_session(
        tmp_path, "import keyring; print(keyring.get_password('crewboard-office-test', 'maria'))", password
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "refresh-1"
    assert (tmp_path / "data" / "keyrings").is_dir()


def test_without_its_password_it_says_so_and_starts_nothing(tmp_path: Path) -> None:
    ran = _in_session(tmp_path, "print('started')", tmp_path / "missing")
    assert ran.returncode == 4
    assert "no keyring password at" in ran.stderr and "started" not in ran.stdout
