"""The public JSON API the page's own flow mirrors, for a business that embeds its own widget.

GET /book/api/services, GET /book/api/slots?service=ID&from=DATE&days=N,
POST /book/api/bookings → 201 or 409 {"error": "taken", "slots": [...]},
GET / PATCH / DELETE /book/api/bookings/{manage token}. Documented in README.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.errors import InvalidInput, NotFound, Refused
from app.services.online_booking import CustomerDetails, LinkExpired, SlotTaken
from app.web.booking.guard import BodyTooLarge, bounded_body
from app.web.booking.present import service_json, slot_json
from app.web.booking.site import BookingSite, error_json, managed_json

FIELDS = ("service", "start", "name", "phone", "email", "address", "notes")


def api_routes(site: BookingSite) -> list[Route]:
    async def services(request: Request) -> Response:
        if not site.allowed(request, "read"):
            return error_json(429, "rate_limited", "Too many requests; try again in a minute.")
        found = await run_in_threadpool(site.page.bookable)
        return JSONResponse([service_json(s) for s in found])

    async def slots(request: Request) -> Response:
        if not site.allowed(request, "read"):
            return error_json(429, "rate_limited", "Too many requests; try again in a minute.")
        query = request.query_params
        try:
            first = date.fromisoformat(query["from"]) if query.get("from") else None
            days = int(query["days"]) if query.get("days") else None
        except ValueError:
            return error_json(400, "invalid", "Give from as YYYY-MM-DD and days as a whole number.")
        try:
            found = await run_in_threadpool(site.page.slots, query.get("service", ""), first, days)
        except NotFound as error:
            return error_json(404, "not_found", str(error))
        except InvalidInput as error:
            return error_json(400, "invalid", str(error))
        return JSONResponse([slot_json(s, site.zone) for s in found])

    async def create(request: Request) -> Response:
        if not site.allowed(request, "write"):
            return error_json(429, "rate_limited", "Too many bookings from this address; try again later.")
        body = await _json_object(request)
        if isinstance(body, Response):
            return body
        text = {name: body.get(name, "") for name in FIELDS}
        if not all(isinstance(value, str) for value in text.values()):
            return error_json(400, "invalid", f"Each of {', '.join(FIELDS)} is a string.")
        start = _instant(text["start"])
        if start is None:
            return error_json(
                400, "invalid", "Give start as an ISO 8601 time with its offset, as slots lists it."
            )
        details = CustomerDetails(text["name"], text["phone"], text["email"], text["address"], text["notes"])
        try:
            placed = await run_in_threadpool(site.page.book, text["service"], start, details)
        except SlotTaken as taken:
            return _taken(site, taken)
        except NotFound as error:
            return error_json(404, "not_found", str(error))
        except (InvalidInput, Refused) as error:
            return error_json(400, "invalid", str(error))
        task = site.confirmation(
            request, placed.booking, placed.customer, placed.service.name, placed.token, placed.tech.name
        )
        return JSONResponse(site.placed_json(request, placed), status_code=201, background=task)

    async def one(request: Request) -> Response:
        token = request.path_params["token"]
        if request.method != "GET" and not site.allowed(request, "write"):
            return error_json(429, "rate_limited", "Too many changes from this address; try again later.")
        if request.method == "GET" and not site.allowed(request, "read"):
            return error_json(429, "rate_limited", "Too many requests; try again in a minute.")
        try:
            if request.method == "GET":
                return JSONResponse(managed_json(site, await run_in_threadpool(site.page.managed, token)))
            if request.method == "DELETE":
                shown = await run_in_threadpool(site.page.cancel, token)
                task = None
                if shown.customer is not None:
                    task = site.confirmation(
                        request,
                        shown.booking,
                        shown.customer,
                        shown.booking.service,
                        token,
                        None,
                        cancelled=True,
                    )
                return JSONResponse(managed_json(site, shown), background=task)
            body = await _json_object(request)
            if isinstance(body, Response):
                return body
            start = _instant(body.get("start"))
            if start is None:
                return error_json(400, "invalid", "Give start as an ISO 8601 time with its offset.")
            placed = await run_in_threadpool(site.page.reschedule, token, start)
        except LinkExpired as expired:
            return error_json(410 if "not valid" not in str(expired) else 404, "expired", str(expired))
        except SlotTaken as taken:
            return _taken(site, taken)
        except (InvalidInput, Refused) as error:
            return error_json(400, "invalid", str(error))
        task = site.confirmation(
            request,
            placed.booking,
            placed.customer,
            placed.service.name,
            placed.token,
            placed.tech.name,
            moved=True,
        )
        return JSONResponse(site.placed_json(request, placed), background=task)

    return [
        Route("/api/services", services, methods=["GET"]),
        Route("/api/slots", slots, methods=["GET"]),
        Route("/api/bookings", create, methods=["POST"]),
        Route("/api/bookings/{token}", one, methods=["GET", "PATCH", "DELETE"]),
    ]


def _taken(site: BookingSite, taken: SlotTaken) -> Response:
    slots = [slot_json(s, site.zone) for s in taken.slots]
    return JSONResponse({"error": "taken", "message": str(taken), "slots": slots}, status_code=409)


async def _json_object(request: Request) -> dict[str, Any] | Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return error_json(415, "unsupported", "Send the body as application/json.")
    try:
        body = json.loads(await bounded_body(request))
    except BodyTooLarge:
        return error_json(413, "too_large", "The request is too large.")
    except (ValueError, UnicodeDecodeError):
        return error_json(400, "invalid", "The body is not JSON.")
    if not isinstance(body, dict):
        return error_json(400, "invalid", "The body is a JSON object.")
    return body


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
