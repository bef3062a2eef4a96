"""`crewboard health` and `crewboard notifications`, and the sync options for alerts and push."""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.bus import Bus
from app.cli.main import build_parser
from app.cli.monitoring import add_health_arguments, check_push_arguments
from app.domain.ids import NotificationId
from app.domain.model import Audience, HealthLevel, Notification, Provider, SyncHealth
from app.domain.time import FixedClock
from app.errors import InvalidInput
from app.services.container import Services
from storage.database import open_database
from sync.notify import keyring_password, smtp_password_ref
from sync.providers.secrets import TokenStore
from tests.accounts.conftest import keyring_problem, token_store
from tests.cli.conftest import Result, _cli_env, cli
from tests.health.conftest import add_account

__all__ = ["_cli_env", "cli", "keyring_problem", "token_store"]

T0 = datetime(2026, 11, 2, 16, 5, tzinfo=UTC)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Services]:
    database = open_database(str(tmp_path / "cli.db"))
    try:
        yield Services.build(database.unit_of_work, FixedClock(T0), Bus())
    finally:
        database.dispose()


def test_health_lists_each_account_with_its_outage(cli: Callable[..., Result], office: Services) -> None:
    maria = office.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
    sam = office.techs.add("Sam Okafor", "sam@example.com", "America/Los_Angeles")
    failing, _ = add_account(office, maria, Provider.GOOGLE, "1")
    fine, _ = add_account(office, sam, Provider.MICROSOFT, "2")
    with office.uow() as uow:
        uow.health.put(
            SyncHealth(
                failing.id,
                last_success=T0 - timedelta(minutes=1),
                failing_since=T0,
                last_error="Google answered 503",
                level=HealthLevel.DISPATCHER,
            )
        )
        uow.health.put(SyncHealth(fine.id, last_success=T0))
        uow.commit()

    result = cli("health", "--json")

    assert result.code == 0, result.err
    assert result.json() == [
        {
            "tech": "Maria Lopez",
            "provider": "google",
            "account": "maria@example.com",
            "status": "connected",
            "last_success": "2026-11-02T10:04:00-06:00",
            "failing_since": "2026-11-02T10:05:00-06:00",
            "level": "dispatcher",
        },
        {
            "tech": "Sam Okafor",
            "provider": "microsoft",
            "account": "sam@example.com",
            "status": "connected",
            "last_success": "2026-11-02T10:05:00-06:00",
            "failing_since": None,
            "level": "ok",
        },
    ]
    table = cli("health")
    assert "dispatcher" in table.out and "Maria Lopez (maria@example.com): Google answered 503" in table.out


def test_health_of_an_account_never_synced(cli: Callable[..., Result], office: Services) -> None:
    add_account(
        office, office.techs.add("Ana Diaz", "ana@example.com", "America/Chicago"), Provider.GOOGLE, "3"
    )
    [row] = cli("health", "--json").json()
    assert (row["last_success"], row["failing_since"], row["level"]) == (None, None, "ok")


def test_notifications_list_and_filter_undelivered(cli: Callable[..., Result], office: Services) -> None:
    sent = Notification(
        NotificationId("a" * 32),
        Audience.DISPATCHER,
        "dispatch@example.com",
        "Outage",
        "Body one.",
        T0,
        delivered=T0 + timedelta(minutes=1),
    )
    waiting = Notification(
        NotificationId("b" * 32),
        Audience.TECH,
        "maria@example.com",
        "3 jobs added",
        "Body two.",
        T0 + timedelta(hours=2),
    )
    with office.uow() as uow:
        uow.notifications.add(sent)
        uow.notifications.add(waiting)
        uow.commit()

    everything = cli("notifications", "--json").json()
    assert [n["id"] for n in everything] == [waiting.id, sent.id]  # newest first
    assert everything[1] == {
        "id": sent.id,
        "to": "dispatcher",
        "recipient": "dispatch@example.com",
        "subject": "Outage",
        "body": "Body one.",
        "created": "2026-11-02T10:05:00-06:00",
        "delivered": "2026-11-02T10:06:00-06:00",
    }
    undelivered = cli("notifications", "--undelivered", "--json").json()
    assert [(n["id"], n["to"], n["delivered"]) for n in undelivered] == [(waiting.id, "tech", None)]
    assert "3 jobs added" in cli("notifications").out


def test_deliver_without_a_mail_server_says_what_to_set(
    cli: Callable[..., Result], office: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    result = cli("notifications", "--deliver")
    assert result.code == 2
    assert "No mail server is configured; set smtp_host" in result.err


def test_sync_options_for_thresholds_and_push() -> None:
    parser = argparse.ArgumentParser()
    add_health_arguments(parser)
    args = parser.parse_args(
        [
            "--warn-after",
            "2m",
            "--owner-after",
            "1h30m",
            "--listen",
            "127.0.0.1:8788",
            "--public-url",
            "https://x.example",
        ]
    )
    assert args.warn_after == timedelta(minutes=2) and args.dispatcher_after is None
    assert args.owner_after == timedelta(hours=1, minutes=30)
    assert args.listen == ("127.0.0.1", 8788) and args.public_url == "https://x.example"
    with pytest.raises(SystemExit):
        parser.parse_args(["--warn-after", "soon"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--listen", "8788"])
    with pytest.raises(InvalidInput, match="together"):
        check_push_arguments(("127.0.0.1", 8788), None)
    with pytest.raises(InvalidInput, match="must be an https address"):
        check_push_arguments(("0.0.0.0", 8788), "http://relay.example.com/hook")
    check_push_arguments(("0.0.0.0", 8788), "https://relay.example.com/hook")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1.evil.example/hook",  # passed a check by prefix
        "http://localhost.evil.example",
        "http://127.0.0.1@evil.example/hook",  # the host is evil.example
        "http://[::2]:8788/hook",
        "http://10.0.0.5:8788/hook",
        "ftp://relay.example.com/hook",
        "https:///hook",  # no host
        "https://relay.example.com/hook?x=1",  # /google would land in the query
        "https://relay.example.com/hook#top",
        "https://relay.example.com:99999/hook",
        "https://relay.example.com/ho ok",
        "https://relay.example.com/hook\nx",
        "relay.example.com/hook",
    ],
)
def test_public_url_is_parsed_not_checked_by_prefix(url: str) -> None:
    with pytest.raises(InvalidInput, match="--public-url") as refused:
        check_push_arguments(("127.0.0.1", 8788), url.replace("\\n", "\n"))
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://relay.example.com/hook",
        "HTTPS://Relay.Example.com:8443/crewboard/",
        "http://127.0.0.1:8788/crewboard",
        "http://127.9.9.9:8788",
        "http://localhost:8788/x",
        "http://LOCALHOST:8788",
        "http://[::1]:8788/crewboard",
    ],
)
def test_public_url_https_or_loopback_is_accepted(url: str) -> None:
    check_push_arguments(("127.0.0.1", 8788), url)


def test_health_commands_are_registered() -> None:
    parser = build_parser()
    assert parser.parse_args(["health", "--json"]).json
    assert parser.parse_args(["notifications", "--undelivered"]).undelivered
    assert parser.parse_args(["smtp-password", "--stdin"]).stdin


@pytest.mark.keyring
def test_smtp_password_goes_to_the_keyring_only(
    cli: Callable[..., Result],
    token_store: TokenStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    (config / "crewboard").mkdir(parents=True)
    settings = config / "crewboard" / "settings.toml"
    settings.write_text('[notifications]\nsmtp_host = "mail.example.com"\nsmtp_user = "alerts"\n')
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-pass\n"))
    ref = smtp_password_ref("alerts", "mail.example.com")
    try:
        result = cli("smtp-password", "--stdin")
        assert result.code == 0, result.err
        assert "Saved the password for alerts at mail.example.com in the system keyring." in result.out
        assert keyring_password(ref) == "s3cret-pass"
        assert "s3cret-pass" not in settings.read_text() + result.out + result.err
    finally:
        token_store.delete(ref)
