"""A real Radicale CalDAV server for tests: a subprocess on loopback over a temporary folder.

Radicale refuses port 0, so the port is one the kernel picked for a socket of ours that stays
bound (SO_REUSEADDR, never listening) until Radicale listens on it: no other test's socket can be
given it meanwhile. We wait for Radicale's "Listening on" line, then for an HTTP answer, never for
a fixed time. A restart (for outage tests)
binds the same port again. Users sign in with htpasswd (plain) passwords; calendars are made
with MKCALENDAR, as a client would.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue

import httpx

from tests.pg import real_clock_env

READY_TIMEOUT = 30.0
_LISTENING = re.compile(r"Listening on '?(?P<host>[0-9.]+):(?P<port>\d+)'?")


class RadicaleError(RuntimeError):
    pass


def mkcalendar_body(name: str, color: str | None = None) -> bytes:
    color_prop = f"<ic:calendar-color>{color}</ic:calendar-color>" if color else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" '
        'xmlns:ic="http://apple.com/ns/ical/"><d:set><d:prop>'
        f"<d:displayname>{name}</d:displayname>{color_prop}"
        "<c:supported-calendar-component-set><c:comp name='VEVENT'/></c:supported-calendar-component-set>"
        "</d:prop></d:set></c:mkcalendar>"
    ).encode()


class RadicaleServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.storage = folder / "collections"
        self.users = folder / "users"
        self.config = folder / "config"
        self.port = 0
        self._process: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None
        self._log: list[str] = []
        self._users: dict[str, str] = {}
        folder.mkdir(parents=True, exist_ok=True)
        self.users.write_text("")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_user(self, name: str, password: str) -> None:
        self._users[name] = password
        self.users.write_text("".join(f"{u}:{p}\n" for u, p in self._users.items()))

    def password(self, user: str) -> str:
        return self._users[user]

    def _write_config(self) -> None:
        self.config.write_text(
            "[server]\n"
            f"hosts = 127.0.0.1:{self.port}\n"
            "max_content_length = 8000000\n"
            "[auth]\n"
            "type = htpasswd\n"
            f"htpasswd_filename = {self.users}\n"
            "htpasswd_encryption = plain\n"
            "delay = 0\n"
            "[rights]\n"
            "type = owner_only\n"
            "[storage]\n"
            f"filesystem_folder = {self.storage}\n"
            "[web]\n"
            "type = none\n"
            "[logging]\n"
            "level = info\n"
            "mask_passwords = True\n"
        )

    def start(self) -> None:
        if self._process is not None:
            raise RadicaleError("Radicale is already running")
        hold = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hold.bind(("127.0.0.1", self.port))
        try:
            self.port = hold.getsockname()[1]
            self._launch()
        finally:
            hold.close()

    def _launch(self) -> None:
        self._write_config()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            # A server keeps its own, real clock (scripts/test-dates moves only ours): under a moved
            # clock Radicale judged its sync tokens by real file times and expired them at once.
            env=real_clock_env(),
        )
        lines: Queue[str | None] = Queue()

        def pump(stream: object) -> None:
            assert self._process is not None and self._process.stderr is not None
            for line in self._process.stderr:
                self._log.append(line)
                lines.put(line)
            lines.put(None)

        self._pump = threading.Thread(target=pump, args=(None,), daemon=True)
        self._pump.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except Empty:
                self.stop()
                raise RadicaleError("Radicale did not say where it listens in time") from None
            if line is None:
                self.stop()
                raise RadicaleError("Radicale exited on start:\n" + "".join(self._log[-20:]))
            if _LISTENING.search(line):
                break
        self._wait_for_http(deadline)

    def _wait_for_http(self, deadline: float) -> None:
        """The socket is bound; one answered request proves the server thread serves it."""
        with httpx.Client(timeout=max(1.0, deadline - time.monotonic()), trust_env=False) as client:
            answer = client.request("OPTIONS", f"{self.url}/")
        if answer.status_code >= 500:
            raise RadicaleError(f"Radicale answered HTTP {answer.status_code} when ready")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._pump is not None:
            self._pump.join()  # it ends at the closed pipe's end of file
            self._pump = None
        if process.stderr is not None:
            process.stderr.close()

    @property
    def running(self) -> bool:
        return self._process is not None

    def log_text(self) -> str:
        return "".join(self._log)

    def client(self, user: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(user, self._users[user]), timeout=15, trust_env=False)

    def make_calendar(self, user: str, slug: str, name: str, color: str | None = None) -> str:
        """MKCALENDAR /user/slug/; the calendar's path."""
        path = f"/{user}/{slug}/"
        with self.client(user) as client:
            answer = client.request("MKCALENDAR", path, content=mkcalendar_body(name, color))
        if answer.status_code != 201:
            raise RadicaleError(f"MKCALENDAR {path} answered HTTP {answer.status_code}: {answer.text[:200]}")
        return path

    def forget_sync_tokens(self, user: str, slug: str) -> None:
        """Drop the calendar's sync-token history, as a server does when it expires old tokens."""
        cache = self.storage / "collection-root" / user / slug / ".Radicale.cache" / "sync-token"
        if cache.is_dir():
            for entry in cache.iterdir():
                entry.unlink()
