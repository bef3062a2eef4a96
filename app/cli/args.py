"""Argument parsing with one-line errors, and the value parsers every command shares."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import NoReturn

from app.errors import InvalidInput


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one sentence and exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see '{self.prog} --help').\n")
        raise SystemExit(2)


# The dates the CLI accepts. Far enough on either side for any job, and far from the end of
# Python's calendar (year 9999), where adding a day or a time zone's offset overflows.
FIRST_DATE = date(1970, 1, 1)
LAST_DATE = date(2999, 12, 31)
RANGE_TEXT = f"between {FIRST_DATE.isoformat()} and {LAST_DATE.isoformat()}"
# The longest duration the CLI accepts; the booking service allows a job of at most 24 hours.
MAX_MINUTES = 24 * 60


def in_range(day: date, what: str) -> date:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise InvalidInput(f"{what} {day.isoformat()} is out of range; use a date {RANGE_TEXT}.")
    return day


def parse_date(text: str) -> date:
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-30.") from None
    return in_range(value, "The date")


def last_day(first: date, days: int) -> date:
    """The last of `days` days from `first`, refused when it would leave the accepted range."""
    if days < 1:
        raise InvalidInput("Time off needs at least one day; give --days 1 or more.")
    if days - 1 > (LAST_DATE - first).days:
        raise InvalidInput(
            f"{days} days from {first.isoformat()} end after {LAST_DATE.isoformat()}; use dates {RANGE_TEXT}."
        )
    return first + timedelta(days=days - 1)


def parse_instant(text: str, default_zone: tzinfo) -> datetime:
    """An ISO 8601 date-time; without an offset it is read as wall-clock time in `default_zone`.

    A wall-clock time that happens twice (the hour after clocks fall back) means its first
    occurrence, the one before the change; write the offset to mean the second. A wall-clock time
    that never happens (the hour skipped when clocks spring forward) is refused with the reason.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"'{text}' is not a date and time; write it like 2026-11-30T09:00 or 2026-11-30T09:00-06:00."
        ) from None
    in_range(value.date(), "The date")
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_zone, fold=0)
        _refuse_skipped(value, default_zone)
    return value


def _refuse_skipped(value: datetime, tz: tzinfo) -> None:
    """Refuse a local time inside a spring-forward gap, saying when the clocks jump."""
    after = value.astimezone(UTC).astimezone(tz)
    if after.replace(tzinfo=None) == value.replace(tzinfo=None):
        return
    # In a gap, fold=0 reads the time with the offset before the jump and fold=1 with the one
    # after; the jump itself lies between those two instants.
    early = value.replace(fold=1).astimezone(UTC)
    late = value.replace(fold=0).astimezone(UTC)
    if early > late:
        early, late = late, early
    jump = late
    step = timedelta(minutes=1)
    probe = early
    while probe < late:
        if probe.astimezone(tz).utcoffset() == late.astimezone(tz).utcoffset():
            jump = probe
            break
        probe += step
    before = (jump - step).astimezone(tz).utcoffset() or timedelta(0)
    from_wall = (jump + before).strftime("%H:%M")
    to_wall = jump.astimezone(tz).strftime("%H:%M")
    name = getattr(tz, "key", None) or str(tz)
    raise InvalidInput(
        f"{value:%Y-%m-%d %H:%M} does not exist in {name}: clocks jump from {from_wall} to {to_wall} "
        f"that night; use {to_wall} or later."
    )


def parse_minutes(text: str) -> timedelta:
    try:
        minutes = int(text)
    except ValueError:
        raise InvalidInput(f"Duration '{text}' is not a whole number of minutes, e.g. 90.") from None
    if minutes <= 0:
        raise InvalidInput("Duration must be more than zero minutes.")
    if minutes > MAX_MINUTES:
        raise InvalidInput(f"Duration must be at most {MAX_MINUTES} minutes (24 hours).")
    return timedelta(minutes=minutes)


def parse_count(text: str | int, option: str, most: int | None = None) -> int:
    """A whole number of at least 1 (and at most `most`) given to `option`."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or (most is not None and value > most):
        bound = f" and at most {most}" if most is not None else ""
        raise InvalidInput(f"{option} must be a whole number of at least 1{bound}, not '{text}'.")
    return value


# --- the database and the sandbox's state file, checked before anything opens them -------------

_URL = re.compile(r"^(?P<dialect>[A-Za-z0-9_]+)(?:\+(?P<driver>[A-Za-z0-9_]+))?://")


def check_database(value: str | None, source: str = "--db") -> None:
    """Refuse a --db (or CREWBOARD_DB) value naming a kind of database Crewboard cannot use.

    SQLite files and PostgreSQL servers pass; the store itself then says, in one sentence, when a
    PostgreSQL URL names another driver or its server cannot be reached.
    """
    if value is None or "://" not in value:
        return  # a file path, or the default
    found = _URL.match(value.strip())
    dialect = found["dialect"].lower() if found else None
    driver = found["driver"].lower() if found and found["driver"] else None
    if dialect == "sqlite" and driver in (None, "pysqlite"):
        return
    if dialect in ("postgresql", "postgres"):
        return
    raise InvalidInput(
        f"'{value}' is not a database Crewboard can open; give {source} a SQLite file path, "
        "sqlite:///PATH or postgresql://USER@HOST/NAME."
    )


def check_sandbox_state(rest: list[str]) -> None:
    """Refuse a `sandbox --state FILE` that exists but is not a saved sandbox state."""
    path: str | None = None
    for index, item in enumerate(rest):
        if item == "--state" and index + 1 < len(rest):
            path = rest[index + 1]
        elif item.startswith("--state="):
            path = item.split("=", 1)[1]
    if path is None or not Path(path).exists():
        return  # the sandbox starts empty and saves there
    from sync.sandbox.server import STATE_VERSION, Sandbox

    problem: str | None = None
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as error:
        problem = f"cannot be read ({error.strerror or error})"
    except (UnicodeDecodeError, ValueError):
        problem = "is not a sandbox state (not JSON)"
    else:
        if not isinstance(data, dict) or not isinstance(data.get("providers", {}), dict):
            problem = "is not a sandbox state"
        elif data.get("version") != STATE_VERSION:
            problem = "was written by another sandbox version"
        else:
            probe = Sandbox()
            try:
                for name, state in data.get("providers", {}).items():
                    if name in probe.providers:
                        probe.providers[name].load_state(state)
            except (AttributeError, KeyError, TypeError, ValueError):
                problem = "is not a sandbox state (damaged)"
    if problem is not None:
        raise InvalidInput(
            f"The file {path} {problem}; give another --state file or move this one away to start afresh."
        )
