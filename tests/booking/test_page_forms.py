"""The page's forms without a browser: form tokens, the honeypot, bounded fields, the e-mail."""

from __future__ import annotations

import re

import httpx
from icalendar import Calendar

from app.web.booking import ConfirmationMailer
from tests.booking.conftest import LiveServer, MailServer, Shop, booking_app, live

DETAILS = {
    "name": "Kim Park",
    "phone": "+1 312 555 0100",
    "email": "kim@example.com",
    "address": "5 Oak St",
    "notes": "",
}
START = "2026-11-02T15:00Z"  # Monday 09:00 in Chicago


def _form(client: httpx.Client, service_id: str) -> str:
    page = client.get(f"/book/{service_id}/details", params={"start": START})
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found is not None
    return found.group(1)


def test_a_post_without_the_form_token_is_refused(shop: Shop, serve: list[LiveServer]) -> None:
    url = live(serve, booking_app(shop.page))
    with httpx.Client(base_url=url) as client:
        token = _form(client, shop.ac.id)
    # Another site can make the browser post, but has neither the cookie nor a token for it.
    with httpx.Client(base_url=url) as stranger:
        refused = stranger.post(
            f"/book/{shop.ac.id}/details", data={**DETAILS, "start": START, "csrf": token}
        )
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert shop.services.bookings.list() == []


def test_the_honeypot_and_overlong_fields_book_nothing(shop: Shop, serve: list[LiveServer]) -> None:
    url = live(serve, booking_app(shop.page))
    with httpx.Client(base_url=url) as client:
        token = _form(client, shop.ac.id)
        bot = client.post(
            f"/book/{shop.ac.id}/details", data={**DETAILS, "start": START, "csrf": token, "website": "x"}
        )
        assert bot.status_code == 400
        long = client.post(
            f"/book/{shop.ac.id}/details", data={**DETAILS, "name": "K" * 121, "start": START, "csrf": token}
        )
        assert long.status_code == 400 and "The name can be at most 120 characters." in long.text
        assert 'value="5 Oak St"' in long.text  # what was typed is kept
        huge = client.post(
            f"/book/{shop.ac.id}/details",
            data={**DETAILS, "notes": "x" * 20000, "start": START, "csrf": token},
        )
        assert huge.status_code == 413
    assert shop.services.bookings.list() == []


def test_booking_by_form_confirms_by_mail_with_an_ics_and_the_manage_link(
    shop: Shop, serve: list[LiveServer], mail_server: MailServer
) -> None:
    url = live(serve, booking_app(shop.page, ConfirmationMailer(mail_server.settings)))
    with httpx.Client(base_url=url) as client:
        token = _form(client, shop.ac.id)
        done = client.post(f"/book/{shop.ac.id}/details", data={**DETAILS, "start": START, "csrf": token})
        assert done.status_code == 303
        manage = done.headers["location"]
        confirmation = client.get(manage)
    assert "You're booked" in confirmation.text and "Monday 2 November at 09:00" in confirmation.text
    [mail] = mail_server.inbox.wait_for(1)
    assert mail["To"] == "kim@example.com"
    assert mail["Subject"] == "AC repair booked: Monday 2 November at 09:00"
    text = mail.get_body(("plain",))
    assert text is not None and manage.split("?")[0] in text.get_content()
    assert "(CST, America/Chicago)" in text.get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar" and attachment.get_filename() == "booking.ics"
    [event] = Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert event.decoded("dtstart").isoformat() == "2026-11-02T15:00:00+00:00"
    assert event["location"] == "5 Oak St"
