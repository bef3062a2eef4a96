"""What stands between the booking page and hostile traffic: form tokens, rate limits, body limits.

- Form tokens (CSRF): a random cookie per browser, and in each form the HMAC of it under a key only
  the store holds. A page on another site can make a browser post, but can neither read the cookie
  nor compute its HMAC, so its post is refused. The cookie is SameSite=Strict as well.
- Rate limits: per client address (behind a relay on this computer, the address it forwards), a
  sliding window of writes (bookings, cancels, moves) and a wider one of reads. In memory: one
  office service answers the page.
- Bodies: at most MAX_BODY bytes, read no further; field lengths are bounded by the use case.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

COOKIE = "crewboard_form"
MAX_BODY = 16 * 1024


class BodyTooLarge(Exception):
    pass


async def bounded_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, or BodyTooLarge as soon as it passes `limit` bytes (declared or sent)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class FormTokens:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_hex(16)

    def token_for(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        return hmac.compare_digest(self.token_for(cookie), token)


@dataclass(frozen=True, slots=True)
class Limits:
    """How many requests one address may make per window."""

    writes: int = 20
    reads: int = 600
    window: float = 600.0  # seconds


class RateLimiter:
    """Sliding-window counts per (address, kind); `now` is injectable (monotonic seconds)."""

    def __init__(self, limits: Limits = Limits(), now: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._now = now
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str, kind: str) -> bool:
        most = self.limits.writes if kind == "write" else self.limits.reads
        now = self._now()
        with self._lock:
            if len(self._seen) > 10_000:  # a flood of addresses cannot grow this without bound
                self._forget_idle(now)
            seen = self._seen.setdefault((address, kind), deque())
            while seen and seen[0] <= now - self.limits.window:
                seen.popleft()
            if len(seen) >= most:
                return False
            seen.append(now)
            return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._seen.items() if not v or v[-1] <= now - self.limits.window]:
            del self._seen[key]


def client_address(request: Request) -> str:
    """Whom to count a request against: the peer, or, when the peer is a relay on this computer
    (nginx in front of `crewboard serve`), the client it names last in X-Forwarded-For. From
    anywhere else the header could be anyone's, so it is ignored."""
    peer = request.client.host if request.client is not None else "unknown"
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded and _loopback(peer):
        return forwarded.rsplit(",", 1)[-1].strip()[:64] or peer
    return peer


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
