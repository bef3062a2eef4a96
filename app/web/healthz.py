"""GET /healthz: whether this `crewboard serve` is fit to stay in service, for a load balancer or systemd.

200 when the store answers and this process owns sync or stands by ready to take over; 503 when
the store does not answer (within PROBE_TIMEOUT) or this process cannot reach it. The body says
which, and who owns sync by the store's record:

    {"status": "owner" | "standby" | "unavailable",
     "owner": {"holder", "host", "pid", "since", "last_seen"} | null,
     "store": "reachable" | "unreachable",
     "reason": "..."}   (only when unavailable: the sentence of the failure)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.errors import StorageError
from app.services.sync_owner import Role, ServiceState, SyncOwner, SyncOwnerService

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 3.0  # seconds: a store slower than this to answer one read is unfit for service


def healthz_route(state: Callable[[], ServiceState], owners: SyncOwnerService) -> Route:
    async def healthz(_request: Request) -> JSONResponse:
        current = state()
        reason = current.why
        try:
            owner = await asyncio.wait_for(asyncio.to_thread(owners.current), PROBE_TIMEOUT)
            reachable = True
        except (StorageError, TimeoutError) as error:
            owner, reachable = None, False
            reason = str(error) or "The store did not answer in time."
        except Exception:  # unforeseen: still "unfit" for a load balancer, and the log says why
            log.exception("checking the store for /healthz failed")
            owner, reachable = None, False
            reason = "The store could not be checked; the service's log says why."
        role = current.role if reachable else Role.UNAVAILABLE
        body: dict[str, Any] = {
            "status": role.value,
            "owner": _owner_json(owner),
            "store": "reachable" if reachable else "unreachable",
        }
        if role is Role.UNAVAILABLE:
            body["reason"] = reason
        ok = reachable and role in (Role.OWNER, Role.STANDBY)
        return JSONResponse(body, 200 if ok else 503, headers={"Cache-Control": "no-store"})

    return Route("/healthz", healthz, methods=["GET", "HEAD"])


def _owner_json(owner: SyncOwner | None) -> dict[str, Any] | None:
    if owner is None:
        return None
    return {
        "holder": owner.holder,
        "host": owner.host,
        "pid": owner.pid,
        "since": owner.since.isoformat(),
        "last_seen": owner.last_seen.isoformat(),
    }
