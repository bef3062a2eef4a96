"""The desk's saved store: checked before it is saved, saved without touching the rest of the file."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from app.errors import InvalidInput
from storage.database import database_url
from storage.store_choice import save_store_url, saved_store_url, with_store_url

URL = "postgresql://dispatch@office-server/crewboard"


def test_saving_keeps_every_other_setting_and_comment(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('# my settings\n[notifications]\nowner_email = "o@example.com"\n', "utf-8")
    save_store_url(URL, path)
    text = path.read_text("utf-8")
    assert text.startswith('# my settings\n[notifications]\nowner_email = "o@example.com"\n')
    assert tomllib.loads(text)["store"] == {"url": URL}
    assert saved_store_url(path) == URL


def test_saving_again_replaces_the_address_in_place(tmp_path: Path) -> None:
    text = with_store_url('[store]\nurl = "postgresql://old/db"\n\n[sync]\nwarn_after = "5m"\n', URL)
    data = tomllib.loads(text)
    assert data["store"]["url"] == URL
    assert data["sync"]["warn_after"] == "5m"
    assert text.count("url =") == 1


def test_a_new_settings_file_is_this_users_alone(tmp_path: Path) -> None:
    path = tmp_path / "config" / "crewboard" / "settings.toml"
    save_store_url(URL, path)
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "sqlite:///x.db",
        "postgresql://u:secret@h/db",
        "postgresql://h",
        "postgresql:///db",
        "postgresql://h:x/db",
    ],
)
def test_what_cannot_work_is_refused_and_nothing_is_written(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "settings.toml"
    with pytest.raises(InvalidInput) as refused:
        save_store_url(bad, path)
    assert not path.exists()
    assert "secret" not in str(refused.value)


def test_a_broken_settings_file_is_one_sentence_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[store\nurl = 1\n", "utf-8")
    with pytest.raises(InvalidInput, match="fix or remove it"):
        saved_store_url(path)
    with pytest.raises(InvalidInput):
        save_store_url(URL, path)
    assert path.read_text("utf-8") == "[store\nurl = 1\n"


def test_database_url_reads_the_saved_store_after_db_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.toml"
    save_store_url(URL, path)
    monkeypatch.setattr("storage.store_choice.settings_file", lambda: path)
    monkeypatch.delenv("CREWBOARD_DB", raising=False)
    assert database_url(None) == "postgresql+psycopg://dispatch@office-server/crewboard"
    monkeypatch.setenv("CREWBOARD_DB", str(tmp_path / "env.db"))
    assert database_url(None) == f"sqlite:///{tmp_path / 'env.db'}"
    assert database_url(str(tmp_path / "flag.db")) == f"sqlite:///{tmp_path / 'flag.db'}"
