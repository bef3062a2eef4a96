"""The CLI as documented in README: commands, JSON shapes, and one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.cli.conftest import Result

Cli = Callable[..., Result]


def _crew(cli: Cli) -> None:
    assert (
        cli(
            "tech",
            "add",
            "Maria Lopez",
            "--email",
            "maria@example.com",
            "--timezone",
            "America/Chicago",
            "--hours",
            "mon-fri 08:00-17:00",
            "--color",
            "#2563eb",
        ).code
        == 0
    )
    assert (
        cli(
            "tech", "add", "Sam Okafor", "--email", "sam@example.com", "--timezone", "America/Los_Angeles"
        ).code
        == 0
    )


def test_tech_add_and_list(cli: Cli) -> None:
    _crew(cli)
    listed = cli("tech", "list", "--json").json()
    assert [t["name"] for t in listed] == ["Maria Lopez", "Sam Okafor"]
    assert listed[1]["hours"] == "mon-fri 08:00-17:00"
    assert "Sam Okafor" in cli("tech", "list").out


def test_book_prints_the_booking_as_json_in_the_techs_zone(cli: Cli) -> None:
    _crew(cli)
    result = cli(
        "book",
        "--tech",
        "Maria Lopez",
        "--customer",
        "Harbor Dental",
        "--address",
        "1200 Lake St",
        "--service",
        "AC maintenance",
        "--start",
        "2026-11-02T09:00",
        "--duration",
        "90",
        "--json",
    )
    assert result.code == 0, result.err
    booking = result.json()
    assert {"id", "tech", "customer", "service", "start", "end", "status"} <= booking.keys()
    assert booking["start"] == "2026-11-02T09:00-06:00"
    assert booking["end"] == "2026-11-02T10:30-06:00"
    assert booking["status"] == "scheduled"
    assert [b["id"] for b in cli("bookings", "--json").json()] == [booking["id"]]


def test_move_and_cancel_by_short_id(cli: Cli) -> None:
    _crew(cli)
    booking = cli(
        "book",
        "--tech",
        "Maria Lopez",
        "--customer",
        "Kim",
        "--service",
        "AC repair",
        "--start",
        "2026-11-02T09:00-06:00",
        "--duration",
        "60",
        "--json",
    ).json()
    moved = cli("move", booking["id"][:8], "--start", "2026-11-03T08:00", "--tech", "Sam Okafor", "--json")
    assert moved.code == 0, moved.err
    assert moved.json()["tech"] == "Sam Okafor"
    assert moved.json()["start"] == "2026-11-03T08:00-08:00"
    assert cli("cancel", booking["id"]).code == 0
    assert cli("bookings", "--json").json() == []
    assert cli("bookings", "--all", "--json").json()[0]["status"] == "cancelled"


def test_availability_json(cli: Cli) -> None:
    _crew(cli)
    cli(
        "timeoff",
        "add",
        "Maria Lopez",
        "--start",
        "2026-11-02T12:00",
        "--end",
        "2026-11-02T13:00",
        "--reason",
        "Dentist",
    )
    cli(
        "book",
        "--tech",
        "Maria Lopez",
        "--customer",
        "Kim",
        "--service",
        "AC repair",
        "--start",
        "2026-11-02T09:00",
        "--duration",
        "60",
    )
    result = cli("availability", "Maria Lopez", "--date", "2026-11-02", "--json")
    assert result.code == 0, result.err
    day = result.json()
    assert day["tech"] == "Maria Lopez"
    assert day["timezone"] == "America/Chicago"
    assert day["free"] == [
        {"start": "2026-11-02T08:00-06:00", "end": "2026-11-02T09:00-06:00"},
        {"start": "2026-11-02T10:00-06:00", "end": "2026-11-02T12:00-06:00"},
        {"start": "2026-11-02T13:00-06:00", "end": "2026-11-02T17:00-06:00"},
    ]
    assert [(b["source"], b["title"]) for b in day["busy"]] == [
        ("booking", "AC repair"),
        ("timeoff", "Dentist"),
    ]


def test_availability_on_the_dst_day(cli: Cli) -> None:
    _crew(cli)
    day = cli("availability", "Sam Okafor", "--date", "2026-11-02", "--json").json()
    assert day["free"] == [{"start": "2026-11-02T08:00-08:00", "end": "2026-11-02T17:00-08:00"}]


def test_slot_finds_the_earliest_free_time(cli: Cli) -> None:
    _crew(cli)
    cli("timeoff", "add", "Maria Lopez", "--date", "2026-11-02")
    result = cli("slot", "--duration", "120", "--from", "2026-11-02T06:00", "--days", "2", "--json")
    assert result.code == 0, result.err
    assert result.json() == [
        {"tech": "Sam Okafor", "start": "2026-11-02T08:00-08:00", "end": "2026-11-02T10:00-08:00"}
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tech", "add", "X", "--email", "x@example.com", "--timezone", "Mars/Olympus"), "Unknown time zone"),
        (
            ("tech", "add", "X", "--email", "x@example.com", "--timezone", "UTC", "--hours", "mon-fri 9-5"),
            "not understood",
        ),
        (
            (
                "tech",
                "add",
                "X",
                "--email",
                "x@example.com",
                "--timezone",
                "UTC",
                "--hours",
                "mon-fri 17:00-08:00",
            ),
            "ends before it starts",
        ),
        (
            ("timeoff", "add", "Maria Lopez", "--start", "2026-11-02T12:00", "--end", "2026-11-02T11:00"),
            "must end after it starts",
        ),
        (
            (
                "book",
                "--tech",
                "Maria Lopez",
                "--customer",
                "Kim",
                "--service",
                "AC",
                "--start",
                "2026-11-02T09:00",
                "--duration",
                "0",
            ),
            "more than zero",
        ),
        (
            (
                "book",
                "--tech",
                "Maria Lopez",
                "--customer",
                "Kim",
                "--service",
                "AC",
                "--start",
                "2026-11-02T09:00",
                "--duration",
                "-30",
            ),
            "more than zero",
        ),
        (
            (
                "book",
                "--tech",
                "Nobody",
                "--customer",
                "Kim",
                "--service",
                "AC",
                "--start",
                "2026-11-02T09:00",
                "--duration",
                "30",
            ),
            "No technician called 'Nobody'",
        ),
        (
            (
                "book",
                "--tech",
                "Maria Lopez",
                "--customer",
                "Kim",
                "--service",
                "AC",
                "--start",
                "tomorrow",
                "--duration",
                "30",
            ),
            "is not a date and time",
        ),
        (("availability", "Maria Lopez", "--date", "11/02/2026"), "is not a date"),
        (("book", "--customer", "Kim"), "the following arguments are required"),
    ],
)
def test_bad_input_gets_one_line_exit_2_and_writes_nothing(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    _crew(cli)
    before = cli("bookings", "--json").json(), cli("tech", "list", "--json").json()
    result = cli(*args)
    assert result.code == 2
    assert message in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert (cli("bookings", "--json").json(), cli("tech", "list", "--json").json()) == before


def test_overlapping_booking_needs_force(cli: Cli) -> None:
    _crew(cli)
    base = ("book", "--tech", "Maria Lopez", "--customer", "Kim", "--service", "AC", "--duration", "60")
    assert cli(*base, "--start", "2026-11-02T09:00").code == 0
    refused = cli(*base, "--start", "2026-11-02T09:30")
    assert refused.code == 2
    assert "Maria Lopez is busy then" in refused.err and refused.err.count("\n") == 1
    assert len(cli("bookings", "--json").json()) == 1
    forced = cli(*base, "--start", "2026-11-02T09:30", "--force", "--json")
    assert forced.code == 0 and forced.json()["forced"] is True


def test_console_script_reports_errors_without_traceback(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "availability", "Nobody", "--date", "2026-11-02"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("crewboard: No technician called 'Nobody'")
    assert "Traceback" not in result.stderr
