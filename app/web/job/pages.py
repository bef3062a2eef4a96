"""The job page and its refusals: what a tech sees, worded for a phone in the tech's own zone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from app.domain.time import zone
from app.services.job_links import VALID_AFTER_END, JobLinkRefused, JobPageService, JobView, Refusal

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# The token is in the address: it must not travel on to the maps site in a Referer, and no cache
# between the phone and the office should keep a customer's details.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}

REFUSALS: dict[Refusal, tuple[int, str, str]] = {
    Refusal.INVALID: (404, "This link does not open a job", "Use the link in the job's calendar event."),
    Refusal.EXPIRED: (410, "This link has expired", "Job links stop working a day after the job ends."),
    Refusal.REASSIGNED: (
        410,
        "This job was reassigned",
        "The office gave it to another technician, so it is no longer on your schedule.",
    ),
    Refusal.CANCELLED: (410, "This job was cancelled", "There is nothing to do for it any more."),
}


def maps_url(address: str) -> str:
    """A maps search for `address` that opens the phone's maps app or the web, with no API key."""
    return "https://www.google.com/maps/search/?" + urlencode({"api": "1", "query": address}, quote_via=quote)


def tel_url(number: str) -> str:
    """A tel: link for a number as people write it (spaces and brackets dropped, + kept)."""
    return "tel:" + "".join(c for c in number if c.isdigit() or c == "+")


def _length(view: JobView) -> str:
    minutes = int(view.booking.duration.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


@dataclass(frozen=True, slots=True)
class JobLines:
    """The job as the page words it."""

    day: str
    hours: str
    zone: str
    length: str
    until: str


def job_lines(view: JobView) -> JobLines:
    tz = zone(view.tech.timezone)
    start, end = view.booking.start, view.booking.end
    assert start is not None and end is not None  # a job with a link has a time
    at, to = start.astimezone(tz), end.astimezone(tz)
    until = (end + VALID_AFTER_END).astimezone(tz)
    return JobLines(
        day=f"{at:%A} {at.day} {at:%B}",
        hours=f"{at:%H:%M} – {to:%H:%M}",
        zone=f"{at.tzname()}, {view.tech.timezone}",
        length=_length(view),
        until=f"{until:%a} {until.day} {until:%b} {until:%H:%M}",
    )


@dataclass
class JobSite:
    page: JobPageService
    business_name: str
    templates: Jinja2Templates

    async def show(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        try:
            view = await run_in_threadpool(self.page.job, token)
        except JobLinkRefused as refused:
            status, title, text = REFUSALS[refused.refusal]
            phone = await run_in_threadpool(self.page.office_phone)
            return self._render(
                request,
                "refused.html",
                status,
                title=title,
                text=text,
                office=phone,
                office_tel=tel_url(phone),
            )
        customer = view.customer
        return self._render(
            request,
            "job.html",
            200,
            job=view,
            lines=job_lines(view),
            maps=maps_url(customer.address) if customer.address.strip() else None,
            customer_tel=tel_url(customer.phone) if customer.phone.strip() else None,
            office=view.office_phone,
            office_tel=tel_url(view.office_phone),
        )

    def _render(self, request: Request, name: str, status: int, **context: object) -> Response:
        response = self.templates.TemplateResponse(
            request, name, {"business": self.business_name, **context}, status_code=status
        )
        response.headers.update(HEADERS)
        return response
