"""Google sign-in against the sandbox: consent page, PKCE code exchange, refresh, revoke, expiry."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import google.auth.exceptions
import httpx
import pytest
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build

from sync.sandbox.server import Sandbox
from tests.sandbox.google_client import (
    CLIENT_ID,
    CLIENT_SECRET,
    calendar_service,
    create_account,
    credentials,
)

SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
]
REDIRECT = "http://127.0.0.1:8765/"


class _FormParser(HTMLParser):
    """Collects the consent form the way a browser sees it: action, fields, radio choices, buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.accounts: list[str] = []
        self.checked: str | None = None
        self.buttons: dict[str, str] = {}
        self.scopes: list[str] = []
        self._in_li = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a["action"]
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a["value"]
        elif tag == "input" and a.get("type") == "radio":
            self.accounts.append(a["value"])
            if "checked" in a:
                self.checked = a["value"]
        elif tag == "button":
            self.buttons[a["value"]] = a["name"]
        elif tag == "li":
            self._in_li = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self._in_li = False

    def handle_data(self, data: str) -> None:
        if self._in_li and data.strip():
            self.scopes.append(data.strip())


def _flow(sandbox: Sandbox) -> Flow:
    config = {
        "installed": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "auth_uri": f"{sandbox.urls.google}/o/oauth2/auth",
            "token_uri": f"{sandbox.urls.google}/token",
            "redirect_uris": ["http://127.0.0.1"],
        }
    }
    flow = Flow.from_client_config(config, scopes=SCOPES, autogenerate_code_verifier=True)
    flow.redirect_uri = REDIRECT
    return flow


def _consent(url: str, decision: str, account: str | None = None) -> tuple[_FormParser, dict[str, list[str]]]:
    """Open the consent page like a browser, submit it, and return the loopback redirect's query."""
    with httpx.Client(trust_env=False, follow_redirects=False) as browser:
        page = browser.get(url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        form = _FormParser()
        form.feed(page.text)
        fields = {**form.hidden, form.buttons[decision]: decision}
        if account or form.checked:
            fields["account"] = account or form.checked or ""
        answer = browser.post(urljoin(url, form.action), data=fields)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT)
    return form, parse_qs(urlsplit(location).query)


def test_consent_allow_then_pkce_exchange_gives_working_tokens(sandbox: Sandbox, monkeypatch: Any) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox token endpoint is plain http
    create_account(sandbox, "first@example.com")
    create_account(sandbox, "second@example.com")
    flow = _flow(sandbox)
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]

    form, answer = _consent(url, "allow", "second@example.com")
    assert form.accounts == ["first@example.com", "second@example.com"]
    assert any("View and edit events" in s for s in form.scopes)
    assert answer["state"] == [state]

    flow.fetch_token(code=answer["code"][0])
    creds = flow.credentials
    assert creds.refresh_token and creds.token
    # Built exactly as the product builds it: bundled discovery document, credentials, endpoint.
    service = build(
        "calendar",
        "v3",
        credentials=creds,
        static_discovery=True,
        client_options={"api_endpoint": f"{sandbox.urls.google}/calendar/v3/"},
    )
    try:
        entries = service.calendarList().list().execute()["items"]
    finally:
        service.close()
    assert [e["id"] for e in entries] == ["second@example.com"]

    # The code is single use.
    with httpx.Client(trust_env=False) as client:
        again = client.post(
            f"{sandbox.urls.google}/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"][0],
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT,
                "code_verifier": flow.code_verifier,
            },
        )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_pkce_verifier_is_checked(sandbox: Sandbox) -> None:
    create_account(sandbox, "first@example.com")
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    url = (
        f"{sandbox.urls.google}/o/oauth2/auth?client_id={CLIENT_ID}&response_type=code&state=s1"
        f"&scope=https://www.googleapis.com/auth/calendar&redirect_uri={REDIRECT}"
        f"&code_challenge={challenge}&code_challenge_method=S256"
    )
    _form, answer = _consent(url, "allow")
    code = answer["code"][0]
    token_url = f"{sandbox.urls.google}/token"
    with httpx.Client(trust_env=False) as client:
        base = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
        }
        wrong = client.post(token_url, data={**base, "code_verifier": "w" * 64})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        missing = client.post(token_url, data=base)
        assert missing.json()["error"] == "invalid_grant"
        right = client.post(token_url, data={**base, "code_verifier": verifier})
        assert right.status_code == 200, right.text
        assert right.json()["token_type"] == "Bearer" and right.json()["expires_in"] > 3000
        unknown = client.post(token_url, data={"grant_type": "password", "client_id": CLIENT_ID})
        assert unknown.json()["error"] == "unsupported_grant_type"


def test_consent_deny_redirects_with_access_denied(sandbox: Sandbox, monkeypatch: Any) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    create_account(sandbox, "first@example.com")
    flow = _flow(sandbox)
    url, state = flow.authorization_url()
    _form, answer = _consent(url, "deny")
    assert answer == {"error": ["access_denied"], "state": [state]}


def test_consent_page_refuses_non_loopback_and_oob_redirects(sandbox: Sandbox) -> None:
    base = f"{sandbox.urls.google}/o/oauth2/auth?client_id=c&response_type=code&scope=openid"
    with httpx.Client(trust_env=False) as browser:
        remote = browser.get(base + "&redirect_uri=https://evil.example/cb")
        assert remote.status_code == 400 and "redirect_uri_mismatch" in remote.text
        oob = browser.get(base + "&redirect_uri=urn:ietf:wg:oauth:2.0:oob")
        assert oob.status_code == 400 and "invalid_request" in oob.text


def test_expire_access_makes_the_client_refresh(sandbox: Sandbox) -> None:
    create_account(sandbox, "tech@example.com")
    creds = credentials(sandbox, "tech@example.com")
    with (
        calendar_service(sandbox, creds) as service,
        httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control,
    ):
        first_token = creds.token
        service.calendarList().list().execute()
        mark = control.get("/requests").json()[-1]["seq"]
        assert control.post("/accounts/tech@example.com/expire-access").status_code == 200
        service.calendarList().list().execute()  # 401 → refresh at /token → retried
        assert creds.token != first_token
        log = control.get("/requests", params={"since": str(mark)}).json()
        assert [(e["method"], e["path"], e["status"]) for e in log] == [
            ("GET", "/calendar/v3/users/me/calendarList", 401),
            ("POST", "/token", 200),
            ("GET", "/calendar/v3/users/me/calendarList", 200),
        ]
        assert {e["account"] for e in log} == {"tech@example.com"}


def test_revoked_account_cannot_refresh(sandbox: Sandbox) -> None:
    create_account(sandbox, "tech@example.com")
    creds = credentials(sandbox, "tech@example.com")
    with (
        calendar_service(sandbox, creds) as service,
        httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control,
    ):
        service.calendarList().list().execute()
        assert control.post("/accounts/tech@example.com/revoke").status_code == 200
        with pytest.raises(google.auth.exceptions.RefreshError) as info:
            service.calendarList().list().execute()
        assert "invalid_grant" in str(info.value)


def test_revoke_endpoint_ends_the_grant(sandbox: Sandbox) -> None:
    create_account(sandbox, "tech@example.com")
    creds = credentials(sandbox, "tech@example.com")
    with httpx.Client(trust_env=False) as client:
        done = client.post(
            f"{sandbox.urls.google}/revoke",
            params={"token": creds.token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200
        again = client.post(f"{sandbox.urls.google}/revoke", params={"token": creds.token})
        assert again.status_code == 400
        refresh = client.post(
            f"{sandbox.urls.google}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": creds.refresh_token,
                "client_id": CLIENT_ID,
            },
        )
        assert refresh.status_code == 400
        assert refresh.json() == {
            "error": "invalid_grant",
            "error_description": "Token has been expired or revoked.",
        }
        api = client.get(
            f"{sandbox.urls.google}/calendar/v3/colors", headers={"Authorization": f"Bearer {creds.token}"}
        )
        assert api.status_code == 401


def test_narrow_scopes_are_enforced(sandbox: Sandbox, monkeypatch: Any) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    create_account(sandbox, "tech@example.com")
    config = {
        "installed": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "auth_uri": f"{sandbox.urls.google}/o/oauth2/auth",
            "token_uri": f"{sandbox.urls.google}/token",
        }
    }
    flow = Flow.from_client_config(
        config, scopes=["https://www.googleapis.com/auth/calendar.events"], autogenerate_code_verifier=True
    )
    flow.redirect_uri = REDIRECT
    url, _state = flow.authorization_url()
    _form, answer = _consent(url, "allow")
    flow.fetch_token(code=answer["code"][0])
    with httpx.Client(trust_env=False, base_url=f"{sandbox.urls.google}/calendar/v3") as client:
        headers = {"Authorization": f"Bearer {flow.credentials.token}"}
        listing = client.get("/users/me/calendarList", headers=headers)
        assert listing.status_code == 403
        assert listing.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"
        assert client.get("/calendars/primary/events", headers=headers).status_code == 200
