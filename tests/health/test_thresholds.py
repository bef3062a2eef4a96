"""Escalation thresholds: durations people type, the order they must keep, and where they come from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.domain.escalation import Thresholds, format_duration, level_for, parse_duration
from app.domain.model import HealthLevel
from app.errors import InvalidInput
from sync.health_monitor import load_thresholds
from sync.providers.config import ConfigurationError

T0 = datetime(2026, 11, 2, 16, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 1H 30M ", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("2h0m15s", timedelta(hours=2, seconds=15)),
    ],
)
def test_durations_people_write(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m", "5 minutes", "30m2h", "-5m", "1.5h", "5mm"])
def test_durations_not_understood_say_how_to_write_them(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_duration(text)
    assert str(error.value) == f"Duration '{text}' is not understood; write it like 90s, 5m or 2h."


def test_formatted_durations_read_back() -> None:
    for span in (
        timedelta(seconds=90),
        timedelta(minutes=30),
        timedelta(hours=2, minutes=5),
        timedelta(days=1),
    ):
        assert parse_duration(format_duration(span)) == span
    assert format_duration(timedelta(seconds=90)) == "1m30s"


def test_defaults_are_five_minutes_half_an_hour_two_hours() -> None:
    t = Thresholds()
    assert (t.warn, t.dispatcher, t.owner) == (
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
    )


@pytest.mark.parametrize(
    "values",
    [
        {"warn": timedelta(0)},
        {"warn": timedelta(minutes=-1)},
        {"warn": timedelta(minutes=30)},  # equal to the dispatcher's
        {"dispatcher": timedelta(hours=3)},  # after the owner's
        {"owner": timedelta(minutes=10)},
    ],
)
def test_thresholds_must_be_positive_and_increasing(values: dict[str, timedelta]) -> None:
    with pytest.raises(InvalidInput, match="must be more than zero and grow in order"):
        Thresholds(**values)


def test_level_for_each_boundary() -> None:
    t = Thresholds()
    assert level_for(None, T0, t) is HealthLevel.OK
    assert level_for(T0, T0 + timedelta(minutes=4, seconds=59), t) is HealthLevel.OK
    assert level_for(T0, T0 + timedelta(minutes=5), t) is HealthLevel.WARNING
    assert level_for(T0, T0 + timedelta(minutes=29, seconds=59), t) is HealthLevel.WARNING
    assert level_for(T0, T0 + timedelta(minutes=30), t) is HealthLevel.DISPATCHER
    assert level_for(T0, T0 + timedelta(hours=2), t) is HealthLevel.OWNER
    assert level_for(T0, T0 + timedelta(days=3), t) is HealthLevel.OWNER


def test_flags_beat_the_settings_file_which_beats_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[sync]\nwarn_after = "2m"\ndispatcher_after = "20m"\n')
    from_file = load_thresholds(path=path)
    assert from_file == Thresholds(timedelta(minutes=2), timedelta(minutes=20), timedelta(hours=2))
    flagged = load_thresholds(path=path, dispatcher=timedelta(minutes=45), owner=timedelta(hours=4))
    assert flagged == Thresholds(timedelta(minutes=2), timedelta(minutes=45), timedelta(hours=4))
    assert load_thresholds(path=tmp_path / "missing.toml") == Thresholds()


def test_bad_threshold_settings_name_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[sync]\nowner_after = "soon"\n')
    with pytest.raises(ConfigurationError, match=r"owner_after in .*Duration 'soon' is not understood"):
        load_thresholds(path=path)
    path.write_text("[sync]\nwarn_after = 5\n")
    with pytest.raises(
        ConfigurationError, match=r'warn_after in .* must be a duration in quotes, like "30m"'
    ):
        load_thresholds(path=path)
    path.write_text('[sync]\nwarn_after = "3h"\n')
    with pytest.raises(InvalidInput, match="warning after 3h, dispatcher after 30m, owner after 2h"):
        load_thresholds(path=path)
