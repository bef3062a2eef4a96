"""`crewboard connect TECH --provider caldav --url URL --username NAME --password-stdin`, run as a
dispatcher runs it, against a real Radicale and the real Secret Service."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.providers.secrets import TokenStore
from tests.caldav.harness import PASSWORD, USER, CaldavBackend
from tests.cli.conftest import Result, cli

__all__ = ["cli"]

pytestmark = pytest.mark.keyring

Cli = Callable[..., Result]
REF = f"caldav:{USER}"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "crewboard-data"
    folder.mkdir()
    monkeypatch.setenv("CREWBOARD_DB", str(folder / "crewboard.db"))
    monkeypatch.setenv("CREWBOARD_LOG_DIR", str(folder / "logs"))
    monkeypatch.setenv("CREWBOARD_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
    return folder


@pytest.fixture
def crew(cli: Cli, data_dir: Path, token_store: TokenStore) -> Iterator[Cli]:
    added = cli("tech", "add", "Maria Lopez", "--email", USER, "--timezone", "America/Chicago")
    assert added.code == 0, added.err
    yield cli
    token_store.delete(REF)  # the CLI wrote it through its own TokenStore


def connect(crew: Cli, backend: CaldavBackend, password: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return crew(
        "connect",
        "Maria Lopez",
        "--provider",
        "caldav",
        "--url",
        backend.url,
        "--username",
        USER,
        "--password-stdin",
    )


def test_connect_keeps_the_password_in_the_keyring_only(
    crew: Cli,
    backend: CaldavBackend,
    data_dir: Path,
    token_store: TokenStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done = connect(crew, backend, PASSWORD, monkeypatch)
    assert done.code == 0, done.err
    assert done.out.strip() == (
        f"Connected Maria Lopez's CalDAV calendar {USER} (2 calendar(s); blocking time: Calendar)."
    )
    listed = crew("accounts", "--json")
    assert listed.code == 0, listed.err
    [account] = listed.json()
    assert (account["provider"], account["status"]) == ("caldav", "connected")
    assert sorted(c["name"] for c in account["calendars"]) == ["Calendar", "Family"]
    checked = crew("accounts", "--check", "--json")
    assert checked.code == 0 and checked.json()[0]["status"] == "connected", checked.err

    stored = token_store.load(REF)
    assert stored is not None and stored["password"] == PASSWORD
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), f"the password leaked into {path}"

    gone = crew("disconnect", "Maria Lopez", "--provider", "caldav")
    assert gone.code == 0, gone.err
    assert token_store.load(REF) is None


def test_a_wrong_password_is_one_sentence_and_connects_nothing(
    crew: Cli, backend: CaldavBackend, token_store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = connect(crew, backend, "not-the-password", monkeypatch)
    assert refused.code != 0
    assert "Traceback" not in refused.err
    assert "refused the user name or password" in refused.err
    assert crew("accounts", "--json").json() == []
    assert token_store.load(REF) is None


def test_caldav_needs_its_three_options(crew: Cli, backend: CaldavBackend) -> None:
    missing = crew("connect", "Maria Lopez", "--provider", "caldav", "--url", backend.url)
    assert missing.code != 0
    assert "--username and --password-stdin" in missing.err and "Traceback" not in missing.err
