"""A customer books through the page in a real browser (Debian's chromium, headless), on a phone-sized
and a desktop viewport; each step is saved to docs/screenshots/ for README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.services.online_booking import CustomerDetails
from app.web.booking import ConfirmationMailer
from tests.booking.conftest import MON_9, LiveServer, MailServer, Shop, booking_app, live
from tests.browser import chromium

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 860)}
FIELDS = ("Your name", "Phone", "E-mail", "Address of the visit", "Note for the technician (optional)")


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _book(page: Page, url: str, size: str, customer: str) -> None:
    page.goto(f"{url}/book/")
    expect(page.get_by_role("heading", name="What do you need?")).to_be_visible()
    expect(page.get_by_text("Solar panels")).to_have_count(0)  # nobody qualified for it
    _shot(page, f"booking-1-services-{size}")
    page.get_by_role("link", name="AC repair").click()
    expect(page.get_by_role("heading", name="AC repair: choose a time")).to_be_visible()
    expect(page.get_by_text("CST, America/Chicago")).to_be_visible()
    _shot(page, f"booking-2-times-{size}")
    page.get_by_role("link", name="Monday 2 November at 09:00").click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    # Every field has a label, and Tab walks them in reading order to the button (the honeypot is skipped).
    page.get_by_label("Your name").focus()
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate("document.activeElement.labels?.[0]?.innerText || document.activeElement.innerText")
        )
    assert order == [*FIELDS[1:], "Book AC repair"]
    page.get_by_label("Your name").fill(customer)
    page.get_by_label("Phone").fill("+1 312 555 0100")
    page.get_by_label("E-mail").fill("kim@example.com")
    page.get_by_label("Address of the visit").fill("5 Oak St, Evanston")
    page.get_by_label("Note for the technician").fill("The gate code is 42.")
    _shot(page, f"booking-3-details-{size}")
    page.get_by_role("button", name="Book AC repair").click()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    expect(page.get_by_text("Monday 2 November at 09:00")).to_be_visible()
    _shot(page, f"booking-4-confirmed-{size}")


def test_a_customer_books_on_a_phone_and_on_a_desktop(
    shop: Shop, serve: list[LiveServer], mail_server: MailServer, browser: Browser
) -> None:
    url = live(serve, booking_app(shop.page, ConfirmationMailer(mail_server.settings)))
    for size, (width, height) in VIEWPORTS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            _book(context.new_page(), url, size, f"Kim Park ({size})")
        finally:
            context.close()
    jobs = shop.services.bookings.list()
    assert sorted(shop.services.customers.get(j.customer_id).name for j in jobs) == [
        "Kim Park (desktop)",
        "Kim Park (phone)",
    ]
    assert {j.tech_id for j in jobs} == {t.id for t in shop.services.techs.list()}  # one each at 09:00
    assert len(mail_server.inbox.wait_for(2)) == 2


def test_the_third_customer_at_nine_is_told_it_was_taken_and_shown_fresh_times(
    shop: Shop, serve: list[LiveServer], browser: Browser
) -> None:
    url = live(serve, booking_app(shop.page))
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{url}/book/{shop.ac.id}")
        page.get_by_role("link", name="Monday 2 November at 09:00").click()
        # Meanwhile both techs are booked at 09:00 by others.
        for name in ("Ann", "Bo"):
            shop.page.book(
                shop.ac.id, MON_9, CustomerDetails(name, "+1 312 555 0100", "a@example.com", "1 Main St")
            )
        for label, value in zip(
            FIELDS[:4], ("Cy", "+1 312 555 0100", "cy@example.com", "9 Elm St"), strict=True
        ):
            page.get_by_label(label).fill(value)
        page.get_by_role("button", name="Book AC repair").click()
        expect(page.get_by_role("alert")).to_have_text("That time was just taken; please choose another.")
        expect(page.get_by_role("link", name="Monday 2 November at 09:00")).to_have_count(0)
        expect(page.get_by_role("link", name="Monday 2 November at 10:30")).to_be_visible()
        _shot(page, "booking-taken-phone")
    finally:
        context.close()
