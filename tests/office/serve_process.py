"""`crewboard serve` as a real process for the office tests and the failover benchmark.

`ServeProcess.start(db, folder)` launches it on a free loopback port; `wait_for` polls its /healthz
until the answer satisfies a condition (or the process ends, or a generous deadline passes, which
fails with what was last seen). Nothing here asserts how fast anything happens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.children import ROOT, child_python_path

PATIENCE = 60.0  # seconds: long enough for a loaded 2-core machine, short of the test's own timeout
Answer = tuple[int, dict[str, Any]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    port: int
    folder: Path
    last: Answer | None = field(default=None)

    @classmethod
    def start(
        cls,
        db: str,
        folder: Path,
        *options: str,
        push: bool = False,
        poll: float = 2,
        env: dict[str, str] | None = None,
    ) -> ServeProcess:
        """`crewboard serve --db DB` with its own log folder; with `push`, its own address as the
        public one (the sandbox posts to loopback directly)."""
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        environment = {
            **os.environ,
            "CREWBOARD_LOG_DIR": str(folder / "logs"),
            "PYTHONPATH": child_python_path(),
            "CREWBOARD_LISTEN": f"127.0.0.1:{port}",
            **(env or {}),
        }
        environment.pop("CREWBOARD_PUBLIC_URL", None)
        command = [sys.executable, "-m", "app.cli", "--db", db, "serve", "--poll", str(poll), *options]
        if push:
            command += ["--public-url", url]
        with (folder / "stderr.txt").open("w") as stderr:  # the child keeps its own copy of the file
            process = subprocess.Popen(
                command, env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, text=True
            )
        return cls(process, port, folder)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def healthz(self) -> Answer | None:
        """/healthz's status and body, or None while nothing answers."""
        try:
            answer = httpx.get(f"{self.url}/healthz", timeout=5, trust_env=False)
        except httpx.TransportError:
            return None
        self.last = (answer.status_code, answer.json())
        return self.last

    def wait_for(self, condition: Callable[[Answer], bool], patience: float = PATIENCE) -> Answer:
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"crewboard serve ended ({self.process.returncode}): {self.stderr()}")
            found = self.healthz()
            if found is not None and condition(found):
                return found
            time.sleep(0.05)
        raise AssertionError(f"/healthz never answered as expected; last: {self.last}; {self.stderr()}")

    def wait_owner(self) -> Answer:
        return self.wait_for(lambda a: a[0] == 200 and a[1]["status"] == "owner")

    def log(self) -> str:
        return "".join(p.read_text("utf-8", "replace") for p in sorted((self.folder / "logs").glob("*.log*")))

    def stderr(self) -> str:
        return (self.folder / "stderr.txt").read_text("utf-8", "replace")[-2000:]

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(how)
        return self.process.wait(timeout=PATIENCE)


def owner_of(answer: Answer) -> int | None:
    """The pid the store names as sync's owner, in a /healthz answer."""
    owner = answer[1].get("owner")
    return int(owner["pid"]) if owner else None


__all__ = ["ServeProcess", "free_port", "owner_of"]
