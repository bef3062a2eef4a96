"""The quota pacer's limits from settings.toml: `[sync] google_requests_per_minute`.

Google grants each Cloud project a per-minute budget (10,000 by default; a project may have been
granted more, or share its budget with other software); Crewboard cannot ask Google for it, so the
owner states it. The per-user (600 a minute) and Graph per-mailbox limits are fixed by the providers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sync.engine.read_pacer import PacerLimits
from sync.providers.config import ConfigurationError

KEY = "google_requests_per_minute"


def pacer_limits(settings: Mapping[str, Any], path: Path) -> PacerLimits:
    """The limits `settings` (the parsed settings file at `path`) asks for, else the defaults."""
    section = settings.get("sync", {})
    if not isinstance(section, Mapping):
        raise ConfigurationError(f"[sync] in {path} must be a table of settings; fix the file.")
    raw = section.get(KEY)
    if raw is None:
        return PacerLimits()
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ConfigurationError(
            f"{KEY} in {path} must be a whole number of requests a minute, like 10000; fix the file."
        )
    return PacerLimits.with_google_budget(raw)
