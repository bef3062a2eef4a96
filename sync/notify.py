"""Notifications leave the in-app inbox by e-mail, when the business has configured SMTP.

Every Notification is first a row in the database (the inbox the board shows). `Notifier` sends
the undelivered ones through the business's SMTP server and stamps them delivered; a refusal or
an unreachable server counts an attempt, keeps the reason, and tries again later with a growing
pause. Each message's outcome is stored on its own as soon as it is known, so one message that
cannot be written or sent (a header the mail library refuses) fails alone and never blocks or
repeats the others. Subjects are one line (a CR/LF would start a header of its own, such as Bcc).
Without SMTP settings nothing is sent and nothing is wrong: the inbox is the channel.

Addresses: a tech's messages go to their notification address (else their e-mail); the
dispatcher's and the owner's come from `[notifications]` in settings.toml. A row whose recipient
is not an address yet ("dispatcher", "owner") is addressed when it is sent, so an address set up
after an alert still receives it. The SMTP password lives in the OS keyring under
"smtp:<user>@<host>", never in the settings file, and no message or log line carries it.

smtplib runs in a worker thread (it is blocking); one delivery round at a time.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from app.domain.ids import NotificationId, TechId, new_id
from app.domain.model import Audience, Notification, Technician
from app.domain.time import Clock
from app.logs import redact
from app.services.ports import UnitOfWorkFactory
from app.services.text import one_line
from sync.providers.config import ConfigurationError, read_settings_file, settings_path

log = logging.getLogger(__name__)

DEFAULT_FROM = "crewboard@localhost"
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)

PasswordLookup = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The business's outgoing mail server. Port 465 means TLS from the start; others may STARTTLS."""

    host: str
    port: int = 587
    user: str | None = None
    starttls: bool = True
    from_address: str = DEFAULT_FROM
    timeout: float = 30.0

    @property
    def password_ref(self) -> str | None:
        """The keyring entry holding the password, when the server needs a login."""
        return None if self.user is None else smtp_password_ref(self.user, self.host)


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    dispatcher_email: str | None = None
    owner_email: str | None = None
    smtp: SmtpSettings | None = None


def smtp_password_ref(user: str, host: str) -> str:
    return f"smtp:{user.strip()}@{host.strip().lower()}"


def _text(section: Mapping[str, Any], key: str, path: Path) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{key} under [notifications] in {path} must be text in quotes; fix the file."
        )
    return value.strip() or None


def notification_settings(data: Mapping[str, Any], path: Path | None = None) -> NotificationSettings:
    """The `[notifications]` table of a parsed settings file."""
    path = path or settings_path()
    section = data.get("notifications", {})
    if not isinstance(section, Mapping):
        raise ConfigurationError(f"[notifications] in {path} must be a table of settings; fix the file.")
    if "smtp_password" in section:
        raise ConfigurationError(
            f"{path} holds an SMTP password; remove it and store the password in the system keyring "
            "with 'crewboard smtp-password'."
        )
    host = _text(section, "smtp_host", path)
    smtp: SmtpSettings | None = None
    if host is not None:
        port = section.get("smtp_port", 587)
        starttls = section.get("smtp_starttls", port != 465)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ConfigurationError(f"smtp_port in {path} must be a port number such as 587; fix the file.")
        if not isinstance(starttls, bool):
            raise ConfigurationError(f"smtp_starttls in {path} must be true or false; fix the file.")
        smtp = SmtpSettings(
            host=host,
            port=port,
            user=_text(section, "smtp_user", path),
            starttls=starttls,
            from_address=_text(section, "from_address", path) or DEFAULT_FROM,
        )
    return NotificationSettings(
        dispatcher_email=_text(section, "dispatcher_email", path),
        owner_email=_text(section, "owner_email", path),
        smtp=smtp,
    )


def load_notification_settings(path: Path | None = None) -> NotificationSettings:
    path = path or settings_path()
    return notification_settings(read_settings_file(path), path)


def keyring_password(ref: str) -> str | None:
    """The SMTP password kept in the OS keyring under `ref`, if any."""
    from sync.providers.secrets import TokenStore

    blob = TokenStore().load(ref)
    value = None if blob is None else blob.get("password")
    return value if isinstance(value, str) and value else None


def save_smtp_password(user: str, host: str, password: str) -> str:
    """Keep the SMTP password in the OS keyring; returns the entry's name."""
    from sync.providers.secrets import TokenStore

    ref = smtp_password_ref(user, host)
    TokenStore().save(ref, {"password": password})
    return ref


def describe_error(error: BaseException | str) -> str:
    """One line about a failure, for people: no traceback, no credential, at most 300 characters."""
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
        line = f"the mail server answered {error.smtp_code} {text}"
    elif isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = ", ".join(f"{address}: {code}" for address, (code, _m) in error.recipients.items())
        line = f"the mail server refused the recipient ({codes})"
    elif isinstance(error, BaseException):
        line = str(error) or type(error).__name__
        if type(error).__name__ not in line and not isinstance(error, SmtpSetupError):
            line = f"{type(error).__name__}: {line}"
    else:
        line = error
    line = " ".join(redact(line).split())
    return line if len(line) <= 300 else line[:299] + "…"


class SmtpSetupError(Exception):
    """A delivery problem already worded for people."""


def open_smtp(smtp: SmtpSettings, password_lookup: PasswordLookup) -> smtplib.SMTP:
    """A connection to the office's mail server, greeted, encrypted and signed in as configured:
    one way in for the notifications and the booking page's confirmations.

    Raises SmtpSetupError when the password is not in the keyring, OSError or SMTPException when the
    server cannot be reached or refuses; the connection is closed before any of these leaves.
    """
    password: str | None = None
    if smtp.password_ref is not None:
        password = password_lookup(smtp.password_ref)
        if password is None:
            raise SmtpSetupError(
                f"no password for {smtp.user} at {smtp.host} is in the system keyring; "
                "store it with 'crewboard smtp-password'"
            )
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.port == 465:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        client.ehlo()
        if smtp.starttls and smtp.port != 465:
            client.starttls(context=context)
            client.ehlo()
        if smtp.user is not None and password is not None:
            client.login(smtp.user, password)
    except BaseException:
        client.close()
        raise
    return client


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # left in the inbox: no SMTP, no address yet, or not due for a retry


class Notifier:
    """Addresses notifications and delivers the pending ones by SMTP."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        settings: NotificationSettings,
        password: PasswordLookup = keyring_password,
        first_retry: timedelta = FIRST_RETRY,
        longest_retry: timedelta = LONGEST_RETRY,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self.settings = settings
        self._password = password
        self._first_retry = first_retry
        self._longest_retry = longest_retry
        # When each failed message may be tried again. Kept in memory: after a restart every
        # pending message is simply tried once more, which is what someone restarting wants.
        self._next_try: dict[NotificationId, datetime] = {}
        self._round = threading.Lock()

    # -- addressing ---------------------------------------------------------------------------------

    def address(self, audience: Audience, tech: Technician | None = None) -> str | None:
        """Where a message to `audience` goes, or None when nobody has configured one."""
        if audience is Audience.TECH:
            return None if tech is None else (tech.notify_email or tech.email or None)
        if audience is Audience.DISPATCHER:
            return self.settings.dispatcher_email
        return self.settings.owner_email

    def compose(
        self, audience: Audience, subject: str, body: str, created: datetime, tech: Technician | None = None
    ) -> Notification:
        """A new inbox message; the recipient is the address when known, else the audience's name."""
        return Notification(
            id=NotificationId(new_id()),
            audience=audience,
            recipient=self.address(audience, tech) or audience.value,
            # Subjects carry remote text (event titles, calendar names): collapsed, never refused.
            subject=one_line(subject),
            body=body,
            created=created,
            tech_id=None if tech is None else tech.id,
        )

    # -- delivery -------------------------------------------------------------------------------------

    async def deliver_pending(self) -> DeliveryReport:
        """Send what is due, off the event loop."""
        return await asyncio.to_thread(self.deliver_pending_blocking)

    def deliver_pending_blocking(self) -> DeliveryReport:
        with self._round:
            return self._deliver_round()

    def _deliver_round(self) -> DeliveryReport:
        smtp = self.settings.smtp
        now = self._clock.now()
        with self._uow() as uow:
            pending = uow.notifications.undelivered()
            techs = {tech.id: tech for tech in uow.techs.list(include_inactive=True)}
        if smtp is None:
            return DeliveryReport(waiting=len(pending))
        due: list[tuple[Notification, str]] = []
        for item in pending:
            to = self._resolve(item, techs)
            if to is not None and self._next_try.get(item.id, now) <= now:
                due.append((item, to))
        waiting = len(pending) - len(due)
        if not due:
            return DeliveryReport(waiting=waiting)
        sent = failed = 0

        def record(item: Notification, error: str | None) -> None:
            nonlocal sent, failed
            if self._record(item, error):
                sent += 1
            else:
                failed += 1

        self._send(smtp, due, record)
        if failed:
            log.warning("%d notification(s) could not be sent by e-mail; trying again later", failed)
        return DeliveryReport(sent=sent, failed=failed, waiting=waiting)

    def _record(self, item: Notification, error: str | None) -> bool:
        """Stamp one message sent, or count its attempt with the reason; True when it was sent.

        Each outcome is committed on its own, as soon as it is known: a message the server took is
        never sent again because a later one failed, or because the round stopped half-way.
        """
        done = self._clock.now()
        with self._uow() as uow:
            if error is None:
                uow.notifications.update(replace(item, delivered=done, last_error=None))
                self._next_try.pop(item.id, None)
            else:
                attempts = item.attempts + 1
                uow.notifications.update(replace(item, attempts=attempts, last_error=error))
                pause = min(self._first_retry * 2 ** (attempts - 1), self._longest_retry)
                self._next_try[item.id] = done + pause
            uow.commit()
        return error is None

    def _resolve(self, item: Notification, techs: Mapping[TechId, Technician]) -> str | None:
        if "@" in item.recipient:
            return item.recipient
        tech = techs.get(item.tech_id) if item.tech_id else None
        return self.address(item.audience, tech if item.audience is Audience.TECH else None)

    def _send(
        self,
        smtp: SmtpSettings,
        due: Sequence[tuple[Notification, str]],
        record: Callable[[Notification, str | None], None],
    ) -> None:
        """Send each message over one connection, recording each outcome as soon as it is known:
        (message, None) when the server accepted it, else (message, reason).

        A message that cannot be written (a header the mail library refuses) or that the server
        refuses fails alone; only a lost connection fails the messages not yet tried.
        """
        try:
            client = open_smtp(smtp, self._password)
        except (OSError, smtplib.SMTPException, SmtpSetupError) as error:
            reason = describe_error(error)
            log.warning("cannot send through the mail server %s:%d: %s", smtp.host, smtp.port, reason)
            for item, _to in due:
                record(item, reason)
            return
        left = {item.id: item for item, _to in due}  # not recorded yet

        def settle(item: Notification, error: str | None) -> None:
            del left[item.id]
            record(item, error)

        try:
            for item, to in due:
                try:
                    message = self._message(smtp, item, to)
                except (ValueError, TypeError, LookupError) as error:
                    log.warning("notification %s cannot be written as an e-mail: %s", item.id, error)
                    settle(item, f"cannot be written as an e-mail: {describe_error(error)}")
                    continue
                try:
                    client.send_message(message)
                except smtplib.SMTPServerDisconnected:
                    raise  # this one and the rest fail below, with the connection's reason
                except smtplib.SMTPException as error:
                    settle(item, describe_error(error))
                    client.rset()
                except (ValueError, TypeError, LookupError) as error:
                    # Refused by smtplib before anything reached the server (an unusable address).
                    settle(item, f"cannot be sent: {describe_error(error)}")
                    client.rset()
                else:
                    settle(item, None)
        except (OSError, smtplib.SMTPException) as error:
            reason = describe_error(error)
            for item in list(left.values()):
                settle(item, reason)
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def _message(self, smtp: SmtpSettings, item: Notification, to: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = smtp.from_address
        message["To"] = to
        # Stored before subjects were kept to one line, or built from remote text: collapsed here too,
        # so a CR/LF can never start a header of its own (such as Bcc).
        message["Subject"] = one_line(item.subject)
        message["Date"] = format_datetime(item.created)
        # A stable id: a message sent twice (sent, then the receipt lost) is recognisably the same.
        domain = smtp.from_address.rpartition("@")[2] or "crewboard.local"
        message["Message-ID"] = f"<{item.id}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(item.body)
        return message
