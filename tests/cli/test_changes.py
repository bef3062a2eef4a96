"""`crewboard changes`: the feed as JSON lines or a table; --follow sees other programs' commits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import IO, Any

import psycopg
import pytest

from storage import open_database
from storage.feed_watch import APPLICATION_NAME
from tests.children import child_python_path
from tests.cli.conftest import Result

Cli = Callable[..., Result]
TECH = ("tech", "add", "Maria Lopez", "--email", "maria@example.com", "--timezone", "America/Chicago")
BOOK = ("book", "--customer", "Harbor Dental", "--service", "AC repair", "--duration", "60", "--json")


def _crewboard(db_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", "--db", db_url, *args]


def _env(desk: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": child_python_path(), "CREWBOARD_DESK": desk}


def _run(db_url: str, *args: str, desk: str = "front-desk") -> Any:
    done = subprocess.run(
        _crewboard(db_url, *args), capture_output=True, text=True, env=_env(desk), timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


@contextmanager
def _follow(db_url: str, since: int) -> Iterator[tuple[subprocess.Popen[str], IO[str], IO[str]]]:
    """`crewboard changes --follow` from another desk: the process and its output and error
    streams, killed if the test leaves it running."""
    follower = subprocess.Popen(
        _crewboard(db_url, "changes", "--follow", "--since", str(since), "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env("back-office"),
    )
    assert follower.stdout is not None and follower.stderr is not None
    try:
        yield follower, follower.stdout, follower.stderr
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
        follower.stdout.close()
        follower.stderr.close()


def _lines(stream: IO[str]) -> Iterator[dict[str, Any]]:
    for line in stream:
        yield json.loads(line)


def _last_seq(cli: Cli, db_url: str) -> int:
    listed = cli("--db", db_url, "changes", "--json")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    return int(json.loads(lines[-1])["seq"]) if lines else 0


def test_changes_lists_the_feed_as_json_lines_and_as_a_table(cli: Cli) -> None:
    assert cli(*TECH).code == 0
    booked = cli(*BOOK)
    assert booked.code == 0, booked.err
    listed = cli("--desk", "front-desk", "changes", "--json")
    assert listed.code == 0, listed.err
    entries = [json.loads(line) for line in listed.out.splitlines()]
    assert [entry["seq"] for entry in entries] == list(range(1, len(entries) + 1))
    assert all(set(entry) == {"seq", "kind", "id", "at"} for entry in entries)
    assert any(entry["kind"] == "booking" and entry["id"] == booked.json()["id"] for entry in entries)
    after = cli("changes", "--since", str(entries[-2]["seq"]), "--json")
    assert [json.loads(line) for line in after.out.splitlines()] == entries[-1:]
    table = cli("changes")
    assert table.code == 0 and len(table.out.splitlines()) == len(entries)
    assert booked.json()["id"] in table.out


def test_a_bad_since_is_one_sentence(cli: Cli) -> None:
    result = cli("changes", "--since", "yesterday")
    assert result.code == 2
    assert result.err == "crewboard: --since takes an entry number (0 or more), not 'yesterday'.\n"


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_follow_prints_another_programs_booking_and_stops_on_sigterm(cli: Cli, db_url: str) -> None:
    assert cli("--db", db_url, *TECH).code == 0
    since = _last_seq(cli, db_url)
    with _follow(db_url, since) as (follower, out, err):
        booked = _run(db_url, *BOOK, "--tech", "Maria Lopez", "--start", "2026-11-02T09:00")
        seen = _until_booking(out)
        assert seen[-1]["id"] == booked["id"]
        assert [entry["seq"] for entry in seen] == list(range(since + 1, since + 1 + len(seen)))
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=60) == 128 + signal.SIGTERM
        assert err.read() == ""


def test_follow_into_a_closed_pipe_is_quiet(cli: Cli) -> None:
    """`crewboard changes --follow | head -1`: once the reader left, the next write ends it quietly."""
    db_url = os.environ["CREWBOARD_DB"]
    assert cli(*TECH).code == 0
    with _follow(db_url, 0) as (follower, out, err):
        assert json.loads(out.readline())["seq"] == 1
        out.close()
        _run(
            db_url, "tech", "add", "Sam Okafor", "--email", "sam@example.com", "--timezone", "America/Denver"
        )
        assert follower.wait(timeout=60) == 141
        assert err.read() == ""


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_follow_says_when_the_feed_is_cut_and_catches_up(cli: Cli, db_url: str) -> None:
    assert cli("--db", db_url, *TECH).code == 0
    with _follow(db_url, 0) as (follower, out, err):
        assert json.loads(out.readline())["seq"] == 1  # it reads, so it listens
        admin_url = db_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            cut = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = current_database()",
                (APPLICATION_NAME,),
            ).fetchone()
        assert cut is not None and cut[0] == 1
        assert "cannot be read" in err.readline()
        assert "can be read again" in err.readline()
        booked = _run(db_url, *BOOK)
        assert any(entry["id"] == booked["id"] for entry in _until_booking(out))
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=60) == 130


def _until_booking(stream: IO[str]) -> list[dict[str, Any]]:
    seen = []
    for entry in _lines(stream):
        seen.append(entry)
        if entry["kind"] == "booking":
            break
    return seen


def test_since_a_pruned_entry_says_so_and_starts_from_the_oldest_kept(cli: Cli) -> None:
    db_url = os.environ["CREWBOARD_DB"]
    assert cli(*TECH).code == 0
    assert (
        cli("tech", "add", "Sam Okafor", "--email", "sam@example.com", "--timezone", "America/Denver").code
        == 0
    )
    assert cli(*BOOK).code == 0
    entries = [json.loads(line) for line in cli("changes", "--json").out.splitlines()]
    assert len(entries) > 3  # so that the first kept is not the second asked for
    # Dated after every entry, so only the newest two (kept whatever their age) stay.
    after_all = max(datetime.fromisoformat(entry["at"]) for entry in entries) + timedelta(seconds=1)
    database = open_database(db_url)
    try:
        with database.unit_of_work() as uow:
            assert uow.changes.prune(after_all, keep=2, limit=1000) == len(entries) - 2
            uow.commit()
    finally:
        database.dispose()
    oldest = entries[-2]["seq"]
    result = cli("changes", "--since", "1", "--json")
    assert result.code == 0  # what it printed is right; the numbers show what is missing
    assert [json.loads(line) for line in result.out.splitlines()] == entries[-2:]
    assert result.err == (
        f"crewboard: changes before entry {oldest} were pruned (the feed keeps about a day),"
        f" so this starts from entry {oldest}, the oldest kept.\n"
    )
    kept = cli("changes", "--json")  # without --since: the feed as it is kept, nothing missed
    assert (kept.code, kept.err, kept.out) == (0, "", result.out)


def test_follow_since_a_pruned_entry_says_so_and_follows_from_the_oldest_kept(cli: Cli) -> None:
    db_url = os.environ["CREWBOARD_DB"]
    assert cli(*TECH).code == 0
    assert (
        cli("tech", "add", "Sam Okafor", "--email", "sam@example.com", "--timezone", "America/Denver").code
        == 0
    )
    entries = [json.loads(line) for line in cli("changes", "--json").out.splitlines()]
    after_all = max(datetime.fromisoformat(entry["at"]) for entry in entries) + timedelta(seconds=1)
    database = open_database(db_url)
    try:
        with database.unit_of_work() as uow:
            uow.changes.prune(after_all, keep=1, limit=1000)
            uow.commit()
    finally:
        database.dispose()
    oldest = entries[-1]["seq"]
    with _follow(db_url, 0) as (follower, out, err):
        assert err.readline() == (
            f"crewboard: changes before entry {oldest} were pruned (the feed keeps about a day),"
            f" so this starts from entry {oldest}, the oldest kept.\n"
        )
        assert json.loads(out.readline()) == entries[-1]
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=60) == 128 + signal.SIGTERM
