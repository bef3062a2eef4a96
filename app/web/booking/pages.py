"""The booking page itself: service, then a time, then the customer's details, then confirmation.

Plain HTML forms and links, no JavaScript. Every form carries a form token (see guard) and a
honeypot field people never see; a time taken meanwhile answers with fresh times on the spot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.domain.booking_slots import OfferedStart
from app.domain.service_types import ServiceType
from app.errors import InvalidInput, NotFound, Refused
from app.services.online_booking import LIMITS, CustomerDetails, LinkExpired, Managed, SlotTaken
from app.web.booking.guard import COOKIE, BodyTooLarge, FormTokens, bounded_body
from app.web.booking.present import by_day
from app.web.booking.site import BookingSite

HONEYPOT = "website"
_TOO_MANY = "You have sent many requests in a short time; please wait a few minutes and try again."


def page_routes(site: BookingSite) -> list[Route]:
    async def services(request: Request) -> Response:
        if not site.allowed(request, "read"):
            return _refused(site, request, 429, _TOO_MANY)
        found = await run_in_threadpool(site.page.bookable)
        return site.render(request, "services.html", services=found)

    async def times(request: Request) -> Response:
        if not site.allowed(request, "read"):
            return _refused(site, request, 429, _TOO_MANY)
        service = await _service(site, request.path_params["service_id"])
        if service is None:
            return _refused(site, request, 404, "We do not offer that service; choose one from the list.")
        slots = await run_in_threadpool(site.page.slots, service.id)
        return _times_page(site, request, service, slots)

    async def details(request: Request) -> Response:
        if not site.allowed(request, "read"):
            return _refused(site, request, 429, _TOO_MANY)
        service = await _service(site, request.path_params["service_id"])
        start = _instant(request.query_params.get("start", ""))
        if service is None or start is None:
            return _refused(site, request, 404, "Choose a service and a time first.")
        return _form(site, request, service, start, {})

    async def submit(request: Request) -> Response:
        if not site.allowed(request, "write"):
            return _refused(site, request, 429, _TOO_MANY)
        form = await _form_data(request)
        if form is None:
            return _refused(site, request, 413, "That form was too large to accept.")
        if not _token_ok(site.forms, request, form):
            return _refused(site, request, 403, "This form has expired; please choose your time again.")
        if form.get(HONEYPOT):
            return _refused(site, request, 400, "This request could not be accepted.")
        service = await _service(site, request.path_params["service_id"])
        start = _instant(str(form.get("start", "")))
        if service is None or start is None:
            return _refused(site, request, 404, "Choose a service and a time first.")
        values = {name: str(form.get(name, "")) for name in LIMITS}
        details = CustomerDetails(**values)
        try:
            placed = await run_in_threadpool(site.page.book, service.id, start, details)
        except SlotTaken as taken:
            fresh = await run_in_threadpool(site.page.slots, service.id)  # every time still free, not a few
            return _times_page(site, request, service, fresh, taken=str(taken), status=409)
        except (InvalidInput, Refused) as error:
            return _form(site, request, service, start, values, error=str(error), status=400)
        task = site.confirmation(
            request, placed.booking, placed.customer, service.name, placed.token, placed.tech.name
        )
        url = request.url_for("book:manage", token=placed.token).include_query_params(new="1")
        return RedirectResponse(str(url), status_code=303, background=task)

    async def manage(request: Request) -> Response:
        found = await _managed(site, request)
        if isinstance(found, Response):
            return found
        token, shown = found
        return _manage_page(site, request, token, shown, new=request.query_params.get("new") == "1")

    async def move_times(request: Request) -> Response:
        found = await _managed(site, request)
        if isinstance(found, Response):
            return found
        token, shown = found
        if shown.service is None:
            return _refused(site, request, 400, "This job can only be moved by calling the office.")
        slots = await run_in_threadpool(site.page.slots, shown.service.id)
        return _times_page(site, request, shown.service, slots, token=token)

    async def change(request: Request) -> Response:
        if not site.allowed(request, "write"):
            return _refused(site, request, 429, _TOO_MANY)
        token = request.path_params["token"]
        form = await _form_data(request)
        if form is None:
            return _refused(site, request, 413, "That form was too large to accept.")
        if not _token_ok(site.forms, request, form):
            return _refused(site, request, 403, "This form has expired; please open your link again.")
        action = request.path_params["action"]
        try:
            if action == "cancel":
                shown = await run_in_threadpool(site.page.cancel, token)
                task = None
                if shown.customer is not None:
                    service = shown.service.name if shown.service else shown.booking.service
                    task = site.confirmation(
                        request, shown.booking, shown.customer, service, token, None, cancelled=True
                    )
                response = site.render(request, "cancelled.html", managed=shown)
                response.background = task
                return response
            start = _instant(str(form.get("start", "")))
            if start is None:
                return _refused(site, request, 400, "Choose one of the times listed.")
            placed = await run_in_threadpool(site.page.reschedule, token, start)
        except LinkExpired as expired:
            return _refused(site, request, 410, str(expired))
        except SlotTaken as taken:
            shown = await run_in_threadpool(site.page.managed, token)
            assert shown.service is not None
            return _times_page(
                site, request, shown.service, list(taken.slots), taken=str(taken), status=409, token=token
            )
        except (InvalidInput, Refused) as error:
            return _refused(site, request, 400, str(error))
        task = site.confirmation(
            request, placed.booking, placed.customer, placed.service.name, token, placed.tech.name, moved=True
        )
        url = request.url_for("book:manage", token=token).include_query_params(moved="1")
        return RedirectResponse(str(url), status_code=303, background=task)

    return [
        Route("/", services, methods=["GET"], name="services"),
        Route("/manage/{token}", manage, methods=["GET"], name="manage"),
        Route("/manage/{token}/move", move_times, methods=["GET"], name="move_times"),
        Route("/manage/{token}/{action:str}", change, methods=["POST"], name="change"),
        Route("/{service_id}", times, methods=["GET"], name="times"),
        Route("/{service_id}/details", details, methods=["GET"], name="details"),
        Route("/{service_id}/details", submit, methods=["POST"], name="submit"),
    ]


async def _managed(site: BookingSite, request: Request) -> tuple[str, Managed] | Response:
    """The link's token and the booking behind it, or the page saying why not (too many asks, or
    a link that expired): what every read of a manage link does first."""
    if not site.allowed(request, "read"):
        return _refused(site, request, 429, _TOO_MANY)
    token = request.path_params["token"]
    try:
        return token, await run_in_threadpool(site.page.managed, token)
    except LinkExpired as expired:
        return _refused(site, request, 410, str(expired))


async def _service(site: BookingSite, service_id: str) -> ServiceType | None:
    if len(service_id) > 64:
        return None
    try:
        service = await run_in_threadpool(site.page.service, service_id)
    except NotFound:
        return None
    bookable = await run_in_threadpool(site.page.bookable)
    return service if any(s.id == service.id for s in bookable) else None


def _times_page(
    site: BookingSite,
    request: Request,
    service: ServiceType,
    slots: list[OfferedStart],
    *,
    taken: str | None = None,
    status: int = 200,
    token: str | None = None,
) -> Response:
    days = by_day(slots, site.zone)
    first = slots[0].start if slots else site.page.now()
    if token is None:
        base = str(request.url_for("book:details", service_id=service.id))
        links = {value: f"{base}?{urlencode({'start': value})}" for day in days for _, value in day.times}
        response = site.render(
            request, "times.html", status, service=service, days=days, links=links, taken=taken, first=first
        )
    else:
        cookie, field = _form_token(site.forms, request)
        response = site.render(
            request,
            "move.html",
            status,
            service=service,
            days=days,
            taken=taken,
            first=first,
            action=str(request.url_for("book:change", token=token, action="move")),
            back=str(request.url_for("book:manage", token=token)),
            csrf=field,
        )
        _keep_cookie(response, cookie)
    return response


def _form(
    site: BookingSite,
    request: Request,
    service: ServiceType,
    start: datetime,
    values: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    cookie, field = _form_token(site.forms, request)
    response = site.render(
        request,
        "details.html",
        status,
        service=service,
        start=start,
        start_value=start.strftime("%Y-%m-%dT%H:%MZ"),
        values=values,
        limits=LIMITS,
        error=error,
        csrf=field,
        honeypot=HONEYPOT,
        action=str(request.url_for("book:submit", service_id=service.id)),
        back=str(request.url_for("book:times", service_id=service.id)),
    )
    _keep_cookie(response, cookie)
    return response


def _manage_page(site: BookingSite, request: Request, token: str, shown: Managed, new: bool) -> Response:
    cookie, field = _form_token(site.forms, request)
    response = site.render(
        request,
        "manage.html",
        managed=shown,
        new=new,
        mailed=site.mailer is not None,
        moved=request.query_params.get("moved") == "1",
        tech=site.tech_name(shown.tech.name if shown.tech else None),
        csrf=field,
        cancel=str(request.url_for("book:change", token=token, action="cancel")),
        move=str(request.url_for("book:move_times", token=token)),
    )
    _keep_cookie(response, cookie)
    return response


def _refused(site: BookingSite, request: Request, status: int, message: str) -> Response:
    home = str(request.url_for("book:services"))
    return site.render(request, "problem.html", status, message=message, home=home)


def _form_token(forms: FormTokens, request: Request) -> tuple[str, str]:
    cookie = request.cookies.get(COOKIE)
    if not cookie or len(cookie) != 32:
        cookie = forms.new_cookie()
    return cookie, forms.token_for(cookie)


def _keep_cookie(response: Response, cookie: str) -> None:
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/book")


def _token_ok(forms: FormTokens, request: Request, form: FormData) -> bool:
    token = form.get("csrf")
    return forms.valid(request.cookies.get(COOKIE), token if isinstance(token, str) else None)


async def _form_data(request: Request) -> FormData | None:
    from urllib.parse import parse_qsl

    try:
        body = await bounded_body(request)
    except BodyTooLarge:
        return None
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return FormData()
    pairs: list[tuple[str, Any]] = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return FormData(pairs)


def _instant(value: str) -> datetime | None:
    if len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
