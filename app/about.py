"""What `crewboard --version` and Help ▸ About tell: the version, the store in use, where the log is.

A support call starts with these three facts, so both places read them from here. The version comes
from the installed package's metadata (a PyInstaller bundle carries that metadata too), so it is the
one written in pyproject.toml and never a second copy that drifts.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata

DISTRIBUTION = "crewboard"


@dataclass(frozen=True, slots=True)
class AboutFacts:
    version: str
    store: str  # the SQLite file, or the PostgreSQL URL without its password
    log: str  # the log file's path
    python: str

    def lines(self) -> list[str]:
        return [
            f"crewboard {self.version}",
            f"store: {self.store}",
            f"log: {self.log}",
            f"python: {self.python}",
        ]


def app_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        # Run from a source folder that was never installed: say so rather than guess a number.
        return "unknown (not installed)"


def about_facts(store: str) -> AboutFacts:
    """The facts for a store already described for people (its file, or its URL without password)."""
    from app.logs import log_file

    return AboutFacts(
        version=app_version(),
        store=store,
        log=str(log_file()),
        python=f"{platform.python_implementation()} {platform.python_version()}",
    )
