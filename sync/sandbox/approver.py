"""Plays the person at the sandbox's sign-in pages, for the demo, `connect --approve-as` and tests.

It drives the sandbox's own HTML (the account picker and the consent form), so it belongs to the
sandbox: product code reaches it only from the demo's and the command line's sandbox wiring.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from app.errors import CrewboardError


class _FormParser(HTMLParser):
    """The first <form> of a page: its action, method, and fields (hidden, text, radio, buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "GET"
        self.fields: list[dict[str, str]] = []
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and not self._in_form:
            self._in_form = True
            self.action = values.get("action", "")
            self.method = (values.get("method") or "GET").upper()
        elif self._in_form and tag in ("input", "button"):
            default_type = "submit" if tag == "button" else "text"
            self.fields.append({**values, "type": (values.get("type") or default_type).lower()})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


_ALLOW = ("allow", "accept", "yes", "continue", "next")


class SandboxApprover:
    """Plays the person at the sandbox's sign-in pages: picks `email`, allows, follows the redirect.

    It really fetches the authorize URL, parses the HTML form, chooses the account and submits it,
    so the app's loopback receiver gets the code exactly as from a browser. Use it as the `browser`
    of a sign-in (`approver(url)`), or `approver.device(verification_uri, user_code)`.
    """

    def __init__(self, email: str, ca_file: str | None = None, timeout: float = 30.0) -> None:
        self.email = email.strip().lower()
        self._verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._timeout = timeout
        self.pages: list[str] = []  # the URLs visited, for diagnostics

    def __call__(self, url: str) -> bool:
        self._walk(url, {})
        return True

    def device(self, verification_uri: str, user_code: str) -> None:
        self._walk(verification_uri, {"otc": user_code, "user_code": user_code})

    def _walk(self, url: str, typed: Mapping[str, str]) -> None:
        with httpx.Client(verify=self._verify, timeout=self._timeout, follow_redirects=False) as client:
            response = client.get(url)
            for _step in range(12):
                self.pages.append(str(response.url).split("?", 1)[0])
                if response.is_redirect:
                    response = client.get(urljoin(str(response.url), response.headers["location"]))
                    continue
                if response.status_code >= 400:
                    raise SandboxSignInError(
                        f"The sandbox sign-in page answered HTTP {response.status_code}: {_text_of(response.text)}"
                    )
                form = _FormParser()
                form.feed(response.text)
                if form.action is None:
                    return  # a page without a form: the loopback's "you can close this window"
                data = self._fill(form, typed)
                target = urljoin(str(response.url), form.action)
                if form.method == "POST":
                    response = client.post(target, data=data)
                else:
                    response = client.get(target, params=data)
        raise SandboxSignInError("The sandbox sign-in did not finish within 12 pages.")

    def _fill(self, form: _FormParser, typed: Mapping[str, str]) -> dict[str, str]:
        data: dict[str, str] = {}
        radios: dict[str, list[str]] = {}
        submit: tuple[str, str] | None = None
        for field in form.fields:
            name, kind, value = field.get("name", ""), field["type"], field.get("value", "")
            if kind == "radio" and name:
                radios.setdefault(name, []).append(value)
            elif kind == "submit":
                if name and value.lower() in _ALLOW and submit is None:
                    submit = (name, value)
            elif kind in ("text", "email") and name:
                data[name] = typed.get(name, self.email if kind == "email" or "login" in name else value)
            elif name:
                data[name] = value
        for name, options in radios.items():
            chosen = next((o for o in options if o.lower() == self.email), None)
            if chosen is None:
                raise SandboxSignInError(
                    f"The sandbox offers no account {self.email} to sign in with (it has: "
                    f"{', '.join(options) or 'none'}); create it first."
                )
            data[name] = chosen
        if submit is not None:
            data[submit[0]] = submit[1]
        return data


class SandboxSignInError(CrewboardError):
    """The sandbox's sign-in pages could not be completed for the requested account."""

    exit_code = 2


def _text_of(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())[:300]
