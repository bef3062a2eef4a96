"""The customer booking page (/book) and its JSON API (/book/api), as one Starlette Mount.

`booking_routes(...)` is the one thing the office service (and `crewboard demo`) mounts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from app.services.online_booking import OnlineBookingService
from app.web.booking.api import api_routes
from app.web.booking.guard import FormTokens, Limits, RateLimiter
from app.web.booking.mail import ConfirmationMailer
from app.web.booking.pages import page_routes
from app.web.booking.site import STATIC, TEMPLATES, BookingSite

__all__ = ["ConfirmationMailer", "Limits", "booking_routes"]


def booking_routes(
    page: OnlineBookingService,
    *,
    business_name: str = "Crewboard",
    public_url: str | None = None,
    mailer: ConfirmationMailer | None = None,
    limits: Limits | None = None,
    now: Callable[[], float] = time.monotonic,
) -> list[BaseRoute]:
    """Routes for /book: the pages, /book/api, and the page's stylesheet under /book/static.

    `public_url` (e.g. https://book.harbor-hvac.example) makes the manage links in e-mails; without
    it they use the address the request came to. `mailer` sends confirmations (None: no e-mail).
    """
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True), auto_reload=False
    )
    site = BookingSite(
        page=page,
        business_name=business_name,
        public_url=public_url,
        mailer=mailer,
        limiter=RateLimiter(limits or Limits(), now),
        forms=FormTokens(page.derived_key("booking-page-forms")),
        templates=Jinja2Templates(env=environment),
    )
    routes: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        *api_routes(site),
        *page_routes(site),
    ]
    return [Mount("/book", routes=routes, name="book")]
