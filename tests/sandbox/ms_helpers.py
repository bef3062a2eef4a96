"""Helpers for the Microsoft sandbox tests: MSAL against the sandbox, a browser-like form walk,
Graph clients, and a loopback webhook receiver."""

from __future__ import annotations

import html.parser
import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import msal
import requests

from sync.sandbox.server import Sandbox

CLIENT_ID = "3c1f9d2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"
EMAIL = "ana@contoso.com"  # the mailbox of the Graph tests (fixtures `ms` and `graph`)
SCOPES = ["Calendars.ReadWrite", "User.Read"]


def ca_context(sandbox: Sandbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sandbox.urls.ca)


@contextmanager
def msal_app(sandbox: Sandbox, tenant: str = "common") -> Iterator[msal.PublicClientApplication]:
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.urls.ca
    try:
        yield msal.PublicClientApplication(
            CLIENT_ID,
            authority=f"{sandbox.urls.microsoft}/{tenant}",
            instance_discovery=False,
            http_client=session,
        )
    finally:
        session.close()


class FormParser(html.parser.HTMLParser):
    """Collects the first form of a page: action, method, and its named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "GET"
        self.fields: dict[str, str] = {}
        self.radios: list[str] = []
        self.buttons: list[tuple[str, str]] = []
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._in_form = True
            self.action = a.get("action", "")
            self.method = a.get("method", "GET").upper()
        elif self._in_form and tag == "input":
            kind = a.get("type", "text")
            if kind == "radio":
                self.radios.append(a["value"])
                if "checked" in a:
                    self.fields[a["name"]] = a["value"]
            elif kind in ("hidden", "text") and "name" in a:
                self.fields[a["name"]] = a.get("value", "")
        elif self._in_form and tag == "button" and "name" in a:
            self.buttons.append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


def parse_form(page: str) -> FormParser:
    parser = FormParser()
    parser.feed(page)
    return parser


def consent(browser: httpx.Client, auth_uri: str, account: str, action: str = "accept") -> httpx.Response:
    """Open the authorize URL, pick the account and press a button, as a browser would."""
    page = browser.get(auth_uri)
    assert page.status_code == 200, page.text
    form = parse_form(page.text)
    assert form.method == "POST" and account in form.radios
    assert ("action", "accept") in form.buttons and ("action", "cancel") in form.buttons
    data = dict(form.fields, account=account, action=action)
    return browser.post(urljoin(str(page.url), form.action or ""), data=data)


def redirect_params(response: httpx.Response) -> dict[str, str]:
    """What reaches the redirect URI: the query of a 302, or the fields of a form_post page."""
    if response.status_code == 302:
        query = urlsplit(response.headers["location"]).query
        return {k: v[0] for k, v in parse_qs(query).items()}
    form = parse_form(response.text)
    assert "document.forms[0].submit()" in response.text
    return dict(form.fields)


def graph_client(sandbox: Sandbox, token: str, **headers: str) -> httpx.Client:
    return httpx.Client(
        base_url=str(sandbox.urls.graph),
        verify=ca_context(sandbox),
        trust_env=False,
        timeout=15,
        headers={"Authorization": f"Bearer {token}", **headers},
    )


class Receiver:
    """A loopback webhook receiver that answers Graph's validation handshake and records POSTs."""

    def __init__(self, echo: bool = True) -> None:
        self.echo = echo
        self.validations: list[str] = []
        self.notifications: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                query = parse_qs(urlsplit(self.path).query)
                if "validationToken" in query:
                    token = query["validationToken"][0]
                    outer.validations.append(token)
                    answer = token.encode() if outer.echo else b"nope"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                outer.notifications.append(json.loads(body))
                outer.arrived.set()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self._thread.join()
        self.server.server_close()
