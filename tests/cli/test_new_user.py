"""What a new user hit on the command line (issue "What a new user hit", section 4).

Every bad input is one sentence on stderr, a non-zero exit and nothing written; no traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.errors import CrewboardError
from tests.cli.conftest import Result

Cli = Callable[..., Result]

README = Path(__file__).resolve().parents[2] / "README.md"


def _crew(cli: Cli) -> None:
    for name, tz in (("Maria Lopez", "America/Chicago"), ("Sam Okafor", "America/Los_Angeles")):
        first = name.split()[0].lower()
        added = cli("tech", "add", name, "--email", f"{first}@example.com", "--timezone", tz)
        assert added.code == 0, added.err


def _rows() -> dict[str, int]:
    """How many rows each table holds: what "nothing written" is checked against."""
    with contextlib.closing(sqlite3.connect(os.environ["CREWBOARD_DB"])) as conn:
        tables = [
            t
            for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if t not in ("alembic_version", "audit_log")
        ]
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def _one_sentence(result: Result) -> None:
    assert result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err and "something went wrong" not in result.err, result.err


BOOK = ("book", "--tech", "Maria Lopez", "--customer", "Kim", "--service", "AC", "--duration", "60")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # the end of the calendar
        (("timeoff", "add", "Maria Lopez", "--date", "9999-12-31", "--days", "2"), "2999-12-31"),
        (("timeoff", "add", "Maria Lopez", "--date", "2026-01-01", "--days", "3000000"), "2999-12-31"),
        (
            ("timeoff", "add", "Maria Lopez", "--date", "2026-01-01", "--days", "0"),
            "--days must be a whole number of at least 1",
        ),
        (("availability", "Maria Lopez", "--date", "9999-12-31"), "between 1970-01-01 and 2999-12-31"),
        ((*BOOK[:-2], "--start", "9999-12-31T23:00", "--duration", "60"), "2999-12-31"),
        ((*BOOK[:-2], "--start", "2026-11-02T09:00", "--duration", "99999999999999"), "1440 minutes"),
        (("slot", "--duration", "60", "--from", "9999-12-31T09:00"), "2999-12-31"),
        (("--db", "foo://bar", "tech", "list"), "'foo://bar' is not a database Crewboard can open"),
        (("--db", "postgresql+psycopg2://nohost/x", "tech", "list"), "through psycopg 3"),
        (("tech", "list", "--db", "mysql://db/x"), "give --db a SQLite file path"),
        (("sync", "--once", "--warn-after", "99999999999999d"), "longer than a year"),
        (("sync", "--once", "--poll", "1e300"), "between 1 and 86400 seconds"),
        # contradictory options
        (("timeoff", "add", "Maria Lopez", "--date", "2026-12-01", "--end", "2026-12-05"), "--end"),
        (
            (
                "timeoff",
                "add",
                "Maria Lopez",
                "--start",
                "2026-12-01T09:00",
                "--end",
                "2026-12-01T12:00",
                "--days",
                "2",
            ),
            "--days",
        ),
        # wall-clock times that do not exist
        (
            (*BOOK, "--start", "2026-03-08T02:30"),
            "2026-03-08 02:30 does not exist in America/Chicago: clocks jump from 02:00 to 03:00 "
            "that night; use 03:00 or later.",
        ),
        (
            ("timeoff", "add", "Maria Lopez", "--start", "2026-03-08T02:30", "--end", "2026-03-08T03:30"),
            "does not exist in America/Chicago",
        ),
        # counts must be positive
        (("slot", "--duration", "60", "--count", "0"), "--count must be a whole number of at least 1"),
        (("slot", "--duration", "60", "--count", "-2"), "--count must be a whole number of at least 1"),
        (("slot", "--duration", "60", "--days", "0"), "--days must be a whole number of at least 1"),
        (("slot", "--duration", "60", "--days", "x"), "--days must be a whole number of at least 1"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_writes_nothing(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    _crew(cli)
    before = _rows()
    result = cli(*args)
    assert result.code == 2, result.err
    assert message in result.err
    _one_sentence(result)
    assert _rows() == before


def test_a_database_server_that_cannot_be_reached_is_one_sentence_exit_3(cli: Cli) -> None:
    result = cli("--db", "postgresql://nohost/x", "tech", "list")
    assert result.code == 3, result.err
    assert "cannot be reached" in result.err
    _one_sentence(result)


def test_a_garbage_sandbox_state_file_is_one_sentence(cli: Cli, tmp_path: Path) -> None:
    for content in ("garbage", "[1, 2]", '{"version": 1, "providers": {"google": 7}}'):
        state = tmp_path / "state.json"
        state.write_text(content, "utf-8")
        result = cli("sandbox", "--state", str(state))
        assert result.code == 2, result.err
        assert str(state) in result.err and "sandbox state" in result.err
        _one_sentence(result)
        assert state.read_text("utf-8") == content


def test_output_into_a_closed_pipe_is_quiet(cli: Cli) -> None:
    """`crewboard tech list | head -0`: the reader left; that is no error of ours to report."""
    _crew(cli)
    child = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "tech", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # before the child writes: its first write meets a closed pipe
    err = child.stderr.read()
    child.stderr.close()
    assert child.wait(timeout=60) == 141
    assert err == ""


def test_a_fall_back_time_means_its_first_occurrence(cli: Cli) -> None:
    _crew(cli)
    first = cli(*BOOK, "--start", "2026-11-01T01:30", "--json")
    assert first.code == 0, first.err
    assert first.json()["start"] == "2026-11-01T01:30-05:00"
    second = cli(*BOOK, "--start", "2026-11-01T01:30-06:00", "--json")
    assert second.code == 0, second.err
    assert second.json()["start"] == "2026-11-01T01:30-06:00"
    assert "first" in cli("book", "--help").out


def test_slot_from_is_read_in_the_techs_zone(cli: Cli) -> None:
    _crew(cli)
    found = cli("slot", "--duration", "60", "--from", "2026-12-18T10:00", "--tech", "Sam", "--json")
    assert found.code == 0, found.err
    assert found.json() == [
        {"tech": "Sam Okafor", "start": "2026-12-18T10:00-08:00", "end": "2026-12-18T11:00-08:00"}
    ]


def test_an_unassigned_booking_prints_in_the_office_zone_labelled(cli: Cli) -> None:
    base = ("book", "--customer", "Kim", "--service", "AC", "--start", "2026-11-02T09:00", "--duration", "60")
    as_json = cli(*base, "--json")
    assert as_json.code == 0, as_json.err
    assert as_json.json()["start"] == "2026-11-02T09:00-06:00"
    assert as_json.json()["timezone"] == "America/Chicago"
    text = cli(*base)
    assert "at 2026-11-02T09:00-06:00 (office time, America/Chicago)" in text.out
    listed = cli("bookings", "--json").json()
    assert {b["start"] for b in listed} == {"2026-11-02T09:00-06:00"}


def test_db_is_accepted_after_the_subcommand(cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    added = cli("tech", "add", "Ana", "--email", "ana@example.com", "--timezone", "UTC", "--db", str(other))
    assert added.code == 0, added.err
    assert [t["name"] for t in cli("tech", "list", "--json", "--db", str(other)).json()] == ["Ana"]
    assert [t["name"] for t in cli("--db", str(other), "tech", "list", "--json").json()] == ["Ana"]
    assert cli("tech", "list", "--json").json() == []  # the default database is untouched
    twice = cli("--db", str(other), "tech", "list", "--db", str(tmp_path / "third.db"))
    assert twice.code == 2 and "--db was given twice" in twice.err
    _one_sentence(twice)
    assert not (tmp_path / "third.db").exists()
    same = cli("--db", str(other), "tech", "list", "--db", str(other))
    assert same.code == 0, same.err


# --- everyday commands ----------------------------------------------------------------------------


def test_tech_edit_changes_only_what_is_given(cli: Cli) -> None:
    _crew(cli)
    edited = cli(
        "tech", "edit", "Sam", "--timezone", "America/Denver", "--hours", "mon-thu 07:00-17:00", "--json"
    )
    assert edited.code == 0, edited.err
    tech = edited.json()
    assert (tech["name"], tech["email"], tech["timezone"], tech["hours"]) == (
        "Sam Okafor",
        "sam@example.com",
        "America/Denver",
        "mon-thu 07:00-17:00",
    )
    renamed = cli("tech", "edit", "Sam Okafor", "--name", "Sam Reed", "--email", "sam@reed.test")
    assert renamed.code == 0, renamed.err
    assert "Sam Reed" in renamed.out
    names = [t["name"] for t in cli("tech", "list", "--json").json()]
    assert names == ["Maria Lopez", "Sam Reed"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tech", "edit", "Sam"), "Say what to change"),
        (("tech", "edit", "Sam", "--timezone", "Mars/Base"), "Unknown time zone"),
        (("tech", "edit", "Sam", "--color", "blue"), "#RRGGBB"),
        (("tech", "edit", "Sam", "--name", "Maria Lopez"), "already exists"),
        (("tech", "edit", "Nobody", "--color", "#000000"), "No technician called 'Nobody'"),
        (("tech", "remove", "Nobody"), "No technician called 'Nobody'"),
        (("timeoff", "remove", "zzzzzzzz"), "No time off with id 'zzzzzzzz'"),
    ],
)
def test_bad_edits_are_refused(cli: Cli, args: tuple[str, ...], message: str) -> None:
    _crew(cli)
    before = _rows(), cli("tech", "list", "--json").json()
    result = cli(*args)
    assert result.code == 2, result.err
    assert message in result.err
    _one_sentence(result)
    assert (_rows(), cli("tech", "list", "--json").json()) == before


def test_tech_remove_refuses_a_tech_with_upcoming_jobs(cli: Cli) -> None:
    _crew(cli)
    job = cli(*BOOK, "--start", "2030-11-04T09:00", "--json").json()
    refused = cli("tech", "remove", "Maria")
    assert refused.code == 2
    assert "Maria Lopez has 1 upcoming job(s)" in refused.err and "reassign or cancel" in refused.err
    _one_sentence(refused)
    assert cli("cancel", job["id"]).code == 0
    removed = cli("tech", "remove", "Maria")
    assert removed.code == 0, removed.err
    assert [t["name"] for t in cli("tech", "list", "--json").json()] == ["Sam Okafor"]
    [kept] = cli("bookings", "--all", "--json").json()
    assert (kept["tech"], kept["start"]) == ("Maria Lopez", "2030-11-04T09:00-06:00")  # history stays
    again = cli("tech", "add", "Maria Lopez", "--email", "maria@example.com", "--timezone", "UTC")
    assert again.code == 0, again.err


def test_timeoff_list_and_remove(cli: Cli) -> None:
    _crew(cli)
    assert (
        cli("timeoff", "add", "Maria", "--date", "2026-12-24", "--days", "2", "--reason", "Holidays").code
        == 0
    )
    assert cli("timeoff", "add", "Sam", "--start", "2026-12-01T12:00", "--end", "2026-12-01T13:00").code == 0
    everyone = cli("timeoff", "list", "--json")
    assert everyone.code == 0, everyone.err
    items = everyone.json()
    assert [(i["tech"], i["reason"]) for i in items] == [("Sam Okafor", ""), ("Maria Lopez", "Holidays")]
    assert items[1]["first_day"] == "2026-12-24" and items[1]["last_day"] == "2026-12-25"
    assert items[0]["start"] == "2026-12-01T12:00-08:00" and items[0]["end"] == "2026-12-01T13:00-08:00"
    only_maria = cli("timeoff", "list", "Maria", "--json").json()
    assert [i["id"] for i in only_maria] == [items[1]["id"]]
    assert "Holidays" in cli("timeoff", "list").out
    removed = cli("timeoff", "remove", items[1]["id"][:8])
    assert removed.code == 0, removed.err
    assert "Maria Lopez" in removed.out
    assert [i["id"] for i in cli("timeoff", "list", "--json").json()] == [items[0]["id"]]


# --- exit codes -----------------------------------------------------------------------------------


def _documented_exit_codes() -> dict[int, str]:
    text = README.read_text("utf-8")
    section = text[text.index("## The command line") : text.index("## Sync")]
    table = section[section.index("| exit code |") :]
    codes: dict[int, str] = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        codes[int(cells[0].strip("`"))] = cells[1]
    return codes


def _subclasses(cls: type[CrewboardError]) -> set[type[CrewboardError]]:
    found: set[type[CrewboardError]] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_readme_documents_every_exit_code_the_code_uses() -> None:
    # Every module that may declare an error (not the ones that start the app or the sandbox).
    for root in ("app", "storage", "sync"):
        package = importlib.import_module(root)
        for found in pkgutil.walk_packages(package.__path__, f"{root}."):
            name = found.name
            if name.endswith("__main__") or name in ("app.main", "app.demo") or ".migrations" in name:
                continue
            if name.startswith("sync.sandbox"):
                continue
            importlib.import_module(name)
    raised = {CrewboardError.exit_code} | {c.exit_code for c in _subclasses(CrewboardError)}
    own = {0, 1, 2, 130, 141, 143}  # success, crash, usage, Ctrl-C, closed pipe, SIGTERM (changes --follow)
    assert set(_documented_exit_codes()) == raised | own
    assert re.search(r"exits? with code 2", README.read_text("utf-8"))


def test_a_socket_hanging_up_is_a_fault_not_a_closed_stdout(tmp_path: Path) -> None:
    """Only a closed standard output ends quietly; a broken pipe from a socket is reported."""
    script = (
        "import sys, app.cli.main as cli\n"
        "def hung_up(args): raise BrokenPipeError(32, 'Broken pipe')\n"
        "cli._dispatch = hung_up\n"
        "sys.exit(cli.main(['tech', 'list']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "CREWBOARD_LOG_DIR": str(tmp_path / "logs")},
    )
    assert done.returncode == 1
    assert "something went wrong" in done.stderr
    assert "BrokenPipeError" in (tmp_path / "logs" / "crewboard.log").read_text(encoding="utf-8")
