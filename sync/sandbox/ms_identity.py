"""Over 500 lines: the OAuth flows MSAL drives (code, device, refresh) share one site's state.

The emulated Microsoft identity platform (v2.0 endpoints) on the "microsoft" site.

Enough of login.microsoftonline.com for an unmodified MSAL PublicClientApplication: OpenID
discovery per tenant, an authorize endpoint with a real consent page (account picker, scopes,
Accept/Cancel; response_mode query, fragment or form_post; PKCE; nonce; state; client_info), the
token endpoint (authorization_code, refresh_token, device_code grants, with AADSTS-style errors),
the device-code endpoint and its verification page. id_tokens are RS256 JWTs signed with a key
published at the tenant's jwks_uri.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sync.sandbox.base import Request, Response
from sync.sandbox.graph_store import MicrosoftState, digest

CONSUMERS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
ALIASES = ("common", "organizations", "consumers")
RESERVED_SCOPES = ("openid", "profile", "offline_access", "email")
GRAPH_PREFIX = "https://graph.microsoft.com/"
CODE_LIFETIME = dt.timedelta(minutes=10)
DEVICE_LIFETIME = dt.timedelta(minutes=15)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class AuthCode:
    email: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    nonce: str | None
    challenge: str | None
    method: str
    expires: dt.datetime
    used: bool = False


@dataclass
class DeviceGrant:
    client_id: str
    scopes: list[str]
    user_code: str
    expires: dt.datetime
    email: str | None = None
    declined: bool = False
    redeemed: bool = False
    pending_polls: int = 0


class OAuthError(Exception):
    def __init__(self, error: str, code: int, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.code = code
        self.status = status


class IdentitySite:
    """The "microsoft" site: login.microsoftonline.com for one sandbox tenant."""

    name = "microsoft"

    def __init__(self, state: MicrosoftState, clock: Callable[[], dt.datetime]) -> None:
        self.state = state
        self.clock = clock
        self.device_interval = 5  # seconds between device-code polls, as Entra answers
        self.codes: dict[str, AuthCode] = {}
        self.devices: dict[str, DeviceGrant] = {}  # by device_code
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = b64url(
            hashlib.sha256(str(self._key.public_key().public_numbers().n).encode()).digest()[:20]
        )

    # -- Site -------------------------------------------------------------------------------------

    def account_of(self, request: Request) -> str | None:
        hint = request.param("login_hint")
        return hint.lower() if hint else None

    def handle(self, request: Request) -> Response:
        segments = [s for s in request.path.split("/") if s]
        if segments and segments[0] == "devicelogin":
            return self._device_login(request)
        if len(segments) < 2:
            return Response.html(404, _page("Not found", "<p>There is nothing here.</p>"))
        tenant, rest = segments[0], segments[1:]
        tid = self._tenant_id(tenant)
        if tid is None:
            return Response.json(
                400,
                self._error_body(
                    OAuthError(
                        "invalid_tenant",
                        90002,
                        f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                        "and are signing into the correct cloud.",
                    )
                ),
            )
        if rest == ["v2.0", ".well-known", "openid-configuration"] and request.method == "GET":
            return Response.json(200, self._discovery(request.base_url, tenant))
        if rest == ["discovery", "v2.0", "keys"] and request.method == "GET":
            return Response.json(200, {"keys": [self._jwk(request.base_url)]})
        if rest[:2] == ["oauth2", "v2.0"] and len(rest) == 3:
            endpoint = rest[2]
            if endpoint == "authorize" and request.method in ("GET", "POST"):
                return self._authorize(request, tenant)
            if endpoint == "token" and request.method == "POST":
                return self._token(request, tenant)
            if endpoint == "devicecode" and request.method == "POST":
                return self._devicecode(request)
            if endpoint == "logout" and request.method == "GET":
                return Response.html(200, _page("Signed out", "<p>You signed out of your account.</p>"))
        return Response.html(404, _page("Not found", "<p>There is nothing here.</p>"))

    # -- discovery and keys -----------------------------------------------------------------------

    def _tenant_id(self, tenant: str) -> str | None:
        if tenant in ALIASES:
            return self.state.tenant_id
        if tenant.lower() in (self.state.tenant_id, CONSUMERS_TENANT):
            return tenant.lower()
        return None

    def _discovery(self, base: str, tenant: str) -> dict[str, Any]:
        # Like Entra: the issuer of an alias authority keeps the {tenantid} placeholder.
        issuer_tenant = "{tenantid}" if tenant in ALIASES else tenant
        return {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "kerberos_endpoint": f"{base}/{tenant}/kerberos",
            "tenant_region_scope": None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def _jwk(self, base: str) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self._kid,
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes(3, "big")),
            "issuer": f"{base}/{self.state.tenant_id}/v2.0",
        }

    def id_token(self, base: str, email: str, client_id: str, nonce: str | None) -> str:
        box = self.state.mailbox(email)
        now = int(self.clock().timestamp())
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": f"{base}/{self.state.tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": box.display_name,
            "oid": box.oid,
            "preferred_username": box.email,
            "rh": "0.sandbox",
            "sub": b64url(hashlib.sha256(f"{box.oid}|{client_id}".encode()).digest()),
            "tid": self.state.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "2.0",
        }
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": "JWT", "alg": "RS256", "kid": self._kid}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    def client_info(self, email: str) -> str:
        box = self.state.mailbox(email)
        return b64url(json.dumps({"uid": box.oid, "utid": self.state.tenant_id}).encode())

    # -- authorize --------------------------------------------------------------------------------

    def _authorize(self, request: Request, tenant: str) -> Response:
        params = _params(request)
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if not client_id:
            return Response.html(
                400,
                _page(
                    "Sign in",
                    "<p>AADSTS900144: The request body must contain the "
                    "following parameter: 'client_id'.</p>",
                ),
            )
        if not redirect_uri:
            return Response.html(
                400,
                _page(
                    "Sign in",
                    "<p>AADSTS900144: The request body must contain the "
                    "following parameter: 'redirect_uri'.</p>",
                ),
            )
        mode = params.get("response_mode") or "query"
        if mode not in ("query", "fragment", "form_post"):
            return Response.html(
                400,
                _page("Sign in", f"<p>AADSTS900131: Unsupported response_mode '{html.escape(mode)}'.</p>"),
            )
        reply = _Reply(redirect_uri, mode, params.get("state"))
        if params.get("response_type") != "code":
            return reply.send(
                {
                    "error": "unsupported_response_type",
                    "error_description": "AADSTS700054: response_type 'id_token' is not enabled for "
                    "the application.",
                }
            )
        method = params.get("code_challenge_method") or "plain"
        if params.get("code_challenge") and method not in ("S256", "plain"):
            return reply.send(
                {
                    "error": "invalid_request",
                    "error_description": "AADSTS501491: Invalid code_challenge_method.",
                }
            )
        if params.get("prompt") == "none":
            return reply.send(
                {
                    "error": "login_required",
                    "error_description": "AADSTS50058: A silent sign-in request was sent but no user "
                    "is signed in.",
                }
            )
        action = params.get("action")
        if request.method == "GET" or action is None:
            return Response.html(200, self._consent_page(request.path, params))
        if action != "accept":
            return reply.send(
                {
                    "error": "access_denied",
                    "error_description": "AADSTS65004: User declined to consent to access the app.",
                }
            )
        email = params.get("account", "").lower()
        with self.state.lock:
            if email not in self.state.mailboxes:
                return Response.html(400, self._consent_page(request.path, params, "Pick an account."))
            code = secrets.token_urlsafe(48)
            self.codes[code] = AuthCode(
                email,
                client_id,
                redirect_uri,
                _scopes(params.get("scope", "")),
                params.get("nonce"),
                params.get("code_challenge"),
                method,
                self.clock() + CODE_LIFETIME,
            )
            answer = {"code": code}
            if params.get("client_info") == "1":
                answer["client_info"] = self.client_info(email)
            answer["session_state"] = str(uuid.uuid5(uuid.NAMESPACE_URL, email))
        return reply.send(answer)

    def _accounts_html(self, selected: str | None) -> str:
        rows = []
        with self.state.lock:
            boxes = sorted(self.state.mailboxes.values(), key=lambda b: b.email)
        for index, box in enumerate(boxes):
            checked = (
                " checked"
                if (selected and selected.lower() == box.email.lower()) or (not selected and index == 0)
                else ""
            )
            rows.append(
                f'<li><label><input type="radio" name="account" value="{html.escape(box.email)}"{checked}> '
                f"{html.escape(box.display_name)} &lt;{html.escape(box.email)}&gt;</label></li>"
            )
        if not rows:
            return "<p>No accounts exist in this sandbox yet.</p>"
        return '<ul class="accounts">' + "".join(rows) + "</ul>"

    def _consent_page(self, action: str, params: Mapping[str, str], problem: str | None = None) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("account", "action")
        )
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in params.get("scope", "").split() if s)
        warning = f'<p class="problem">{html.escape(problem)}</p>' if problem else ""
        body = (
            f'{warning}<form method="POST" action="{html.escape(action)}">{hidden}'
            f"<h2>Pick an account</h2>{self._accounts_html(params.get('login_hint'))}"
            f"<h2>Permissions requested</h2><p>The app <code>{html.escape(params.get('client_id', ''))}</code> "
            f'would like to:</p><ul class="scopes">{scopes}</ul>'
            '<button type="submit" name="action" value="accept">Accept</button> '
            '<button type="submit" name="action" value="cancel">Cancel</button></form>'
        )
        return _page("Sign in to your account", body)

    # -- token ------------------------------------------------------------------------------------

    def _token(self, request: Request, tenant: str) -> Response:
        params = _params(request)
        try:
            with self.state.lock:
                grant_type = params.get("grant_type", "")
                if not params.get("client_id"):
                    raise OAuthError(
                        "invalid_request",
                        900144,
                        "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
                    )
                if grant_type == "authorization_code":
                    email, scopes, nonce = self._redeem_code(params)
                elif grant_type == "refresh_token":
                    email, scopes, nonce = self._redeem_refresh(params)
                elif grant_type == DEVICE_GRANT:
                    email, scopes, nonce = self._redeem_device(params)
                else:
                    raise OAuthError(
                        "unsupported_grant_type",
                        70003,
                        f"AADSTS70003: The app requested an unsupported grant type '{grant_type}'.",
                    )
                return Response.json(
                    200,
                    self._tokens(request, params, email, scopes, nonce),
                    {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
                )
        except OAuthError as exc:
            response = Response.json(exc.status, self._error_body(exc))
            response.account = None
            return response

    def _tokens(
        self, request: Request, params: Mapping[str, str], email: str, requested: list[str], nonce: str | None
    ) -> dict[str, Any]:
        client_id = params["client_id"]
        resource = [s for s in requested if s.lower() not in RESERVED_SCOPES] or ["User.Read"]
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join([*resource, *[s for s in ("openid", "profile", "email") if s in requested]]),
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": self.state.issue_access(email, client_id, resource, self.clock()),
        }
        if "offline_access" in requested:
            answer["refresh_token"] = self.state.issue_refresh(email, client_id, resource)
        if "openid" in requested:
            answer["id_token"] = self.id_token(request.base_url, email, client_id, nonce)
        if params.get("client_info") == "1":
            answer["client_info"] = self.client_info(email)
        return answer

    def _redeem_code(self, params: Mapping[str, str]) -> tuple[str, list[str], str | None]:
        code = self.codes.get(params.get("code", ""))
        if code is None:
            raise OAuthError(
                "invalid_grant", 9002313, "AADSTS9002313: Invalid request. Request is malformed or invalid."
            )
        if code.used:
            raise OAuthError(
                "invalid_grant",
                54005,
                "AADSTS54005: OAuth2 Authorization code was already "
                "redeemed, please retry with a new valid code or use an existing refresh token.",
            )
        if code.expires <= self.clock():
            raise OAuthError(
                "invalid_grant",
                70008,
                "AADSTS70008: The provided authorization code or refresh "
                "token has expired due to inactivity. Send a new interactive authorization request "
                "for this user and resource.",
            )
        if params.get("client_id") != code.client_id:
            raise OAuthError(
                "invalid_grant",
                700005,
                "AADSTS700005: Provided Authorization Code is intended to "
                "use against other tenant or application.",
            )
        if params.get("redirect_uri") != code.redirect_uri:
            raise OAuthError(
                "invalid_grant",
                50148,
                "AADSTS50148: The redirect_uri doesn't match the one used in the authorization request.",
            )
        if code.challenge:
            verifier = params.get("code_verifier", "")
            if not verifier:
                raise OAuthError(
                    "invalid_grant",
                    50148,
                    "AADSTS50148: The code_verifier is missing but the "
                    "authorization request had a code_challenge.",
                )
            computed = (
                b64url(hashlib.sha256(verifier.encode("ascii")).digest())
                if code.method == "S256"
                else verifier
            )
            if computed != code.challenge:
                raise OAuthError(
                    "invalid_grant",
                    501481,
                    "AADSTS501481: The Code_Verifier does not match the "
                    "code_challenge supplied in the authorization request.",
                )
        code.used = True
        requested = _scopes(params.get("scope", "")) or code.scopes
        return code.email, _merge_reserved(requested, code.scopes), code.nonce

    def _redeem_refresh(self, params: Mapping[str, str]) -> tuple[str, list[str], str | None]:
        token = params.get("refresh_token", "")
        key = digest(token)
        if key in self.state.revoked_refresh:
            raise OAuthError(
                "invalid_grant",
                50173,
                "AADSTS50173: The provided grant has expired due to it being "
                "revoked, a fresh auth token is needed. The user might have changed or reset their "
                "password.",
            )
        grant = self.state.refresh_tokens.get(key)
        if grant is None:
            raise OAuthError(
                "invalid_grant", 9002313, "AADSTS9002313: Invalid request. Request is malformed or invalid."
            )
        if grant.client_id != params.get("client_id"):
            raise OAuthError(
                "invalid_grant", 700003, "AADSTS700003: The refresh token was issued to a different client."
            )
        if grant.email not in self.state.mailboxes:
            raise OAuthError("invalid_grant", 50034, "AADSTS50034: The user account does not exist.")
        requested = _scopes(params.get("scope", ""))
        resource = [s for s in requested if s.lower() not in RESERVED_SCOPES]
        granted = {s.lower() for s in grant.scopes}
        if any(s.lower() not in granted for s in resource):
            raise OAuthError(
                "invalid_grant",
                65001,
                "AADSTS65001: The user or administrator has not consented "
                "to use the application for the requested scopes.",
            )
        scopes = _merge_reserved(requested or grant.scopes, grant.scopes)
        if "offline_access" not in scopes:
            scopes.append("offline_access")  # a redeemed refresh token is always replaced
        return grant.email, scopes, None

    def _redeem_device(self, params: Mapping[str, str]) -> tuple[str, list[str], str | None]:
        device = self.devices.get(params.get("device_code", ""))
        if device is None or device.client_id != params.get("client_id"):
            raise OAuthError(
                "invalid_grant",
                70000,
                "AADSTS70000: The provided value for the input parameter 'device_code' is not valid.",
            )
        if device.redeemed:
            raise OAuthError("invalid_grant", 54005, "AADSTS54005: The device code was already redeemed.")
        if device.expires <= self.clock():
            raise OAuthError(
                "expired_token",
                70020,
                "AADSTS70020: The provided value for the input parameter "
                "'device_code' is not valid. This device code has expired.",
            )
        if device.declined:
            raise OAuthError(
                "authorization_declined", 70000, "AADSTS70000: The user declined the sign-in request."
            )
        if device.email is None:
            device.pending_polls += 1
            raise OAuthError(
                "authorization_pending",
                70016,
                "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        device.redeemed = True
        return device.email, device.scopes, None

    def _error_body(self, exc: OAuthError) -> dict[str, Any]:
        now = self.clock()
        return {
            "error": exc.error,
            "error_description": f"{exc}\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}\r\n"
            f"Timestamp: {now:%Y-%m-%d %H:%M:%S}Z",
            "error_codes": [exc.code],
            "timestamp": f"{now:%Y-%m-%d %H:%M:%S}Z",
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
            "error_uri": f"https://login.microsoftonline.com/error?code={exc.code}",
        }

    # -- device code ------------------------------------------------------------------------------

    def _devicecode(self, request: Request) -> Response:
        params = _params(request)
        client_id = params.get("client_id", "")
        if not client_id:
            return Response.json(
                400,
                self._error_body(
                    OAuthError(
                        "invalid_request",
                        900144,
                        "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
                    )
                ),
            )
        scopes = _scopes(params.get("scope", ""))
        with self.state.lock:
            device_code = secrets.token_urlsafe(48)
            alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
            user_code = "".join(secrets.choice(alphabet) for _ in range(9))
            lifetime = DEVICE_LIFETIME
            self.devices[device_code] = DeviceGrant(client_id, scopes, user_code, self.clock() + lifetime)
        uri = f"{request.base_url}/devicelogin"
        return Response.json(
            200,
            {
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": uri,
                "expires_in": int(lifetime.total_seconds()),
                "interval": self.device_interval,
                "message": f"To sign in, use a web browser to open the page {uri} and enter the code {user_code} to "
                "authenticate.",
            },
        )

    def _device_login(self, request: Request) -> Response:
        params = _params(request)
        user_code = params.get("otc", "").strip().upper().replace("-", "")
        form = (
            '<form method="POST" action="/devicelogin"><label>Code <input name="otc" autocomplete="off"></label> '
            '<button type="submit">Next</button></form>'
        )
        if request.method == "GET" or not user_code:
            return Response.html(
                200, _page("Enter code", f"<p>Enter the code displayed on your app or device.</p>{form}")
            )
        with self.state.lock:
            device = next((d for d in self.devices.values() if d.user_code == user_code), None)
            if (
                device is None
                or device.expires <= self.clock()
                or device.redeemed
                or device.email
                or device.declined
            ):
                return Response.html(
                    400,
                    _page(
                        "Enter code",
                        f'<p class="problem">That code didn\'t work. Check the code and try again.</p>{form}',
                    ),
                )
            action = params.get("action")
            if action is None:
                hidden = f'<input type="hidden" name="otc" value="{html.escape(user_code)}">'
                scopes = "".join(f"<li>{html.escape(s)}</li>" for s in device.scopes)
                body = (
                    f'<form method="POST" action="/devicelogin">{hidden}<h2>Pick an account</h2>'
                    f'{self._accounts_html(None)}<h2>Permissions requested</h2><ul class="scopes">{scopes}</ul>'
                    '<button type="submit" name="action" value="accept">Accept</button> '
                    '<button type="submit" name="action" value="cancel">Cancel</button></form>'
                )
                return Response.html(200, _page("Sign in to your account", body))
            if action != "accept":
                device.declined = True
                return Response.html(200, _page("Sign-in cancelled", "<p>You cancelled the sign-in.</p>"))
            email = params.get("account", "").lower()
            if email not in self.state.mailboxes:
                return Response.html(400, _page("Sign in", '<p class="problem">Pick an account.</p>'))
            device.email = email
        return Response.html(
            200,
            _page(
                "Signed in",
                "<p>You have signed in to the application on your device. You may now close this window.</p>",
            ),
        )


@dataclass(frozen=True, slots=True)
class _Reply:
    """Sends an authorization response back to the client the way response_mode asks."""

    redirect_uri: str
    mode: str
    state: str | None

    def send(self, values: Mapping[str, str]) -> Response:
        fields = dict(values)
        if self.state is not None:
            fields["state"] = self.state
        if self.mode == "form_post":
            inputs = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
                for k, v in fields.items()
            )
            page = (
                "<html><head><title>Working...</title></head>"
                '<body onload="document.forms[0].submit()">'
                f'<form method="POST" name="hiddenform" action="{html.escape(self.redirect_uri)}">{inputs}'
                "<noscript><p>Script is disabled. Click Submit to continue.</p>"
                '<input type="submit" value="Submit"/></noscript></form></body></html>'
            )
            return Response.html(200, page)
        joiner = "#" if self.mode == "fragment" else ("&" if "?" in self.redirect_uri else "?")
        return Response(
            302,
            b"",
            {"Location": self.redirect_uri + joiner + urlencode(fields), "Cache-Control": "no-store"},
        )


def _params(request: Request) -> dict[str, str]:
    values = {k: v[0] for k, v in request.query.items() if v}
    content_type = (request.header("content-type") or "").lower()
    if request.method == "POST" and (not content_type or "x-www-form-urlencoded" in content_type):
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        values.update({k: v[0] for k, v in form.items() if v})
    return values


def _scopes(raw: str) -> list[str]:
    found: list[str] = []
    for scope in raw.split():
        if scope.lower().startswith(GRAPH_PREFIX):
            scope = scope[len(GRAPH_PREFIX) :]
        if scope.lower() == ".default":
            scope = "User.Read"
        if scope.lower() not in (s.lower() for s in found):
            found.append(scope)
    return found


def _merge_reserved(requested: list[str], granted: list[str]) -> list[str]:
    """Requested scopes, falling back to the granted resource scopes when only reserved ones were asked."""
    resource = [s for s in requested if s.lower() not in RESERVED_SCOPES]
    reserved = [s for s in requested if s.lower() in RESERVED_SCOPES]
    if not resource:
        resource = [s for s in granted if s.lower() not in RESERVED_SCOPES]
    return [*resource, *reserved]


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:36em;margin:3em auto}}"
        ".problem{color:#a4262c}ul{list-style:none;padding:0}li{margin:.4em 0}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p><small>Crewboard sandbox: Microsoft sign-in</small></p>{body}"
        "</body></html>"
    )
