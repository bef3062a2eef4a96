"""Limits on a request that uvicorn has no option for and that every route needs: its body's time.

uvicorn bounds how long a kept-alive connection may idle, and app.web.connections how long a request head may
take, but nothing bounds a body sent a byte at a time: a route reading one waits as long as the
client likes. `BodyDeadline` gives the whole body `seconds` from the moment the route first asks
for it; when they run out the route sees the client as gone (Starlette's ClientDisconnect) and the
client gets 408, unless the route already answered. Routes may keep tighter limits of their own
(the push routes do, and count their refusals).
"""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_TIMEOUT = 10.0  # seconds for a whole body, once the route asks for it

_TOO_SLOW = b"request body did not arrive in time\n"


class BodyDeadline:
    def __init__(self, app: ASGIApp, seconds: float = BODY_TIMEOUT) -> None:
        self._app = app
        self._seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        body_done = timed_out = answered = False

        async def bounded_receive() -> Message:
            nonlocal deadline, body_done, timed_out
            if body_done or timed_out:
                return await receive()  # after the body: a route waiting for the client to leave
            if deadline is None:
                deadline = loop.time() + self._seconds
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def noting_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self._app(scope, bounded_receive, noting_send)
        except ClientDisconnect:
            if not timed_out:
                raise
        if timed_out and not answered:
            await send(
                {
                    "type": "http.response.start",
                    "status": 408,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(_TOO_SLOW)).encode("ascii")),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _TOO_SLOW})
