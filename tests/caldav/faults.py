"""A thin fault layer in front of Radicale: forwards every request, or fails it on purpose.

Faults reproduce what the network and the hosted servers do that Radicale does not: 5xx,
throttling with Retry-After (iCloud and Fastmail throttle), a request held past the client's
timeout, a reset connection, an answer lost after the server committed the write, a server that
offers no sync-collection (so the client must compare ETags), and one that answers a PUT without
the new ETag (iCloud).
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
_METHODS = (
    "GET",
    "PUT",
    "DELETE",
    "PROPFIND",
    "PROPPATCH",
    "REPORT",
    "MKCALENDAR",
    "OPTIONS",
    "HEAD",
    "POST",
)


@dataclass
class _Fault:
    kind: str
    count: int | None  # None: until cleared
    retry_after: int | None = None


@dataclass(frozen=True)
class Exchange:
    """One request as the fault layer passed it on: what, to where, the answer, bytes each way."""

    method: str
    path: str
    status: int
    sent: int  # request line, headers and body
    received: int  # status line, headers and body
    at: float  # time.perf_counter() when the answer was complete


@dataclass
class FaultState:
    faults: list[_Fault] = field(default_factory=list)
    no_sync_collection: bool = False
    refuse_sync_collection: bool = False  # advertised in PROPFIND, refused when asked for
    no_etag_on_put: bool = False  # iCloud answers a PUT without the new ETag
    # A server that stores something else than it was sent (it adds or rewrites properties)
    # answers a PUT with an ETag the stored object no longer has by the time it is read.
    etag_changes_after_put: bool = False
    # iCloud names the calendar home on a partition host (p42-caldav.icloud.com): this origin
    # is put before the calendar-home-set href, so the client must go there for its calendars.
    home_elsewhere: str | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class FaultProxy:
    def __init__(self, upstream: Callable[[], str], hold: float) -> None:
        self.state = FaultState()
        self._lock = threading.Lock()
        self._upstream = upstream
        self._hold = hold
        self._client = httpx.Client(timeout=30, trust_env=False)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                outer._serve(self)

        for method in _METHODS:
            setattr(Handler, f"do_{method}", Handler._serve)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def close(self) -> None:
        self.state.release.set()
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self._client.close()

    def fault(self, kind: str, *, count: int | None = None, retry_after: int | None = None) -> None:
        with self._lock:
            self.state.release.clear()
            self.state.faults.append(_Fault(kind, count, retry_after))

    def clear_faults(self) -> None:
        with self._lock:
            self.state.faults.clear()
            self.state.release.set()

    def _take(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self.state.faults:
                if fault.kind == "drop_after_commit" and method not in ("PUT", "DELETE"):
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.state.faults.remove(fault)
                return fault
        return None

    def _serve(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        method = handler.command
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        self.state.requests.append((method, handler.path))
        fault = self._take(method)
        if fault is not None and fault.kind == "reset":
            handler.close_connection = True
            handler.connection.close()
            return
        if fault is not None and fault.kind == "timeout":
            self.state.release.wait(self._hold)
            handler.close_connection = True
            handler.connection.close()
            return
        if fault is not None and fault.kind == "5xx":
            self._answer(handler, 502, {}, b"Bad Gateway")
            return
        if fault is not None and fault.kind == "429":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            self._answer(handler, 429, headers, b"Too Many Requests")
            return
        refused = self.state.no_sync_collection or self.state.refuse_sync_collection
        if refused and method == "REPORT" and b"sync-collection" in body:
            error = b'<?xml version="1.0"?><d:error xmlns:d="DAV:"><d:supported-report/></d:error>'
            self._answer(handler, 403, {"Content-Type": "application/xml"}, error)
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
        answer = self._client.request(method, self._upstream() + handler.path, headers=headers, content=body)
        if fault is not None and fault.kind == "drop_after_commit":
            handler.close_connection = True
            handler.connection.close()
            return
        content = answer.content
        sent = len(f"{method} {handler.path} HTTP/1.1\r\n") + len(str(handler.headers)) + len(body)
        received = 17 + sum(len(k) + len(v) + 4 for k, v in answer.headers.items()) + len(answer.content)
        if self.state.no_sync_collection and method == "PROPFIND":
            content = _hide_sync_collection(content)
        if self.state.home_elsewhere and method == "PROPFIND":
            content = _home_elsewhere(content, self.state.home_elsewhere.encode())
        # httpx hands over the body decoded, so its encoding header no longer applies.
        out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP | {"content-encoding"}}
        if self.state.no_etag_on_put and method == "PUT":
            out = {k: v for k, v in out.items() if k.lower() != "etag"}
        if self.state.etag_changes_after_put and method == "PUT":
            out = {k: ('"put-' + v.strip('"') + '"' if k.lower() == "etag" else v) for k, v in out.items()}
        self._answer(handler, answer.status_code, out, content)
        self.state.exchanges.append(
            Exchange(method, handler.path, answer.status_code, sent, received, time.perf_counter())
        )

    @staticmethod
    def _answer(
        handler: http.server.BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)


_NS = rb"(?:[A-Za-z0-9]+:)?"


def _hide_sync_collection(content: bytes) -> bytes:
    """A PROPFIND answer as from a server without RFC 6578: no sync-token, no such report."""
    content = re.sub(rb"<" + _NS + rb"sync-token>[^<]*</" + _NS + rb"sync-token>", b"", content)
    return re.sub(
        rb"<" + _NS + rb"supported-report>\s*<" + _NS + rb"report>\s*<" + _NS + rb"sync-collection\s*/>"
        rb"\s*</" + _NS + rb"report>\s*</" + _NS + rb"supported-report>",
        b"",
        content,
    )


def _home_elsewhere(content: bytes, origin: bytes) -> bytes:
    return re.sub(
        rb"(<" + _NS + rb"calendar-home-set>\s*<" + _NS + rb"href>)(/)",
        lambda m: m.group(1) + origin + m.group(2),
        content,
    )
