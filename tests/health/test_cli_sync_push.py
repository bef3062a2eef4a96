"""`crewboard sync --listen … --public-url …` as a real process: it answers Graph's handshake and
stops cleanly on SIGTERM; a taken address ends it with one sentence."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sync(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "CREWBOARD_DB": str(tmp_path / "sync.db"),
        "CREWBOARD_LOG_DIR": str(tmp_path / "logs"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "sync",
        "--poll",
        "60",
        "--listen",
        f"127.0.0.1:{port}",
        "--public-url",
        "https://relay.example.com/crewboard",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sync_listens_for_push_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    process = _sync(tmp_path, port)
    try:
        answer = None
        deadline = time.monotonic() + 20
        while answer is None and time.monotonic() < deadline:
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/crewboard/microsoft?validationToken=ping%20pong",
                    timeout=2,
                    trust_env=False,
                )
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200 and answer.text == "ping pong"
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Sync stopped." in err


def test_a_taken_listen_address_is_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = _sync(tmp_path, int(taken.getsockname()[1]))
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "crewboard: Cannot listen for push notices on 127.0.0.1:" in err and "Traceback" not in err
