"""`[sync] google_requests_per_minute` sets the Google project's budget for the quota pacer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sync.core.pacer import GOOGLE_PROJECT, Limit
from sync.engine.pacer_settings import pacer_limits
from sync.providers.config import ConfigurationError

PATH = Path("/home/owner/.config/crewboard/settings.toml")


def test_the_budget_defaults_to_googles_and_can_be_set() -> None:
    assert pacer_limits({}, PATH).google_project == GOOGLE_PROJECT
    chosen = pacer_limits({"sync": {"google_requests_per_minute": 25_000}}, PATH)
    assert chosen.google_project == Limit(25_000, timedelta(minutes=1))


@pytest.mark.parametrize("value", [0, -5, "10000", 1.5, True])
def test_a_budget_that_is_not_a_positive_whole_number_is_refused_with_one_sentence(value: object) -> None:
    with pytest.raises(ConfigurationError, match=r"google_requests_per_minute in .* must be a whole number"):
        pacer_limits({"sync": {"google_requests_per_minute": value}}, PATH)
