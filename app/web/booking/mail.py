"""The customer's confirmation: an e-mail with the time, an .ics to add it, and the manage link.

Sent through the business's SMTP server (settings.toml [notifications], the password in the OS
keyring, as for alerts: see sync.notify), after the booking has committed and the page has
answered; a mail server that is down never costs a booking, it only costs this e-mail (logged).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from icalendar import Calendar, Event

from app.domain.model import Booking, Customer
from app.web.booking.present import when_text, zone_text
from sync.notify import (
    PasswordLookup,
    SmtpSettings,
    SmtpSetupError,
    describe_error,
    keyring_password,
    open_smtp,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the e-mail says. `tech` is None unless the office shows techs' names to customers."""

    booking: Booking
    customer: Customer
    service: str
    manage_url: str
    business_name: str
    business_zone: str
    tech: str | None = None
    moved: bool = False
    cancelled: bool = False


def ics(item: Confirmation, stamp: datetime) -> bytes:
    assert item.booking.start is not None and item.booking.end is not None
    calendar = Calendar()
    calendar.add("prodid", "-//Crewboard//Booking page//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if item.cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"{item.booking.id}@crewboard")
    event.add("dtstamp", stamp)
    event.add("dtstart", item.booking.start)
    event.add("dtend", item.booking.end)
    event.add("summary", f"{item.service} ({item.business_name})")
    event.add("location", item.customer.address)
    event.add("description", f"Change or cancel: {item.manage_url}")
    event.add("sequence", item.booking.version)
    if item.cancelled:
        event.add("status", "CANCELLED")
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def message(item: Confirmation, settings: SmtpSettings, stamp: datetime) -> EmailMessage:
    assert item.booking.start is not None
    when = when_text(item.booking.start, item.business_zone)
    zone = zone_text(item.business_zone, item.booking.start)
    verb = "cancelled" if item.cancelled else "moved" if item.moved else "booked"
    mail = EmailMessage()
    mail["From"] = settings.from_address
    mail["To"] = item.customer.email
    mail["Subject"] = f"{item.service} {verb}: {when}"
    mail["Date"] = format_datetime(stamp)
    mail["Message-ID"] = make_msgid(domain=settings.from_address.rpartition("@")[2] or "crewboard.local")
    mail["Auto-Submitted"] = "auto-generated"
    lines = [
        f"Hello {item.customer.name},",
        "",
        f"Your {item.service} with {item.business_name} is {verb}:",
        f"  {when} ({zone})",
        f"  at {item.customer.address}",
    ]
    if item.tech and not item.cancelled:
        lines.append(f"  with {item.tech}")
    if not item.cancelled:
        lines += [
            "",
            "To cancel or move it, open this link (it works until the job starts):",
            item.manage_url,
        ]
    mail.set_content("\n".join([*lines, "", item.business_name]))
    mail.add_attachment(
        ics(item, stamp),
        maintype="text",
        subtype="calendar",
        filename="booking.ics",
        params={"method": "PUBLISH"},
    )
    return mail


class ConfirmationMailer:
    def __init__(self, settings: SmtpSettings, password: PasswordLookup = keyring_password) -> None:
        self.settings = settings
        self._password = password

    def send(self, item: Confirmation, stamp: datetime) -> bool:
        """Send one confirmation; False (and a log line, without the address) when it could not go."""
        smtp = self.settings
        try:
            mail = message(item, smtp, stamp)
            client = open_smtp(smtp, self._password)
            try:
                client.send_message(mail)
            finally:
                try:
                    client.quit()
                except (OSError, smtplib.SMTPException):
                    client.close()
        except (OSError, smtplib.SMTPException, SmtpSetupError, ValueError) as error:
            log.warning(
                "the confirmation of booking %s was not sent: %s", item.booking.id[:8], describe_error(error)
            )
            return False
        return True
