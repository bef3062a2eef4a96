"""A local webhook receiver for push tests: records each POST's headers in a queue."""

from __future__ import annotations

import http.server
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: queue.Queue[dict[str, str]] = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.received.put({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    def next(self, timeout: float = 5) -> dict[str, str]:
        return self.received.get(timeout=timeout)

    def empty_for(self, seconds: float) -> bool:
        try:
            self.received.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


@contextmanager
def receiver(status: int = 200) -> Iterator[Receiver]:
    r = Receiver(status)
    r._thread.start()
    try:
        yield r
    finally:
        r._server.shutdown()
        r._thread.join()
        r._server.server_close()
