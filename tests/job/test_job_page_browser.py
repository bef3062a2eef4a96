"""A tech opens a job's link on a phone (Debian's chromium, headless, 390x844): the job, the way
there and the numbers to call, big enough to tap; saved to docs/screenshots/job-page.png for README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from tests.booking.conftest import LiveServer, live, serve
from tests.browser import chromium
from tests.job.conftest import Job, job, job_app

__all__ = ["job", "serve"]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_a_tech_opens_the_job_on_a_phone(job: Job, serve: list[LiveServer], browser: Browser) -> None:
    url = live(serve, job_app(job))
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{url}/job/{job.token()}")
        expect(page.get_by_role("heading", name="AC repair")).to_be_visible()
        expect(page.get_by_text("09:30 – 11:00")).to_be_visible()
        maps = page.get_by_role("link", name="Open in Maps")
        expect(maps).to_have_attribute(
            "href",
            "https://www.google.com/maps/search/?api=1&query=1060%20W%20Addison%20St%2C%20Chicago%2C%20IL%2060613",
        )
        expect(page.get_by_role("link", name="Call Ada")).to_have_attribute("href", "tel:+13125550100")
        expect(page.get_by_role("link", name="Call the office")).to_have_attribute("href", "tel:3125550142")
        # Nothing wider than the phone, and every button a thumb can hit (48 CSS px or more).
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        for name in ("Open in Maps", "Call Ada", "Call the office"):
            box = page.get_by_role("link", name=name).bounding_box()
            assert box is not None and box["height"] >= 48, name
        page.screenshot(path=str(SHOTS / "job-page.png"), full_page=True)

        job.services.bookings.reassign(job.booking.id, "Sam Okafor")
        page.reload()
        expect(page.get_by_role("heading", name="This job was reassigned")).to_be_visible()
        expect(page.get_by_text("Ada Park")).to_have_count(0)
    finally:
        context.close()
