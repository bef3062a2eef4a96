"""MSAL's PublicClientApplication, unmodified, against the sandbox's Microsoft identity platform."""

from __future__ import annotations

import contextlib
import threading

import httpx
import pytest

from sync.sandbox.server import Sandbox
from tests.sandbox.ms_helpers import (
    CLIENT_ID,
    SCOPES,
    ca_context,
    consent,
    graph_client,
    msal_app,
    parse_form,
    redirect_params,
)

EMAIL = "ana@contoso.com"


@pytest.fixture
def ms(sandbox: Sandbox) -> Sandbox:
    assert sandbox.microsoft is not None
    sandbox.microsoft.create_account(EMAIL, "America/Chicago", "Ana Diaz")
    sandbox.microsoft.create_account("ben@contoso.com", "Europe/Paris", "Ben Roy")
    return sandbox


@pytest.fixture
def browser(ms: Sandbox) -> httpx.Client:
    with httpx.Client(verify=ca_context(ms), trust_env=False, timeout=10) as client:
        yield client


@pytest.mark.parametrize("tenant", ["common", "organizations", "consumers"])
def test_discovery_points_back_at_the_sandbox(ms: Sandbox, browser: httpx.Client, tenant: str) -> None:
    config = browser.get(f"{ms.urls.microsoft}/{tenant}/v2.0/.well-known/openid-configuration").json()
    base = ms.urls.microsoft
    assert config["token_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/authorize"
    assert config["device_authorization_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/devicecode"
    assert config["issuer"] == f"{base}/{{tenantid}}/v2.0"
    assert browser.get(config["jwks_uri"]).json()["keys"][0]["kty"] == "RSA"


def test_discovery_for_the_tenant_guid_and_an_unknown_tenant(ms: Sandbox, browser: httpx.Client) -> None:
    tid = ms.microsoft.accounts()[0]["tenant_id"]  # type: ignore[union-attr]
    config = browser.get(f"{ms.urls.microsoft}/{tid}/v2.0/.well-known/openid-configuration").json()
    assert config["issuer"] == f"{ms.urls.microsoft}/{tid}/v2.0"
    unknown = browser.get(
        f"{ms.urls.microsoft}/00000000-1111-2222-3333-444444444444/v2.0/.well-known/openid-configuration"
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_tenant"


@pytest.mark.parametrize("mode", ["query", "form_post"])
def test_auth_code_flow_and_silent_refresh(ms: Sandbox, browser: httpx.Client, mode: str) -> None:
    with msal_app(ms) as app:
        # MSAL warns that query mode is less safe than form_post; the sandbox still supports it.
        expect = (
            contextlib.nullcontext() if mode == "form_post" else pytest.warns(UserWarning, match="form_post")
        )
        with expect:
            flow = app.initiate_auth_code_flow(
                SCOPES, redirect_uri="http://localhost:8400", response_mode=mode, login_hint="ben@contoso.com"
            )
        answer = consent(browser, flow["auth_uri"], EMAIL)
        assert answer.status_code == (302 if mode == "query" else 200)
        params = redirect_params(answer)
        assert params["state"] == flow["state"] and "client_info" in params
        result = app.acquire_token_by_auth_code_flow(flow, params)
        assert "access_token" in result, result
        assert result["id_token_claims"]["preferred_username"] == EMAIL
        assert result["id_token_claims"]["nonce"]  # MSAL compared it with its own (hashed) nonce
        [account] = app.get_accounts()
        assert account["username"] == EMAIL
        cached = app.acquire_token_silent(SCOPES, account=account)
        assert cached is not None and cached["token_source"] == "cache"
        refreshed = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
        assert refreshed is not None and refreshed["token_source"] == "identity_provider"
        assert refreshed["access_token"] != result["access_token"]
    with graph_client(ms, refreshed["access_token"]) as graph:
        assert graph.get("/me").json()["mail"] == EMAIL


def test_cancel_on_the_consent_page_returns_access_denied(ms: Sandbox, browser: httpx.Client) -> None:
    with msal_app(ms) as app:
        flow = app.initiate_auth_code_flow(
            SCOPES, redirect_uri="http://localhost:8400", response_mode="form_post"
        )
        params = redirect_params(consent(browser, flow["auth_uri"], EMAIL, action="cancel"))
        assert params["error"] == "access_denied" and params["state"] == flow["state"]
        result = app.acquire_token_by_auth_code_flow(flow, params)
        assert result["error"] == "access_denied"


def test_pkce_verifier_is_checked_and_codes_are_single_use(ms: Sandbox, browser: httpx.Client) -> None:
    with msal_app(ms) as app:
        flow = app.initiate_auth_code_flow(
            SCOPES, redirect_uri="http://localhost:8400", response_mode="form_post"
        )
        params = redirect_params(consent(browser, flow["auth_uri"], EMAIL))
        token_url = f"{ms.urls.microsoft}/common/oauth2/v2.0/token"
        form = {
            "client_id": CLIENT_ID,
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": "http://localhost:8400",
            "code_verifier": "wrong" * 10,
        }
        bad = browser.post(token_url, data=form).json()
        assert bad["error"] == "invalid_grant" and 501481 in bad["error_codes"]
        assert "access_token" in app.acquire_token_by_auth_code_flow(flow, params)
        again = browser.post(token_url, data=dict(form, code_verifier=flow["code_verifier"])).json()
        assert again["error"] == "invalid_grant" and 54005 in again["error_codes"]


def test_revoked_refresh_token_gets_invalid_grant(ms: Sandbox, browser: httpx.Client) -> None:
    with msal_app(ms) as app:
        flow = app.initiate_auth_code_flow(
            SCOPES, redirect_uri="http://localhost:8400", response_mode="form_post"
        )
        result = app.acquire_token_by_auth_code_flow(
            flow, redirect_params(consent(browser, flow["auth_uri"], EMAIL))
        )
        access = result["access_token"]
        ms.microsoft.revoke(EMAIL)  # type: ignore[union-attr]
        [account] = app.get_accounts()
        failed = app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)
        assert failed is not None and failed["error"] == "invalid_grant"
        assert "AADSTS50173" in failed["error_description"]
    with graph_client(ms, access) as graph:
        answer = graph.get("/me")
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_device_code_flow_pending_then_approved(ms: Sandbox, browser: httpx.Client) -> None:
    ms.microsoft.device_interval = 1  # type: ignore[union-attr]
    with msal_app(ms, tenant="organizations") as app:
        flow = app.initiate_device_flow(SCOPES)
        assert flow["verification_uri"] == f"{ms.urls.microsoft}/devicelogin"
        outcome: dict[str, object] = {}
        worker = threading.Thread(target=lambda: outcome.update(app.acquire_token_by_device_flow(flow)))
        worker.start()
        identity = ms.microsoft.identity  # type: ignore[union-attr]
        device = identity.devices[flow["device_code"]]
        deadline = threading.Event()
        for _ in range(100):
            if device.pending_polls >= 1:
                break
            deadline.wait(0.05)
        assert device.pending_polls >= 1  # MSAL saw authorization_pending and kept polling
        entry = browser.get(flow["verification_uri"])
        code_form = parse_form(entry.text)
        picker = browser.post(flow["verification_uri"], data=dict(code_form.fields, otc=flow["user_code"]))
        form = parse_form(picker.text)
        assert EMAIL in form.radios
        done = browser.post(flow["verification_uri"], data=dict(form.fields, account=EMAIL, action="accept"))
        assert done.status_code == 200
        worker.join(15)
        assert not worker.is_alive()
        assert outcome.get("id_token_claims", {})["preferred_username"] == EMAIL  # type: ignore[index]
        assert "refresh_token" in outcome


def test_device_code_expires(ms: Sandbox, browser: httpx.Client) -> None:
    with msal_app(ms) as app:
        flow = app.initiate_device_flow(SCOPES)
    identity = ms.microsoft.identity  # type: ignore[union-attr]
    identity.devices[flow["device_code"]].expires = identity.clock()
    answer = browser.post(
        f"{ms.urls.microsoft}/common/oauth2/v2.0/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": CLIENT_ID,
            "device_code": flow["device_code"],
        },
    )
    assert answer.status_code == 400 and answer.json()["error"] == "expired_token"
