"""The demo's CalDAV server: a real Radicale on loopback, as an iPhone tech's iCloud stands in for.

Google and Outlook techs get emulators (the rest of this package); CalDAV needs none, because a
real, small CalDAV server exists: Radicale. The demo runs it as a child of the same Python
(`python -m radicale`, or the bundle's own `--radicale`) over a folder of its own, with a generated
config and a plain htpasswd file, and seeds the tech's week by PUTting VEVENTs into it, as a phone
would. Radicale refuses port 0, so the port is one the kernel gave a socket of ours that stays bound
(SO_REUSEADDR, never listening) until Radicale has bound it. Readiness is an answered HTTP request,
polled while the child is alive; `stop()` ends the child and waits for it.
"""

from __future__ import annotations

import datetime as dt
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar

from app.errors import CrewboardError

LOOPBACK = "127.0.0.1"
READY_SECONDS = 30.0
POLL_SECONDS = 0.05  # between readiness probes: a probe of a port nobody serves yet fails at once
HTTP_TIMEOUT = 15.0


class RadicaleFailed(CrewboardError):
    """The demo's CalDAV server did not start or refused a write; the message says which."""


def radicale_command(config: Path) -> list[str]:
    """Radicale under this Python; in the bundle (no `-m`) the executable's own `--radicale`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--radicale", "--config", str(config)]
    return [sys.executable, "-m", "radicale", "--config", str(config)]


class DemoCaldavServer:
    """Radicale over `folder` (collections, users, config and its log), one user per CalDAV tech."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self._users: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def add_user(self, user: str) -> str:
        """A user with a fresh password (the tech's "app-specific password"); the password."""
        password = secrets.token_urlsafe(16)
        self._users[user] = password
        (self.folder / "users").write_text("".join(f"{u}:{p}\n" for u, p in self._users.items()))
        return password

    def password(self, user: str) -> str:
        return self._users[user]

    def start(self) -> None:
        hold = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            hold.bind((LOOPBACK, 0))
            self.port = hold.getsockname()[1]
            config = self._write_config()
            with (self.folder / "radicale.log").open("wb") as log:
                self._process = subprocess.Popen(
                    radicale_command(config),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise
        finally:
            hold.close()

    def _write_config(self) -> Path:
        if not (self.folder / "users").exists():
            (self.folder / "users").write_text("")
        config = self.folder / "config"
        config.write_text(
            "[server]\n"
            f"hosts = {LOOPBACK}:{self.port}\n"
            "[auth]\n"
            "type = htpasswd\n"
            f"htpasswd_filename = {self.folder / 'users'}\n"
            "htpasswd_encryption = plain\n"
            "delay = 0\n"
            "[rights]\n"
            "type = owner_only\n"
            "[storage]\n"
            f"filesystem_folder = {self.folder / 'collections'}\n"
            "[web]\n"
            "type = none\n"
            "[logging]\n"
            "level = warning\n"
            "mask_passwords = True\n"
        )
        return config

    def _wait_until_serving(self) -> None:
        """Probe until Radicale answers; fail as soon as it exits, or after READY_SECONDS."""
        assert self._process is not None
        deadline = time.monotonic() + READY_SECONDS
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                try:
                    answer = client.request("OPTIONS", f"{self.url}/")
                except httpx.TransportError:
                    answer = None
                if answer is not None and answer.status_code < 500:
                    return
                if time.monotonic() > deadline:
                    raise RadicaleFailed("The demo's CalDAV server (Radicale) did not answer in time.")
                try:  # waits on the child: its exit ends the wait at once
                    code = self._process.wait(timeout=POLL_SECONDS)
                except subprocess.TimeoutExpired:
                    continue
                tail = (self.folder / "radicale.log").read_text(errors="replace").strip().splitlines()[-1:]
                raise RadicaleFailed(
                    f"The demo's CalDAV server (Radicale) exited on start (code {code}): {' '.join(tail)}"
                )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

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

    # -- as the tech's phone -------------------------------------------------------------------

    def client(self, user: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, auth=(user, self._users[user]), timeout=HTTP_TIMEOUT, trust_env=False
        )

    def make_calendar(self, user: str, slug: str, name: str) -> str:
        """MKCALENDAR /user/slug/ as a calendar app makes one; the calendar's path."""
        path = f"/{user}/{slug}/"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>'
            f"<d:displayname>{name}</d:displayname>"
            '<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>'
            "</d:prop></d:set></c:mkcalendar>"
        )
        with self.client(user) as client:
            answer = client.request("MKCALENDAR", path, content=body.encode())
        if answer.status_code != 201:
            raise RadicaleFailed(f"The demo's CalDAV server refused a calendar (HTTP {answer.status_code}).")
        return path

    def put_event(self, user: str, calendar_path: str, spec: Mapping[str, Any]) -> str:
        """One seed event (the sandbox's provider-neutral spec) PUT as a new object; its path."""
        uid = str(uuid.uuid4()).upper()
        path = f"{calendar_path}{uid}.ics"
        with self.client(user) as client:
            answer = client.put(
                path,
                content=vcalendar(spec, uid, user),
                headers={"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"},
            )
        if answer.status_code not in (201, 204):
            raise RadicaleFailed(f"The demo's CalDAV server refused an event (HTTP {answer.status_code}).")
        return path


_PARTSTAT = {"accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE"}


def vcalendar(spec: Mapping[str, Any], uid: str, user: str) -> bytes:
    """The VCALENDAR an iPhone would write for a seed spec (see sync.sandbox.seed.week_specs)."""
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", dt.datetime.now(dt.UTC))
    event.add("SUMMARY", spec["summary"])
    if "start" in spec:
        tz = ZoneInfo(spec.get("timezone") or "UTC")
        event.add("DTSTART", spec["start"].astimezone(tz))
        event.add("DTEND", spec["end"].astimezone(tz))
    else:
        event.add("DTSTART", spec["start_date"])
        event.add("DTEND", spec["end_date"])
    for line in spec.get("rrule", ()):
        event.add("RRULE", icalendar.vRecur.from_ical(line.removeprefix("RRULE:")))
    if spec.get("location"):
        event.add("LOCATION", spec["location"])
    if spec.get("private"):
        event.add("CLASS", "PRIVATE")
    if spec.get("tentative"):
        event.add("STATUS", "TENTATIVE")
    if spec.get("show_as") == "free":
        event.add("TRANSP", "TRANSPARENT")
    if spec.get("organizer") and spec.get("response") in _PARTSTAT:
        event.add("ORGANIZER", f"mailto:{spec['organizer']}")
        event.add("ATTENDEE", f"mailto:{user}", parameters={"PARTSTAT": _PARTSTAT[spec["response"]]})
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Crewboard demo//iPhone stand-in//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
