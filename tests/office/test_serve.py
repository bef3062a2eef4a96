"""`crewboard serve` as real processes: /healthz, one owner and a standby, on SQLite's lock row and
on PostgreSQL's advisory lock (ownership moves when the owner is killed or cut off)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import psycopg
import psycopg.sql
import pytest
from sqlalchemy.engine import make_url

from app.domain.time import SystemClock
from app.services.sync_owner import SyncOwnerService
from storage.database import open_database
from tests.children import ROOT, child_python_path
from tests.office.serve_process import PATIENCE, ServeProcess, owner_of

pytestmark = pytest.mark.slow


def _owner_row(db: str) -> tuple[int, str] | None:
    database = open_database(db)
    try:
        owner = SyncOwnerService(database.unit_of_work, SystemClock()).current()
    finally:
        database.dispose()
    return None if owner is None else (owner.pid, owner.since.isoformat())


def _health(db: str, tmp_path: Path) -> str:
    """What `crewboard health` prints, as a desk would run it."""
    env = {
        **os.environ,
        "CREWBOARD_LOG_DIR": str(tmp_path / "health-logs"),
        "PYTHONPATH": child_python_path(),
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", db, "health"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=PATIENCE, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_serve_answers_healthz_and_gives_ownership_up_on_sigterm(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'office.db'}"
    serve = ServeProcess.start(db, tmp_path / "a", env={"CREWBOARD_BUSINESS_NAME": "Harbor Heating"})
    try:
        status, body = serve.wait_owner()
        assert status == 200 and body["store"] == "reachable"
        assert owner_of((status, body)) == serve.pid and "crewboard serve (pid" in body["owner"]["holder"]
        other = httpx.post(f"{serve.url}/nowhere", trust_env=False, timeout=5)
        assert other.status_code == 404  # the push routes answer every other path, as before
        assert parsedate_to_datetime(other.headers["date"]).tzinfo is not None  # HTTP asks a Date of us
        page = httpx.get(f"{serve.url}/book/", trust_env=False, timeout=5)  # the booking page, mounted
        assert page.status_code == 200 and "Harbor Heating" in page.text
        job = httpx.get(f"{serve.url}/job/not-a-token", trust_env=False, timeout=5)  # the job pages too
        assert job.status_code == 404 and "This link does not open a job" in job.text
        told = _health(db, tmp_path)
        assert f"Calendar sync is owned by crewboard serve (pid {serve.pid} on host" in told, told
    finally:
        code = serve.stop(signal.SIGTERM)
    assert code == 0, serve.stderr()
    assert "Service stopped." in serve.stderr()
    assert _owner_row(db) is None  # ownership given up: the next service takes over at once


def test_on_sqlite_the_lock_row_keeps_a_second_service_standing_by(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'office.db'}"
    first = ServeProcess.start(db, tmp_path / "a")
    second: ServeProcess | None = None
    try:
        first.wait_owner()
        second = ServeProcess.start(db, tmp_path / "b")
        status, body = second.wait_for(lambda a: a[1]["status"] == "standby")
        assert status == 200 and owner_of((status, body)) == first.pid
        first.stop(signal.SIGKILL)  # its process is gone from this machine: the row is free at once
        second.wait_for(lambda a: a[1]["status"] == "owner" and owner_of(a) == second.pid)
    finally:
        first.stop(signal.SIGKILL)
        if second is not None:
            assert second.stop(signal.SIGTERM) == 0, second.stderr()


def test_on_postgresql_a_standby_takes_over_from_a_killed_owner(pg_url: str, tmp_path: Path) -> None:
    first = ServeProcess.start(pg_url, tmp_path / "a")
    second: ServeProcess | None = None
    try:
        first.wait_owner()
        second = ServeProcess.start(pg_url, tmp_path / "b")
        status, body = second.wait_for(lambda a: a[1]["status"] == "standby")
        assert status == 200 and owner_of((status, body)) == first.pid
        first.stop(signal.SIGKILL)  # the server ends its session, and the advisory lock with it
        second.wait_for(lambda a: a[1]["status"] == "owner" and owner_of(a) == second.pid)
        assert _owner_row(pg_url) is not None
    finally:
        first.stop(signal.SIGKILL)
        if second is not None:
            assert second.stop(signal.SIGTERM) == 0, second.stderr()
    assert _owner_row(pg_url) is None


def test_an_owner_whose_lock_connection_is_cut_stops_syncing_and_stands_by(
    pg_url: str, tmp_path: Path
) -> None:
    serve = ServeProcess.start(pg_url, tmp_path / "a")
    try:
        serve.wait_owner()
        before = _owner_row(pg_url)
        assert before is not None
        parsed = make_url(pg_url)
        with psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database, autocommit=True
        ) as admin:
            cut = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'crewboard sync owner' AND datname = current_database()"
            ).fetchall()
        assert cut == [(True,)]
        # It notices, stops, stands by, and (nobody else waiting) owns again in a new term.
        serve.wait_for(lambda a: a[1]["status"] == "owner" and _owner_row(pg_url) not in (None, before))
        assert "lost its lock on the store: sync stopped" in serve.log()
    finally:
        assert serve.stop(signal.SIGTERM) == 0, serve.stderr()


def test_healthz_says_503_while_the_store_refuses_and_ownership_comes_back(
    pg_url: str, tmp_path: Path
) -> None:
    """A load balancer or systemd watching /healthz sees the store's outage, and its end."""
    serve = ServeProcess.start(pg_url, tmp_path / "a")
    parsed = make_url(pg_url)
    name = psycopg.sql.Identifier(str(parsed.database))
    with psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname="postgres", autocommit=True
    ) as admin:
        try:
            serve.wait_owner()
            admin.execute(psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (parsed.database,),
            )
            _status, body = serve.wait_for(lambda a: a[0] == 503)
            assert body["status"] == "unavailable" and body["store"] == "unreachable" and body["reason"]
        finally:
            admin.execute(psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))
        try:
            serve.wait_for(lambda a: a[0] == 200 and a[1]["status"] == "owner" and owner_of(a) == serve.pid)
        finally:
            assert serve.stop(signal.SIGTERM) == 0, serve.stderr()
