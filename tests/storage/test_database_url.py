"""Which database opens: --db, then CREWBOARD_DB, then crewboard.db in the user's data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import InvalidInput
from storage import database_url


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CREWBOARD_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))


def test_an_explicit_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREWBOARD_DB", "sqlite:////srv/env.db")
    assert database_url("postgresql+psycopg://crew@db.office/crewboard") == (
        "postgresql+psycopg://crew@db.office/crewboard"
    )


def test_an_explicit_path_becomes_an_absolute_sqlite_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_url("jobs/crewboard.db") == f"sqlite:///{tmp_path / 'jobs' / 'crewboard.db'}"


def test_the_environment_variable_is_next(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CREWBOARD_DB", str(tmp_path / "from-env.db"))
    assert database_url(None) == f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("CREWBOARD_DB", "sqlite:////srv/env.db")
    assert database_url(None) == "sqlite:////srv/env.db"


def test_the_default_is_in_the_user_data_folder_which_is_created(tmp_path: Path) -> None:
    folder = tmp_path / "data-home" / "crewboard"
    assert not folder.exists()
    assert database_url(None) == f"sqlite:///{folder / 'crewboard.db'}"
    assert folder.is_dir()


def test_an_empty_environment_variable_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CREWBOARD_DB", "  ")
    assert database_url(None) == f"sqlite:///{tmp_path / 'data-home' / 'crewboard' / 'crewboard.db'}"


def test_an_empty_explicit_value_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        database_url(" ")


def test_a_malformed_url_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not a database URL"):
        database_url("not a scheme://x")
