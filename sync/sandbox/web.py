"""Over 500 lines: HTTP/1.1 parsing, faults and the request log share one server loop.

The sandbox's HTTP plumbing: one threaded server per emulated host, faults, and a request log.

Standard library only (http.server). Each `SiteServer` parses HTTP/1.1 (keep-alive, Content-Length
or chunked bodies) into a `base.Request`, consults the shared `FaultInjector`, hands the request to
its `Site`, and writes the `base.Response` back with a Content-Length. Nothing a provider raises
ever reaches the client as a traceback: it becomes a logged 500 with a JSON body.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import logging
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sync.sandbox.base import Request, Response, Site

log = logging.getLogger(__name__)

FAULT_KINDS = ("5xx", "429", "timeout", "reset", "drop_after_commit")
DEFAULT_TIMEOUT_HOLD = 30.0
MAX_BODY = 16 * 1024 * 1024

# Which provider each site belongs to; the control site belongs to none and never sees faults.
SITE_PROVIDERS = {"google": "google", "microsoft": "microsoft", "graph": "microsoft"}


@dataclass(slots=True)
class Fault:
    """One injected failure, consumed per matching request (`count`) or active for `seconds`."""

    kind: str
    provider: str | None = None
    account: str | None = None
    count: int | None = None
    until: float | None = None  # time.monotonic() deadline
    retry_after: int = 1
    hold_seconds: float = DEFAULT_TIMEOUT_HOLD
    status: int = 503

    def describe(self) -> dict[str, Any]:
        left = None if self.until is None else max(0.0, round(self.until - time.monotonic(), 3))
        return {
            "kind": self.kind,
            "provider": self.provider,
            "account": self.account,
            "count": self.count,
            "seconds_left": left,
            "retry_after": self.retry_after,
            "hold_seconds": self.hold_seconds,
        }


class FaultInjector:
    """Holds the active faults; `take` picks (and consumes) the first one matching a request."""

    def __init__(self, default_hold: float = DEFAULT_TIMEOUT_HOLD) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.default_hold = default_hold

    def add(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault kind {fault.kind!r}; use one of {', '.join(FAULT_KINDS)}.")
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            self._prune()
            return list(self._faults)

    def _prune(self) -> None:
        now = time.monotonic()
        self._faults = [
            f for f in self._faults if (f.count is None or f.count > 0) and (f.until is None or f.until > now)
        ]

    def take(self, provider: str, account: str | None) -> Fault | None:
        with self._lock:
            self._prune()
            for fault in self._faults:
                if fault.provider is not None and fault.provider != provider:
                    continue
                if fault.account is not None and (account is None or fault.account.lower() != account):
                    continue
                if fault.count is not None:
                    fault.count -= 1
                return fault
            return None


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    time: dt.datetime
    site: str
    method: str
    path: str
    status: int | None  # None: the connection was dropped without an answer
    account: str | None
    fault: str | None = None
    # The HTTP/1.1 messages each way, before TLS: request line, headers and body in; status line,
    # headers and body out (0 out when the connection was dropped without an answer).
    bytes_in: int = 0
    bytes_out: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "site": self.site,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "account": self.account,
            "fault": self.fault,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
        }


class RequestLog:
    """Every request any site answered (bounded), in order, with a sequence number."""

    def __init__(self, clock: Callable[[], dt.datetime], limit: int = 20000) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: deque[LogEntry] = deque(maxlen=limit)
        self._seq = 0

    def add(
        self,
        site: str,
        method: str,
        path: str,
        status: int | None,
        account: str | None,
        fault: str | None = None,
        bytes_in: int = 0,
        bytes_out: int = 0,
    ) -> LogEntry:
        with self._lock:
            self._seq += 1
            entry = LogEntry(
                self._seq, self._clock(), site, method, path, status, account, fault, bytes_in, bytes_out
            )
            self._entries.append(entry)
            return entry

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def query(
        self,
        account: str | None = None,
        since_seq: int | None = None,
        since_time: dt.datetime | None = None,
        site: str | None = None,
    ) -> list[LogEntry]:
        with self._lock:
            entries = list(self._entries)
        return [
            e
            for e in entries
            if (account is None or (e.account or "").lower() == account.lower())
            and (since_seq is None or e.seq > since_seq)
            and (since_time is None or e.time >= since_time)
            and (site is None or e.site == site)
        ]


@dataclass
class ServerContext:
    """What every site server shares: faults, the request log, the stop signal, a change hook."""

    clock: Callable[[], dt.datetime]
    faults: FaultInjector = field(default_factory=FaultInjector)
    stopping: threading.Event = field(default_factory=threading.Event)
    on_change: Callable[[], None] | None = None
    requests: RequestLog = field(init=False)

    def __post_init__(self) -> None:
        self.requests = RequestLog(self.clock)


def _google_error(status: int, message: str, reason: str, domain: str, grpc: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": grpc,
        }
    }


def fault_response(site_name: str, status: int, retry_after: int | None) -> Response:
    """The error a real host of this kind answers when it is overloaded or unavailable."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    payload: dict[str, Any]
    if site_name == "google":
        if status == 429:
            payload = _google_error(
                429, "Rate Limit Exceeded", "rateLimitExceeded", "usageLimits", "RESOURCE_EXHAUSTED"
            )
        else:
            payload = _google_error(
                status, "The service is currently unavailable.", "backendError", "global", "UNAVAILABLE"
            )
    elif site_name == "graph":
        code = "TooManyRequests" if status == 429 else "serviceNotAvailable"
        message = "Too many requests." if status == 429 else "The service is temporarily unavailable."
        payload = {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": now, "request-id": "sandbox-fault"},
            }
        }
    elif site_name == "microsoft":
        payload = {
            "error": "temporarily_unavailable",
            "error_description": "AADSTS90033: A transient error has occurred. Please try again.",
            "error_codes": [90033],
            "timestamp": now.replace("T", " ") + "Z",
        }
    else:
        payload = {"error": "The service is unavailable."}
    return Response.json(status, payload, headers)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CrewboardSandbox/1.0"
    sys_version = ""
    timeout = 60  # idle keep-alive connections are closed after a minute
    server: _HttpServer
    _headers_buffer: list[bytes]  # http.server's pending header lines
    raw_requestline: bytes  # the request line as received (http.server sets it)

    def setup(self) -> None:
        if self.server.ssl_context is not None:
            self.request.settimeout(10)
            self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)
            if self.server.ssl_context is not None:
                self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: %s", self.server.site.name, format % args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                size = int(size_line or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or "0")
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        site = self.server.site
        context = self.server.context
        split = urlsplit(self.path)
        path = unquote(split.path)
        head = len(self.raw_requestline) + sum(len(k) + len(v) + 4 for k, v in self.headers.items()) + 2
        body = b""

        def answer(
            status: int | None, account: str | None, fault: str | None, response: Response | None
        ) -> None:
            """Log the exchange with its sizes, then send `response` (None: nothing is sent)."""
            sent = self._prepare(response) if response is not None else 0
            received = head + len(body)
            context.requests.add(site.name, self.command, path, status, account, fault, received, sent)
            if response is not None:
                self.flush_headers()

        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            answer(400, None, None, Response.json(400, {"error": "The request body could not be read."}))
            return
        scheme = "https" if self.server.ssl_context is not None else "http"
        host, port = self.server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        if ":" in host_text:
            host_text = f"[{host_text}]"
        request = Request(
            method=self.command,
            path=path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=f"{scheme}://{host_text}:{port}",
        )
        try:
            account = site.account_of(request)
        except Exception:
            log.exception("%s: account_of failed for %s %s", site.name, self.command, path)
            account = None

        provider = SITE_PROVIDERS.get(site.name)
        fault = context.faults.take(provider, account) if provider else None
        if fault is not None and fault.kind in ("5xx", "429"):
            status = 429 if fault.kind == "429" else fault.status
            retry_after = fault.retry_after if status == 429 else None
            answer(status, account, fault.kind, fault_response(site.name, status, retry_after))
            return
        if fault is not None and fault.kind == "reset":
            answer(None, account, fault.kind, None)
            self._reset()
            return
        if fault is not None and fault.kind == "timeout":
            answer(None, account, fault.kind, None)
            context.stopping.wait(fault.hold_seconds)
            self._reset()
            return

        response = self._handle(site, request)
        account = response.account or account
        if self.command not in ("GET", "HEAD") and response.status < 400 and context.on_change is not None:
            context.on_change()
        if fault is not None and fault.kind == "drop_after_commit":
            self.close_connection = True
            answer(503, account, fault.kind, fault_response(site.name, 503, None))
            return
        answer(response.status, account, None, response)

    def _handle(self, site: Site, request: Request) -> Response:
        try:
            return site.handle(request)
        except Exception:
            log.exception("%s: unhandled error for %s %s", site.name, request.method, request.path)
            return Response.json(
                500,
                {"error": {"code": 500, "message": "Internal error in the sandbox.", "status": "INTERNAL"}},
            )

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _prepare(self, response: Response) -> int:
        """Queue `response` (headers and body, sent by one flush_headers); its size in bytes."""
        self.send_response(response.status)
        headers = {k.lower(): (k, v) for k, v in response.headers.items()}
        for name, value in headers.values():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one write: two small writes would meet Nagle and delayed ACKs.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and response.body:
            self._headers_buffer.append(response.body)
        return sum(len(part) for part in self._headers_buffer)


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        site: Site,
        context: ServerContext,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.site = site
        self.context = context
        self.ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def drop_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("%s: connection from %s ended with an error", self.site.name, client_address, exc_info=True)


class SiteServer:
    """Serves one `Site` on its own port in a background thread."""

    def __init__(
        self,
        site: Site,
        context: ServerContext,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.site = site
        self._server = _HttpServer((host, port), site, context, ssl_context)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{site.name}",
            daemon=True,
        )
        scheme = "https" if ssl_context is not None else "http"
        bound_host, bound_port = self._server.server_address[:2]
        shown = str(bound_host)
        if ":" in shown:
            shown = f"[{shown}]"
        self.url = f"{scheme}://{shown}:{bound_port}"
        self.port = int(bound_port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        stop_all([self])


def stop_all(servers: list[SiteServer]) -> None:
    """Stop several servers at once (each shutdown waits up to one poll interval)."""
    running = [s for s in servers if s._thread.is_alive()]
    stoppers = [threading.Thread(target=s._server.shutdown) for s in running]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()
    for server in servers:
        if server._thread.is_alive():
            server._thread.join()
        server._server.drop_connections()
        server._server.server_close()


def json_body(request: Request) -> Mapping[str, Any]:
    """The request's JSON object body; raises ValueError with a sentence when it is not one."""
    try:
        data = request.json()
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("The request body is not valid JSON.") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("The request body must be a JSON object.")
    return data
