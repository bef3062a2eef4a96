"""What every route of the booking page shares: the use case, the look, the guards, the mailer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from app.domain.model import Booking, Customer
from app.services.online_booking import Managed, OnlineBookingService, Placed
from app.web.booking.guard import FormTokens, RateLimiter, client_address
from app.web.booking.mail import Confirmation, ConfirmationMailer
from app.web.booking.present import day_text, iso, length_text, when_text, zone_text

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass
class BookingSite:
    page: OnlineBookingService
    business_name: str
    public_url: str | None
    mailer: ConfirmationMailer | None
    limiter: RateLimiter
    forms: FormTokens
    templates: Jinja2Templates

    @property
    def zone(self) -> str:
        return self.page.policy.business_zone

    def allowed(self, request: Request, kind: str) -> bool:
        return self.limiter.allow(client_address(request), kind)

    def manage_url(self, request: Request, token: str) -> str:
        base = self.public_url.rstrip("/") if self.public_url else str(request.base_url).rstrip("/")
        return f"{base}/book/manage/{token}"

    def tech_name(self, name: str | None) -> str | None:
        return name if self.page.policy.show_tech_name else None

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        base = {
            "business": self.business_name,
            "zone": self.zone,
            "zone_text": lambda moment: zone_text(self.zone, moment),
            "when": lambda moment: when_text(moment, self.zone),
            "day_text": day_text,
            "length": length_text,
        }
        return self.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)

    def placed_json(self, request: Request, placed: Placed) -> dict[str, Any]:
        booking = placed.booking
        assert booking.start is not None and booking.end is not None
        return {
            "id": booking.id,
            "start": iso(booking.start, self.zone),
            "end": iso(booking.end, self.zone),
            "tech": self.tech_name(placed.tech.name),
            "manage_url": self.manage_url(request, placed.token),
        }

    def confirmation(
        self,
        request: Request,
        booking: Booking,
        customer: Customer,
        service: str,
        token: str,
        tech: str | None,
        *,
        moved: bool = False,
        cancelled: bool = False,
    ) -> BackgroundTask | None:
        """The e-mail to send once the answer is out, when there is a mail server and an address."""
        if self.mailer is None or not customer.email or booking.start is None:
            return None
        item = Confirmation(
            booking,
            customer,
            service,
            self.manage_url(request, token),
            self.business_name,
            self.zone,
            self.tech_name(tech),
            moved,
            cancelled,
        )
        return BackgroundTask(self.mailer.send, item, self.page.now())


def managed_json(site: BookingSite, managed: Managed) -> dict[str, Any]:
    booking = managed.booking
    return {
        "id": booking.id,
        "service": managed.service.name if managed.service else booking.service,
        "start": iso(booking.start, site.zone) if booking.start else None,
        "end": iso(booking.end, site.zone) if booking.end else None,
        "status": booking.status.value,
        "tech": site.tech_name(managed.tech.name if managed.tech else None),
    }


def error_json(status: int, error: str, message: str, **more: Any) -> JSONResponse:
    headers = {"Retry-After": "60"} if status == 429 else None
    return JSONResponse({"error": error, "message": message, **more}, status_code=status, headers=headers)
