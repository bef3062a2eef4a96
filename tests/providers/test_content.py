"""Shared reading of event times, the content hash, zone names and colors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync.providers.content import (
    booking_content_hash,
    booking_event_times,
    clean_title,
    duration_text,
)
from sync.providers.errors import BadRemoteData
from sync.providers.google_colors import EVENT_COLORS, nearest_event_color, parse_hex_color
from sync.providers.windows_zones import iana_zone, windows_zone


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


GOOGLE_BOOKING: dict[str, Any] = {
    "id": "cb0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "summary": "Boiler service — Acme Bakery",
    "description": "Service: Boiler service",
    "start": {"dateTime": "2026-07-15T09:00:00-07:00", "timeZone": "America/Los_Angeles"},
    "end": {"dateTime": "2026-07-15T10:30:00-07:00", "timeZone": "America/Los_Angeles"},
}


@pytest.mark.parametrize(
    ("changes", "same"),
    [
        ({}, True),
        ({"description": "The tech wrote their own notes here"}, True),
        ({"location": "Somewhere else"}, True),
        ({"colorId": "4"}, True),
        ({"summary": "  Boiler service —   Acme Bakery "}, True),  # whitespace only
        ({"start": {"dateTime": "2026-07-15T16:00:00Z"}}, True),  # the same instant
        ({"start": {"dateTime": "2026-07-15T09:30:00-07:00", "timeZone": "America/Los_Angeles"}}, False),
        ({"end": {"dateTime": "2026-07-15T11:00:00-07:00", "timeZone": "America/Los_Angeles"}}, False),
        ({"summary": "Boiler service — Acme Bakery — call first"}, False),
        ({"start": {"date": "2026-07-15"}, "end": {"date": "2026-07-16"}}, False),
    ],
)
def test_the_hash_changes_only_when_times_or_title_change(changes: dict[str, Any], same: bool) -> None:
    edited = dict(GOOGLE_BOOKING, **changes)
    assert (booking_content_hash(edited) == booking_content_hash(GOOGLE_BOOKING)) is same


def test_the_hash_is_a_stable_hex_digest() -> None:
    digest = booking_content_hash(GOOGLE_BOOKING)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == booking_content_hash(dict(reversed(list(GOOGLE_BOOKING.items()))))


def test_google_and_graph_shapes_of_the_same_booking_hash_alike() -> None:
    graph = {
        "subject": "Boiler service — Acme Bakery",
        "start": {"dateTime": "2026-07-15T16:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-07-15T17:30:00.0000000", "timeZone": "UTC"},
        "isAllDay": False,
    }
    assert booking_content_hash(graph) == booking_content_hash(GOOGLE_BOOKING)
    assert (
        booking_event_times(graph)
        == booking_event_times(GOOGLE_BOOKING)
        == (utc(2026, 7, 15, 16), utc(2026, 7, 15, 17, 30))
    )


def test_an_event_turned_all_day_spans_local_days_in_the_given_zone() -> None:
    google = dict(GOOGLE_BOOKING, start={"date": "2026-07-15"}, end={"date": "2026-07-16"})
    assert booking_event_times(google) == (utc(2026, 7, 15), utc(2026, 7, 16))
    assert booking_event_times(google, all_day_zone="America/Los_Angeles") == (
        utc(2026, 7, 15, 7),
        utc(2026, 7, 16, 7),
    )
    graph = {
        "isAllDay": True,
        "start": {"dateTime": "2026-07-15T00:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-07-16T00:00:00.0000000", "timeZone": "UTC"},
    }
    assert booking_event_times(graph, all_day_zone="Europe/Berlin") == (
        utc(2026, 7, 14, 22),
        utc(2026, 7, 15, 22),
    )


@pytest.mark.parametrize(
    "item",
    [
        {},
        {
            "start": {"dateTime": "2026-07-15T09:00:00"},
            "end": {"dateTime": "2026-07-15T10:00:00"},
        },  # no zone at all
        {"start": {"date": "2026-07-15"}, "end": {"dateTime": "2026-07-15T10:00:00Z"}},
        {"start": {"dateTime": "noon"}, "end": {"dateTime": "2026-07-15T10:00:00Z"}},
    ],
)
def test_times_that_cannot_be_read_are_bad_remote_data(item: dict[str, Any]) -> None:
    with pytest.raises(BadRemoteData):
        booking_event_times(item)
    with pytest.raises(BadRemoteData):
        booking_content_hash(item)


@pytest.mark.parametrize(
    ("name", "iana"),
    [
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Romance Standard Time", "Europe/Paris"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("tzone://Microsoft/Utc", "UTC"),
        ("America/Chicago", "America/Chicago"),
        ("Europe/Kyiv", "Europe/Kyiv"),
        ("tzone://Microsoft/Custom", None),
        ("Mars Standard Time", None),
        ("", None),
        ("../../etc/passwd", None),
        ("localtime", None),
        (" America/Chicago", None),
    ],
)
def test_zone_names_map_to_iana(name: str, iana: str | None) -> None:
    assert iana_zone(name) == iana


@pytest.mark.parametrize(
    ("iana", "windows"),
    [
        ("America/Los_Angeles", "Pacific Standard Time"),
        ("Europe/Berlin", "W. Europe Standard Time"),
        ("UTC", "UTC"),
        ("Antarctica/Troll", None),
    ],
)
def test_iana_zones_map_to_windows_names(iana: str, windows: str | None) -> None:
    assert windows_zone(iana) == windows


def test_every_palette_color_is_its_own_nearest() -> None:
    for color_id, (background, _name) in EVENT_COLORS.items():
        assert nearest_event_color(background) == color_id
    assert len(EVENT_COLORS) == 11


@pytest.mark.parametrize("text", ["", "blue", "#12345", "#gggggg", "rgb(1,2,3)", "#1234567"])
def test_unreadable_colors_have_no_google_color(text: str) -> None:
    assert parse_hex_color(text) is None
    assert nearest_event_color(text) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Dentist", "Dentist"),
        ("  Dentist\n\tvisit ", "Dentist visit"),
        ("", None),
        ("   ", None),
        (None, None),
        (42, None),
    ],
)
def test_titles_are_cleaned(value: Any, expected: str | None) -> None:
    assert clean_title(value) == expected


def test_long_titles_are_cut_with_an_ellipsis() -> None:
    title = clean_title("a" * 10_000)
    assert title is not None and len(title) == 255 and title.endswith("…")


@pytest.mark.parametrize(
    ("length", "text"),
    [(timedelta(minutes=45), "45 min"), (timedelta(hours=2), "2 h"), (timedelta(minutes=90), "1 h 30 min")],
)
def test_durations_read_naturally(length: timedelta, text: str) -> None:
    assert duration_text(length) == text
