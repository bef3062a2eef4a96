"""The one ASGI application of the office service, and its mounting seam.

`build_asgi_app(routes, extra_routes=...)` puts `extra_routes` (/healthz, the booking page's
/book and /book/api, each from its own package) before `routes`, whose last member may be a
catch-all (the push receiver answers every other path, with its own 404 and refusal count).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from app.web.limits import BODY_TIMEOUT, BodyDeadline


def build_asgi_app(
    routes: Sequence[BaseRoute],
    *,
    extra_routes: Sequence[BaseRoute] = (),
    body_timeout: float = BODY_TIMEOUT,
) -> Starlette:
    """Starlette over `extra_routes` then `routes`, every body within `body_timeout` seconds
    (app.web.limits); no debug pages, no lifespan work."""
    return Starlette(
        debug=False,
        routes=[*extra_routes, *routes],
        middleware=[Middleware(BodyDeadline, seconds=body_timeout)],
    )
