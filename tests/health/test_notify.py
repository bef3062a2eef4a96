"""Notifier: the inbox goes out by e-mail through a real SMTP server, and waits when it cannot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.domain.model import Audience, Notification
from app.domain.time import FixedClock
from app.services.container import Services
from sync.notify import (
    NotificationSettings,
    Notifier,
    SmtpSettings,
    keyring_password,
    load_notification_settings,
    smtp_password_ref,
)
from sync.providers.config import ConfigurationError
from sync.providers.secrets import TokenStore
from tests.accounts.conftest import keyring_problem, token_store
from tests.health.conftest import (
    DISPATCHER_EMAIL,
    OWNER_EMAIL,
    Business,
    EphemeralController,
    Mailbox,
    SmtpServer,
)

__all__ = ["keyring_problem", "token_store"]


def _add(services: Services, *items: Notification) -> None:
    with services.uow() as uow:
        for item in items:
            uow.notifications.add(item)
        uow.commit()


def _stored(services: Services, item: Notification) -> Notification:
    with services.uow() as uow:
        found = uow.notifications.get(item.id)
    assert found is not None
    return found


def _inbox(services: Services, notifier: Notifier, business: Business) -> tuple[Notification, Notification]:
    now = services.clock.now()
    to_sam = notifier.compose(
        Audience.TECH, "New job Tue 09:00", "AC repair at Harbor Dental.", now, business.sam
    )
    # Rows other parts of the app write name the audience, not an address; it is resolved when sent.
    to_dispatcher = Notification(
        id=notifier.compose(Audience.DISPATCHER, "x", "x", now).id,
        audience=Audience.DISPATCHER,
        recipient="dispatcher",
        subject="Maria Lopez's Google calendar needs to be reconnected",
        body="Ask Maria Lopez to connect the calendar again.",
        created=now,
        tech_id=business.maria.id,
    )
    _add(services, to_sam, to_dispatcher)
    return to_sam, to_dispatcher


def _notifier(services: Services, smtp: SmtpSettings | None, **kwargs: Any) -> Notifier:
    settings = NotificationSettings(dispatcher_email=DISPATCHER_EMAIL, owner_email=OWNER_EMAIL, smtp=smtp)
    return Notifier(services.uow, services.clock, settings, **kwargs)


async def test_pending_notifications_are_sent_and_stamped(
    services: Services, business: Business, smtp_server: SmtpServer
) -> None:
    notifier = _notifier(services, smtp_server.settings())
    to_sam, to_dispatcher = _inbox(services, notifier, business)
    assert to_sam.recipient == "sam.phone@example.com"  # the tech's notification address beats their e-mail

    report = await notifier.deliver_pending()

    assert (report.sent, report.failed, report.waiting) == (2, 0, 0)
    mails = {m["To"]: m for m in smtp_server.mailbox.messages}
    assert set(mails) == {"sam.phone@example.com", DISPATCHER_EMAIL}
    assert mails["sam.phone@example.com"]["Subject"] == "New job Tue 09:00"
    assert mails["sam.phone@example.com"].get_content().strip() == "AC repair at Harbor Dental."
    assert mails[DISPATCHER_EMAIL]["From"] == "crewboard@harbor-hvac.example"
    assert mails[DISPATCHER_EMAIL]["Message-ID"] == f"<{to_dispatcher.id}@harbor-hvac.example>"
    for item in (to_sam, to_dispatcher):
        stored = _stored(services, item)
        assert stored.delivered == services.clock.now() and stored.attempts == 0
    assert await notifier.deliver_pending() == type(report)()  # nothing left to send
    assert len(smtp_server.mailbox.messages) == 2


async def test_without_smtp_notifications_stay_in_the_inbox(services: Services, business: Business) -> None:
    notifier = _notifier(services, None)
    to_sam, to_dispatcher = _inbox(services, notifier, business)
    report = await notifier.deliver_pending()
    assert (report.sent, report.failed, report.waiting) == (0, 0, 2)
    for item in (to_sam, to_dispatcher):
        stored = _stored(services, item)
        assert stored.delivered is None and stored.attempts == 0 and stored.last_error is None


async def test_a_refusal_is_retried_later_then_delivered(
    services: Services, clock: FixedClock, business: Business, smtp_server: SmtpServer
) -> None:
    notifier = _notifier(services, smtp_server.settings())
    to_sam = notifier.compose(Audience.TECH, "New job", "Details.", clock.now(), business.sam)
    _add(services, to_sam)
    smtp_server.mailbox.refuse = 1

    first = await notifier.deliver_pending()
    assert (first.sent, first.failed) == (0, 1)
    stored = _stored(services, to_sam)
    assert stored.delivered is None and stored.attempts == 1
    assert stored.last_error is not None and stored.last_error.startswith("the mail server answered 451")

    clock.advance(timedelta(seconds=30))
    waiting = await notifier.deliver_pending()
    assert (waiting.sent, waiting.failed, waiting.waiting) == (0, 0, 1)  # not due yet
    assert smtp_server.mailbox.refused == 1

    clock.advance(timedelta(seconds=30))
    second = await notifier.deliver_pending()
    assert (second.sent, second.failed) == (1, 0)
    stored = _stored(services, to_sam)
    assert stored.delivered == clock.now() and stored.attempts == 1 and stored.last_error is None
    assert [m["Subject"] for m in smtp_server.mailbox.messages] == ["New job"]


async def test_an_unreachable_server_backs_off_longer_each_time(
    services: Services, clock: FixedClock, business: Business, smtp_server: SmtpServer
) -> None:
    closed = SmtpSettings(host="127.0.0.1", port=_closed_port(), starttls=False, timeout=2.0)
    notifier = _notifier(services, closed)
    to_sam = notifier.compose(Audience.TECH, "New job", "Details.", clock.now(), business.sam)
    _add(services, to_sam)
    assert (await notifier.deliver_pending()).failed == 1
    clock.advance(timedelta(minutes=1))
    assert (await notifier.deliver_pending()).failed == 1
    clock.advance(timedelta(minutes=1, seconds=59))
    assert (await notifier.deliver_pending()).waiting == 1  # the second pause is two minutes
    clock.advance(timedelta(seconds=1))
    stored = _stored(services, to_sam)
    assert (
        stored.attempts == 2 and stored.last_error is not None and "Connection refused" in stored.last_error
    )
    notifier.settings = NotificationSettings(smtp=smtp_server.settings())
    assert (await notifier.deliver_pending()).sent == 1


async def test_an_audience_without_an_address_waits_without_error(
    services: Services, business: Business, smtp_server: SmtpServer
) -> None:
    notifier = Notifier(services.uow, services.clock, NotificationSettings(smtp=smtp_server.settings()))
    owner_note = notifier.compose(Audience.OWNER, "Outage", "Body.", services.clock.now(), business.maria)
    assert owner_note.recipient == "owner"
    _add(services, owner_note)
    report = await notifier.deliver_pending()
    assert (report.sent, report.failed, report.waiting) == (0, 0, 1)
    assert _stored(services, owner_note).attempts == 0
    assert smtp_server.mailbox.messages == []


async def test_one_bad_message_never_blocks_or_repeats_the_others(
    services: Services, clock: FixedClock, business: Business, smtp_server: SmtpServer
) -> None:
    """A CR/LF in a stored subject or recipient: every other message goes out once, the bad one alone
    fails (or goes out with its subject on one line), and no header is injected."""
    notifier = _notifier(services, smtp_server.settings())
    start = clock.now() - timedelta(minutes=10)

    def row(minute: int, subject: str, recipient: str) -> Notification:
        made = notifier.compose(Audience.DISPATCHER, "x", "Body.", start + timedelta(minutes=minute))
        # Written as a row from before subjects were kept to one line (compose would collapse it).
        return Notification(
            id=made.id,
            audience=Audience.DISPATCHER,
            recipient=recipient,
            subject=subject,
            body="Body.",
            created=made.created,
        )

    first = row(1, "First alert", DISPATCHER_EMAIL)
    injected = row(2, "Leak check\r\nBcc: x@example.com", DISPATCHER_EMAIL)
    unwritable = row(3, "Third alert", "dispatch@harbor-hvac.example\r\nBcc: x@example.com")
    last = row(4, "Last alert", OWNER_EMAIL)
    _add(services, first, injected, unwritable, last)

    reports = []
    for _round in range(3):
        reports.append(await notifier.deliver_pending())
        clock.advance(timedelta(hours=2))

    assert (reports[0].sent, reports[0].failed) == (3, 1)
    subjects = [m["Subject"] for m in smtp_server.mailbox.messages]
    assert subjects == ["First alert", "Leak check Bcc: x@example.com", "Last alert"]  # each once
    assert all(m["Bcc"] is None for m in smtp_server.mailbox.messages)
    assert all("x@example.com" not in to for _from, tos in smtp_server.mailbox.envelopes for to in tos)
    for item in (first, injected, last):
        assert _stored(services, item).delivered is not None
    failed = _stored(services, unwritable)
    assert failed.delivered is None and failed.attempts == 3
    assert failed.last_error is not None and "cannot be written as an e-mail" in failed.last_error
    assert "\n" not in failed.last_error


def test_composed_subjects_are_one_line(services: Services, business: Business) -> None:
    notifier = _notifier(services, None)
    note = notifier.compose(
        Audience.TECH,
        "Sam Okafor: 'Lunch\r\nBcc: x@example.com' over\u2028the job",
        "A\nB",
        services.clock.now(),
        business.sam,
    )
    assert note.subject == "Sam Okafor: 'Lunch Bcc: x@example.com' over the job"
    assert note.body == "A\nB"  # the body keeps its lines


def test_settings_come_from_the_notifications_table(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        "[notifications]\n"
        'dispatcher_email = "dispatch@example.com"\nowner_email = "owner@example.com"\n'
        'smtp_host = "Mail.Example.com"\nsmtp_port = 465\nsmtp_user = "alerts"\n'
        'from_address = "board@example.com"\n'
    )
    settings = load_notification_settings(path)
    assert settings.dispatcher_email == "dispatch@example.com" and settings.owner_email == "owner@example.com"
    assert settings.smtp == SmtpSettings(
        host="Mail.Example.com", port=465, user="alerts", starttls=False, from_address="board@example.com"
    )
    assert settings.smtp.password_ref == "smtp:alerts@mail.example.com"
    assert load_notification_settings(tmp_path / "none.toml") == NotificationSettings()


def test_a_password_in_the_settings_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[notifications]\nsmtp_host = "mail.example.com"\nsmtp_password = "hunter2"\n')
    with pytest.raises(ConfigurationError, match="store the password in the system keyring") as error:
        load_notification_settings(path)
    assert "hunter2" not in str(error.value)
    path.write_text('[notifications]\nsmtp_host = "mail.example.com"\nsmtp_port = "submission"\n')
    with pytest.raises(ConfigurationError, match=r"smtp_port .* must be a port number"):
        load_notification_settings(path)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- a server that needs a login, with the password in the real keyring -------------------------

PASSWORD = "correct horse battery staple"


class _Accounts:
    def __init__(self) -> None:
        self.tried: list[bytes] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.tried.append(auth_data.password)
        ok = auth_data.login == b"alerts" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def login_server() -> Iterator[tuple[SmtpServer, _Accounts]]:
    mailbox, accounts = Mailbox(), _Accounts()
    controller = EphemeralController(
        mailbox, hostname="127.0.0.1", port=0, authenticator=accounts, auth_require_tls=False
    )
    controller.start()
    try:
        yield SmtpServer(mailbox, "127.0.0.1", controller.port), accounts
    finally:
        controller.stop()


@pytest.mark.keyring
async def test_the_smtp_password_comes_from_the_keyring(
    services: Services,
    clock: FixedClock,
    business: Business,
    login_server: tuple[SmtpServer, _Accounts],
    token_store: TokenStore,
) -> None:
    server, accounts = login_server
    smtp = server.settings(user="alerts")
    assert smtp.password_ref == smtp_password_ref("alerts", "127.0.0.1")
    notifier = _notifier(services, smtp)
    to_sam = notifier.compose(Audience.TECH, "New job", "Details.", services.clock.now(), business.sam)
    _add(services, to_sam)

    missing = await notifier.deliver_pending()  # nothing in the keyring yet
    assert missing.failed == 1
    assert "no password for alerts at 127.0.0.1 is in the system keyring" in str(
        _stored(services, to_sam).last_error
    )

    assert smtp.password_ref is not None
    token_store.save(smtp.password_ref, {"password": "wrong"})
    clock.advance(timedelta(minutes=1))
    refused = await notifier.deliver_pending()
    assert refused.failed == 1 and "535" in str(_stored(services, to_sam).last_error)

    token_store.save(smtp.password_ref, {"password": PASSWORD})
    assert keyring_password(smtp.password_ref) == PASSWORD
    clock.advance(timedelta(minutes=2))
    assert (await notifier.deliver_pending()).sent == 1
    assert set(accounts.tried) == {b"wrong", PASSWORD.encode()} and accounts.tried[-1] == PASSWORD.encode()
    assert [m["To"] for m in server.mailbox.messages] == ["sam.phone@example.com"]
    assert PASSWORD not in str(_stored(services, to_sam))
