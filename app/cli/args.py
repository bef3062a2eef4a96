"""Argument parsing with one-line errors, and the value parsers every command shares."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta, tzinfo
from typing import NoReturn

from app.domain.time import zone
from app.errors import InvalidInput


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one sentence and exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see '{self.prog} --help').\n")
        raise SystemExit(2)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-30.") from None


def parse_instant(text: str, default_zone: tzinfo) -> datetime:
    """An ISO 8601 date-time; without an offset it is read as wall-clock time in `default_zone`."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"'{text}' is not a date and time; write it like 2026-11-30T09:00 or 2026-11-30T09:00-06:00."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_zone)
    return value


def parse_minutes(text: str) -> timedelta:
    try:
        minutes = int(text)
    except ValueError:
        raise InvalidInput(f"Duration '{text}' is not a whole number of minutes, e.g. 90.") from None
    if minutes <= 0:
        raise InvalidInput("Duration must be more than zero minutes.")
    return timedelta(minutes=minutes)


def office_zone_name() -> str:
    """The zone of this desk: CREWBOARD_TIMEZONE if set, else the machine's own zone, else UTC."""
    import os

    name = os.environ.get("CREWBOARD_TIMEZONE")
    if name:
        zone(name)  # an unknown name is refused with a sentence that says what to write
        return name
    try:
        from tzlocal import get_localzone_name

        local = get_localzone_name()
    except Exception:  # a machine with no zone configured still works, in UTC
        local = None
    return local or "UTC"


def office_zone() -> tzinfo:
    return zone(office_zone_name())
