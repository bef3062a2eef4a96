"""The emulated Google sign-in: consent page, token endpoint (PKCE), revocation.

Desktop-app flow as Google runs it: the app opens `/o/oauth2/auth` in a browser, the user picks
a sandbox account and allows or denies, the browser is redirected to the app's loopback
`redirect_uri` with `code` and `state` (or `error=access_denied`), and the app exchanges the code
at `/token` with its PKCE verifier. Refresh tokens never expire unless revoked.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import ipaddress
import json
import secrets
import threading
from collections.abc import Mapping
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sync.sandbox.base import Request, Response
from sync.sandbox.google_store import AuthCode, GoogleStore, parse_rfc3339, rfc3339

SCOPE_PREFIX = "https://www.googleapis.com/auth/"
SCOPE_TEXT = {
    "calendar": "See, edit, share, and permanently delete all the calendars you can access using Google Calendar",
    "calendar.readonly": "See and download any calendar you can access using your Google Calendar",
    "calendar.events": "View and edit events on all your calendars",
    "calendar.events.readonly": "View events on all your calendars",
    "calendar.events.owned": "See, create, change, and delete events on Google calendars you own",
    "calendar.events.owned.readonly": "See the events on Google calendars you own",
    "calendar.calendarlist.readonly": "See the list of Google calendars you're subscribed to",
    "calendar.calendarlist": "See, add, and remove Google calendars you're subscribed to",
    "calendar.freebusy": "View your availability in your calendars",
    "calendar.settings.readonly": "View your Calendar settings",
    "openid": "Associate you with your personal info on Google",
    "email": "See your primary Google Account email address",
    "profile": "See your personal info, including any personal info you've made publicly available",
}
CODE_LIFETIME = dt.timedelta(minutes=10)
PENDING_LIFETIME = dt.timedelta(minutes=30)


def _loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _with_params(uri: str, params: Mapping[str, str]) -> str:
    joiner = "&" if urlsplit(uri).query else "?"
    return uri + joiner + urlencode(params)


def _token_error(status: int, error: str, description: str) -> Response:
    return Response.json(status, {"error": error, "error_description": description})


def form_of(request: Request) -> dict[str, str]:
    """Form fields (or a JSON object) from the body, plus query parameters the body lacks."""
    fields: dict[str, str] = {}
    ctype = request.header("content-type", "") or ""
    if "json" in ctype:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            data = {}
        if isinstance(data, dict):
            fields = {str(k): str(v) for k, v in data.items()}
    else:
        parsed = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        fields = {k: v[0] for k, v in parsed.items()}
    for key, values in request.query.items():
        fields.setdefault(key, values[0])
    return fields


def _basic_client(request: Request) -> tuple[str | None, str | None]:
    auth = request.header("authorization") or ""
    if not auth.lower().startswith("basic "):
        return None, None
    try:
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, None
    return user, password


class GoogleOAuth:
    def __init__(self, store: GoogleStore) -> None:
        self.store = store
        self._pending: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._template = Template(
            resources.files("sync.sandbox").joinpath("templates/google_consent.html").read_text("utf-8")
        )

    # -- consent -----------------------------------------------------------------------------

    def _error_page(self, status: int, error: str, detail: str) -> Response:
        return Response.html(
            status,
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head>'
            f"<body><h1>Access blocked: authorization error</h1><p>Error {status}: {html.escape(error)}</p>"
            f"<p>{html.escape(detail)}</p></body></html>",
        )

    def authorize(self, request: Request) -> Response:
        params = {k: v[0] for k, v in request.query.items()}
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if not client_id:
            return self._error_page(400, "invalid_request", "Missing required parameter: client_id")
        if not redirect_uri:
            return self._error_page(400, "invalid_request", "Missing required parameter: redirect_uri")
        if redirect_uri.startswith("urn:ietf:wg:oauth:2.0:oob"):
            return self._error_page(
                400,
                "invalid_request",
                "The out-of-band (OOB) flow has been blocked in order to keep users secure.",
            )
        if not _loopback(redirect_uri):
            return self._error_page(
                400,
                "redirect_uri_mismatch",
                "Desktop clients must use a loopback redirect_uri (http://127.0.0.1:PORT/).",
            )
        state = params.get("state")
        if params.get("response_type") != "code":
            return Response(
                302,
                headers={
                    "Location": _with_params(
                        redirect_uri,
                        {"error": "unsupported_response_type", **({"state": state} if state else {})},
                    )
                },
            )
        scopes = params.get("scope", "").split()
        if not scopes:
            return self._error_page(400, "invalid_request", "Missing required parameter: scope")
        method = params.get("code_challenge_method")
        challenge = params.get("code_challenge")
        if challenge is not None:
            method = method or "plain"
            if method not in ("S256", "plain"):
                return self._error_page(400, "invalid_request", "Invalid code_challenge_method.")
            if not 43 <= len(challenge) <= 128:
                return self._error_page(400, "invalid_request", "Invalid code_challenge.")
        request_id = secrets.token_urlsafe(24)
        with self._lock:
            self._prune()
            self._pending[request_id] = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scopes": scopes,
                "state": state,
                "challenge": challenge,
                "method": method,
                "created": rfc3339(self.store.now()),
            }
        with self.store.lock:
            accounts = sorted(self.store.accounts.values(), key=lambda a: a.ordinal)
        hint = (params.get("login_hint") or "").lower()
        if accounts:
            rows = []
            for index, account in enumerate(accounts):
                checked = account.email == hint or (not hint and index == 0)
                rows.append(
                    '      <label class="account"><input type="radio" name="account" '
                    f'value="{html.escape(account.email)}"{" checked" if checked else ""}> '
                    f"{html.escape(account.name)}<small>{html.escape(account.email)}</small></label>"
                )
            account_html = "\n".join(rows)
        else:
            account_html = '      <p class="empty">This sandbox has no Google accounts yet.</p>'
        scope_html = "\n".join(
            f"      <li>{html.escape(SCOPE_TEXT.get(s.removeprefix(SCOPE_PREFIX), s))}</li>" for s in scopes
        )
        page = self._template.substitute(
            client=html.escape(client_id),
            action="/o/oauth2/approve",
            request_id=request_id,
            accounts=account_html,
            scopes=scope_html,
        )
        return Response.html(200, page)

    def _prune(self) -> None:
        cutoff = self.store.now() - PENDING_LIFETIME
        for key in [k for k, v in self._pending.items() if parse_rfc3339(v["created"]) < cutoff]:
            del self._pending[key]

    def approve(self, request: Request) -> Response:
        fields = form_of(request)
        with self._lock:
            pending = self._pending.pop(fields.get("request_id", ""), None)
        if pending is None:
            return self._error_page(400, "invalid_request", "This sign-in request has expired; start again.")
        state = pending["state"]
        extra = {"state": state} if state else {}
        if fields.get("decision") != "allow":
            return Response(
                302,
                headers={
                    "Location": _with_params(pending["redirect_uri"], {"error": "access_denied", **extra})
                },
            )
        email = fields.get("account", "").lower()
        with self.store.lock:
            if email not in self.store.accounts:
                with self._lock:
                    self._pending[fields["request_id"]] = pending
                return self._error_page(400, "invalid_request", "Choose one of the listed accounts.")
            code = "4/" + secrets.token_urlsafe(40)
            self.store.codes[code] = AuthCode(
                code,
                email,
                pending["client_id"],
                pending["redirect_uri"],
                pending["scopes"],
                pending["challenge"],
                pending["method"],
                rfc3339(self.store.now() + CODE_LIFETIME),
            )
        location = _with_params(
            pending["redirect_uri"],
            {
                **extra,
                "code": code,
                "scope": " ".join(pending["scopes"]),
                "authuser": "0",
                "prompt": "consent",
            },
        )
        return Response(302, headers={"Location": location})

    # -- token endpoint --------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        if request.method != "POST":
            return _token_error(405, "invalid_request", "Use POST.")
        fields = form_of(request)
        basic_id, _basic_secret = _basic_client(request)
        client_id = fields.get("client_id") or basic_id
        grant = fields.get("grant_type", "")
        if grant == "authorization_code":
            return self._exchange_code(fields, client_id)
        if grant == "refresh_token":
            return self._refresh(fields, client_id)
        if not grant:
            return _token_error(400, "invalid_request", "Missing required parameter: grant_type")
        return _token_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _exchange_code(self, fields: Mapping[str, str], client_id: str | None) -> Response:
        if not client_id:
            return _token_error(401, "invalid_client", "The OAuth client was not found.")
        with self.store.lock:
            code = self.store.codes.get(fields.get("code", ""))
            if code is None:
                return _token_error(400, "invalid_grant", "Malformed auth code.")
            if code.used or parse_rfc3339(code.expires_at) <= self.store.now():
                return _token_error(400, "invalid_grant", "Bad Request")
            if code.client_id != client_id:
                return _token_error(400, "invalid_grant", "Bad Request")
            if fields.get("redirect_uri", "") != code.redirect_uri:
                return _token_error(400, "redirect_uri_mismatch", "Bad Request")
            if code.challenge is not None:
                verifier = fields.get("code_verifier")
                if not verifier:
                    return _token_error(400, "invalid_grant", "Missing code verifier.")
                if code.method == "S256":
                    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
                    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
                else:
                    expected = verifier
                if not hmac.compare_digest(expected, code.challenge):
                    return _token_error(400, "invalid_grant", "Invalid code verifier.")
            code.used = True
            access, refresh = self.store.mint_tokens(code.email, code.scopes, client_id)
        payload: dict[str, Any] = {
            "access_token": access.token,
            "expires_in": 3599,
            "scope": " ".join(code.scopes),
            "token_type": "Bearer",
        }
        if refresh is not None:
            payload["refresh_token"] = refresh.token
        return Response.json(
            200, payload, {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"}
        )

    def _refresh(self, fields: Mapping[str, str], client_id: str | None) -> Response:
        with self.store.lock:
            refresh = self.store.refresh_tokens.get(fields.get("refresh_token", ""))
            if refresh is None or refresh.revoked:
                return _token_error(400, "invalid_grant", "Token has been expired or revoked.")
            if refresh.client_id is not None and refresh.client_id != client_id:
                return _token_error(401, "unauthorized_client", "Unauthorized")
            access = self.store.mint_access(refresh.email, refresh.scopes, refresh.token)
        return Response.json(
            200,
            {
                "access_token": access.token,
                "expires_in": 3599,
                "scope": " ".join(refresh.scopes),
                "token_type": "Bearer",
            },
            {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"},
        )

    def revoke(self, request: Request) -> Response:
        token = form_of(request).get("token", "")
        with self.store.lock:
            refresh = self.store.refresh_tokens.get(token)
            access = self.store.access_tokens.get(token)
            if access is not None and access.valid and access.refresh is not None:
                refresh = self.store.refresh_tokens.get(access.refresh)
            if refresh is None and (access is None or not access.valid):
                return _token_error(400, "invalid_token", "Token expired or revoked")
            if refresh is not None:
                # Revoking either token ends the whole grant.
                refresh.revoked = True
                for other in self.store.access_tokens.values():
                    if other.refresh == refresh.token:
                        other.valid = False
            if access is not None:
                access.valid = False
        return Response.json(200, {})

    def account_of(self, request: Request) -> str | None:
        if request.path not in ("/token", "/revoke", "/o/oauth2/approve"):
            return None
        fields = form_of(request)
        with self.store.lock:
            if "refresh_token" in fields:
                refresh = self.store.refresh_tokens.get(fields["refresh_token"])
                return refresh.email if refresh else None
            if "code" in fields:
                code = self.store.codes.get(fields["code"])
                return code.email if code else None
            if "token" in fields:
                token = fields["token"]
                found = self.store.refresh_tokens.get(token) or self.store.access_tokens.get(token)
                return found.email if found else None
        account = fields.get("account")
        return account.lower() if account else None
