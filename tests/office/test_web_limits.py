"""The office service's web server under slow or oversized traffic, whatever route it reaches: a
body dripped too slowly is answered 408 (app.web.limits), a head over the limit 431 (app.web.connections), and
the routes mounted beside the push receiver see every genuine request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.web.asgi import build_asgi_app
from app.web.server import MAX_HEAD, WebServer


async def _echo(request: Request) -> PlainTextResponse:
    body = await request.body()
    return PlainTextResponse(f"{len(body)} bytes")


@pytest.fixture
async def server() -> AsyncIterator[WebServer]:
    app = build_asgi_app([], extra_routes=[Route("/echo", _echo, methods=["POST"])], body_timeout=0.3)
    running = WebServer(app)
    await running.start("127.0.0.1", 0)
    try:
        yield running
    finally:
        await running.aclose()


async def _raw(server: WebServer, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_body_sent_too_slowly_is_answered_408_without_a_traceback(
    server: WebServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answer = await _raw(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_body_in_time_reaches_its_route(server: WebServer) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        answer = await client.post(f"{server.url}/echo", content=b"x" * 5000)
    assert answer.status_code == 200 and answer.text == "5000 bytes"
    assert "date" in answer.headers


async def test_a_head_over_the_limit_is_answered_431(server: WebServer) -> None:
    filler = b"a" * (MAX_HEAD + 100)
    answer = await _raw(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nX-Filler: " + filler + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
