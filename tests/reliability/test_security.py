"""Security after a whole day's work: connect both providers, book, sync, phone edits, disconnect.

- No token (access, refresh, ID: from the keyring and every token the sandbox issued) is in the log,
  the database or anywhere in the data folder. This extends the connect-only scan of
  tests/accounts/test_cli_accounts.py (its fixtures are reused) to a run with sync and phone edits.
- Private events' titles, descriptions and attendees never reach the database (file bytes, WAL
  and every row).
- Every write the sandbox received from us touched only the events Crewboard created: the phone's
  own requests are told apart by the request log's sequence numbers around them.
- The sign-ins asked for exactly the minimal scopes.
Forged push notifications are covered by tests/health/test_push_receiver.py, and hostile
traffic to the push receiver by tests/health/test_push_hostile.py.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.providers.secrets import TokenStore
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import keyring_problem, token_store
from tests.accounts.test_cli_accounts import (
    GOOGLE,
    OUTLOOK,
    _log_files,
    cli,
    connect_both,
    crew,
    data_dir,
    verbose_logging,
)
from tests.cli.conftest import Result, _cli_env
from tests.sandbox.conftest import control, sandbox
from tests.soak.phones import PRIVATE_PREFIX, GooglePhone, OutlookPhone, Phone
from tests.soak.runner import WRITE_METHODS

__all__ = [
    "_cli_env",
    "cli",
    "control",
    "crew",
    "data_dir",
    "keyring_problem",
    "sandbox",
    "token_store",
    "verbose_logging",
]

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

Cli = Callable[..., Result]
GOOGLE_SCOPES = {"calendar.events", "calendar.calendarlist.readonly"}
GRAPH_SCOPES = {"Calendars.ReadWrite", "User.Read"}
OIDC = {"openid", "profile", "email", "offline_access"}


class PhoneLog:
    """Runs phone work and remembers the request-log sequence numbers it used."""

    def __init__(self, control: httpx.Client) -> None:
        self.control = control
        self.ranges: list[tuple[int, int]] = []

    def _last(self) -> int:
        return max((int(e["seq"]) for e in self.control.get("/requests").json()), default=0)

    @contextlib.contextmanager
    def phone(self) -> Iterator[None]:
        first = self._last()
        yield
        self.ranges.append((first, self._last()))

    def is_phone(self, seq: int) -> bool:
        return any(first < seq <= last for first, last in self.ranges)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _rows(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for t in tables for row in conn.execute(f"SELECT * FROM {t}"))


def test_tokens_private_details_writes_and_scopes_after_a_full_run(
    crew: Cli,
    sandbox: Sandbox,
    control: httpx.Client,
    data_dir: Path,
    token_store: TokenStore,
    verbose_logging: None,
) -> None:
    connect_both(crew, sandbox)
    assert sandbox.urls.graph is not None
    log = PhoneLog(control)
    with log.phone():
        phones: list[Phone] = [
            GooglePhone(control, GOOGLE, sandbox.urls.google),
            OutlookPhone(control, OUTLOOK, sandbox.urls.graph, sandbox.urls.ca),
        ]
    try:
        for n, (tech, phone) in enumerate((("Maria Lopez", phones[0]), ("Sam Reed", phones[1]))):
            booked = crew(
                "book", "--tech", tech, "--customer", f"Customer {n}", "--service", "AC repair",
                "--start", f"2030-11-0{5 + n}T09:00", "--duration", "60", "--force",
            )  # fmt: skip
            assert booked.code == 0, booked.err
            with log.phone():
                start = __import__("datetime").datetime.fromisoformat(f"2030-11-0{5 + n}T13:00-06:00")
                assert phone.add(f"{PRIVATE_PREFIX}Therapy-{n}-7f3a", start, 60, private=True)
                assert phone.add(f"Errand gym {n}", start.replace(hour=15), 60)
        for _ in range(2):
            assert crew("sync", "--once").code == 0

        with log.phone():  # the techs edit: move their job, delete a personal event
            for phone in phones:
                events = phone.events() or []
                [job] = [e for e in events if e["title"].startswith("AC repair")]
                assert phone.move(job["id"], job["start"].replace(hour=10), 60)
                [gym] = [e for e in events if e["title"].startswith("Errand gym")]
                assert phone.delete(gym["id"])
        for _ in range(2):
            assert crew("sync", "--once").code == 0

        db = data_dir / "crewboard.db"
        with contextlib.closing(sqlite3.connect(db)) as conn:
            ours = {r[0] for r in conn.execute("SELECT remote_id FROM event_links")}
        assert len(ours) == 2

        # Every token in play, gathered before disconnecting removes them from the keyring.
        secrets: set[str] = set()
        google = token_store.load(f"google:{GOOGLE}")
        assert google is not None
        secrets.add(google["refresh_token"])
        outlook = token_store.load(f"microsoft:{OUTLOOK}")
        assert outlook is not None
        cache = json.loads(outlook["msal_cache"])
        for kind in ("AccessToken", "RefreshToken", "IdToken"):
            secrets |= {entry["secret"] for entry in cache[kind].values()}
        state = sandbox.state()
        for node in _walk(state):
            for key in ("token", "access_token", "refresh_token", "id_token"):
                if isinstance(node.get(key), str) and len(node[key]) > 20:
                    secrets.add(node[key])
        assert len(secrets) >= 6

        for tech in ("Maria Lopez", "Sam Reed"):
            provider = "google" if tech == "Maria Lopez" else "microsoft"
            assert crew("disconnect", tech, "--provider", provider).code == 0
    finally:
        for phone in phones:
            phone.close()

    # Tokens: nowhere in the data folder (database, WAL, logs, settings) or the log files.
    files = [p for p in data_dir.rglob("*") if p.is_file()] + _log_files()
    assert db in files and any(p.suffix == ".log" for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"a token was written to {path}"

    # Private events: neither in the database's bytes nor in any row.
    raw = b"".join(p.read_bytes() for p in data_dir.glob("crewboard.db*"))
    rows = _rows(db)
    for marker in (PRIVATE_PREFIX, "Therapy", "attendee.example.com", "description"):
        assert marker.encode() not in raw, f"{marker!r} reached the database file"
        assert marker not in rows, f"{marker!r} reached a database row"

    # Our writes touched only our booking events (creates go to the collection, never elsewhere).
    writes = [
        e
        for e in control.get("/requests").json()
        if e["method"] in WRITE_METHODS
        and "/events" in e["path"]
        and not e["path"].endswith(("/watch", "/stop"))
        and not log.is_phone(int(e["seq"]))
    ]
    assert writes, "the sync wrote nothing: the check below would prove nothing"
    for entry in writes:
        path = entry["path"].rstrip("/")
        if entry["method"] == "POST" and path.endswith("/events"):
            continue  # a create: the only events it makes are the bookings' (two links above)
        event_id = path.rsplit("/", 1)[-1]
        assert event_id in ours, f"{entry['method']} {path} touched an event Crewboard did not create"
    creates = [e for e in writes if e["method"] == "POST" and e["path"].rstrip("/").endswith("/events")]
    assert len(creates) == 2

    # Scopes: exactly the minimal ones, as the sandbox recorded what each sign-in was granted.
    granted: list[set[str]] = []
    for node in _walk(state):
        scopes = node.get("scopes")
        if isinstance(scopes, list) and node.get("client_id"):
            granted.append({str(s).rsplit("/", 1)[-1] for s in scopes} - OIDC)
    assert GOOGLE_SCOPES in granted and GRAPH_SCOPES in granted, granted
    assert all(g in (GOOGLE_SCOPES, GRAPH_SCOPES) for g in granted), granted
