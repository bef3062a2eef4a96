"""Debian's chromium, headless, driven by Playwright: the browser the customer's and the tech's pages meet.

No browser download: Playwright drives /usr/bin/chromium (scripts/system-deps installs it). The
browser keeps the real clock under scripts/test-dates, like the phones and computers it stands
for; under libfaketime it never finished loading a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.pg import real_clock_env

CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed; run scripts/system-deps.", pytrace=False)
    env: dict[str, str | float | bool] = {**real_clock_env()}
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], env=env)
        try:
            yield launched
        finally:
            launched.close()
