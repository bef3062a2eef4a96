"""Hostile input to us: a broken settings.toml and bad flag values get one sentence, never a traceback.

(Forged push notifications are covered by tests/health/test_push_receiver.py, and hostile
traffic to the push receiver by tests/health/test_push_hostile.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Result, _cli_env, cli

__all__ = ["_cli_env", "cli"]

Cli = Callable[..., Result]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    folder = config / "crewboard"
    folder.mkdir(parents=True)
    return folder / "settings.toml"


def _one_sentence(result: Result) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.code != 0, result.out
    assert "Traceback" not in result.err and "something went wrong" not in result.err, result.err
    assert len(lines) == 1, result.err
    return lines[0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[sync\nwarn_after = ", "settings"),  # not TOML at all
        ("[sync]\nwarn_after = 'soon'\n", "warn_after"),  # wrong type
        ("[sync]\nwarn_after = -5\n", "warn_after"),  # impossible value
        ("sync = 3\n", "sync"),  # a table that is a number
        ("\x00\xff\xfe binary", "settings"),  # not even text
    ],
)
def test_a_broken_settings_file_gets_one_sentence(
    cli: Cli, settings: Path, content: str, expected: str
) -> None:
    settings.write_bytes(content.encode("utf-8", "surrogateescape"))
    text = _one_sentence(cli("sync", "--once"))
    assert expected in text


@pytest.mark.parametrize(
    "content",
    ["[google]\nclient_id = 5\n", "[microsoft]\nclient_id = ['a']\n", "[google\n"],
)
def test_bad_provider_settings_get_one_sentence(cli: Cli, settings: Path, content: str) -> None:
    added = cli("tech", "add", "Maria Lopez", "--email", "maria@example.com", "--timezone", "America/Chicago")
    assert added.code == 0, added.err
    settings.write_text(content)
    provider = "google" if "google" in content else "microsoft"
    _one_sentence(
        cli("connect", "Maria Lopez", "--provider", provider, "--device-code" * (provider == "microsoft"))
    )


@pytest.mark.parametrize(
    "args",
    [
        ("sync", "--poll", "abc"),
        ("sync", "--poll", "0"),
        ("sync", "--poll", "-5"),
        ("sync", "--poll", "nan"),
        ("sync", "--poll", "inf"),
        ("sync", "--warn-after", "xyz"),
        ("sync", "--once", "--listen", "not-an-address"),
        ("sync", "--unknown-flag"),
        ("connect", "Maria Lopez", "--provider", "yahoo"),
        ("connect", "Maria Lopez", "--provider", "google", "--sandbox", "not a url", "--approve-as", "a@b.c"),
        (
            "connect",
            "Maria Lopez",
            "--provider",
            "google",
            "--sandbox",
            "http://127.0.0.1:9",
            "--approve-as",
            "a@b",
        ),
        ("connect", "Nobody Here", "--provider", "google"),
    ],
)
def test_bad_flags_get_one_sentence(cli: Cli, args: tuple[str, ...]) -> None:
    added = cli("tech", "add", "Maria Lopez", "--email", "maria@example.com", "--timezone", "America/Chicago")
    assert added.code == 0, added.err
    _one_sentence(cli(*[a for a in args if a]))


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--service", "Leak check\r\nBcc: x@example.com", "--customer", "Harbor Dental"), "service"),
        (("--service", "Leak check", "--customer", "Harbor Dental\nBcc: x@example.com"), "customer's name"),
        (("--service", "Leak\u2028check", "--customer", "Harbor Dental"), "service"),
    ],
)
def test_a_line_break_in_a_title_or_name_is_refused_with_one_sentence(
    cli: Cli, args: tuple[str, ...], field: str
) -> None:
    """Typed titles and names end up in e-mail subjects and one-line labels: a line break is refused
    (the person is there to fix it), and nothing is stored."""
    added = cli("tech", "add", "Maria Lopez", "--email", "maria@example.com", "--timezone", "America/Chicago")
    assert added.code == 0, added.err
    booked = cli("book", "--tech", "Maria Lopez", "--start", "2030-11-05T09:00", "--duration", "60", *args)
    text = _one_sentence(booked)
    assert field in text and "one line" in text
    listed = cli("bookings", "--json")
    assert listed.code == 0 and listed.json() == []


def test_a_line_break_in_a_technicians_name_is_refused(cli: Cli) -> None:
    added = cli(
        "tech", "add", "Maria\r\nLopez", "--email", "maria@example.com", "--timezone", "America/Chicago"
    )
    assert "technician's name must be on one line" in _one_sentence(added)
    spaced = cli(
        "tech", "add", "Maria   Lopez", "--email", "maria@example.com", "--timezone", "America/Chicago"
    )
    assert spaced.code == 0, spaced.err  # plain spaces are only tidied


def test_a_line_break_in_a_time_off_reason_is_refused(cli: Cli) -> None:
    added = cli("tech", "add", "Maria Lopez", "--email", "maria@example.com", "--timezone", "America/Chicago")
    assert added.code == 0, added.err
    refused = cli(
        "timeoff", "add", "Maria Lopez", "--date", "2030-11-05", "--reason", "Off\r\nBcc: x@example.com"
    )
    assert "reason for time off must be on one line" in _one_sentence(refused)
    listed = cli("timeoff", "list", "--json")
    assert listed.code == 0 and listed.json() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1.evil.example/hook",
        "http://127.0.0.1@evil.example/hook",
        "http://localhost.evil.example",
    ],
)
def test_a_public_url_that_only_starts_like_loopback_is_refused(cli: Cli, url: str) -> None:
    """`crewboard sync` refuses it before listening: Google and Microsoft would be told to post
    to someone else's plain-http address."""
    text = _one_sentence(cli("sync", "--listen", "127.0.0.1:8788", "--public-url", url))
    assert "--public-url" in text and "https" in text
