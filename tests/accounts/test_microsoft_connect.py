"""Connecting an Outlook calendar end to end against the sandbox, with the real MSAL over HTTPS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.domain.model import AccountStatus, Audience, Provider, Technician
from app.services.accounts import AccountService
from app.services.container import Services
from app.services.ports import ProviderUnavailable
from sync.providers.endpoints import read_endpoints
from sync.providers.google_auth import LoopbackReceiver
from sync.providers.microsoft_auth import MICROSOFT_SCOPES, MicrosoftConnector
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, sandbox_requests

pytestmark = pytest.mark.keyring

EMAIL = "sam@contoso.com"


@pytest.fixture
def sam(services: Services) -> Technician:
    return services.techs.add("Sam Reed", EMAIL, "America/Chicago")


@pytest.fixture
def outlook_account(control: httpx.Client) -> str:
    add_sandbox_account(control, "microsoft", EMAIL, "Sam Reed", ("Side jobs",))
    return EMAIL


class RecordingApprover(SandboxApprover):
    def __init__(self, email: str, ca: str) -> None:
        super().__init__(email, ca)
        self.urls: list[str] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return super().__call__(url)


def connector(sandbox: Sandbox, store: TokenStore, **kwargs: Any) -> MicrosoftConnector:
    settings = read_endpoints(sandbox.urls.control).microsoft_settings()
    return MicrosoftConnector(settings, store, timeout=20, **kwargs)


def msal_cache(store: TokenStore, ref: str) -> dict[str, Any]:
    blob = store.load(ref)
    assert blob is not None
    cache: dict[str, Any] = json.loads(blob["msal_cache"])
    return cache


def test_auth_code_connect_through_the_loopback(
    sandbox: Sandbox,
    control: httpx.Client,
    outlook_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    sam: Technician,
) -> None:
    approver = RecordingApprover(outlook_account, sandbox.urls.ca)
    with connector(sandbox, token_store, browser=approver) as mc:
        view = account_service.connect("Sam Reed", Provider.MICROSOFT, mc)

    assert view.account.status is AccountStatus.CONNECTED
    assert view.account.token_ref == f"microsoft:{EMAIL}"
    assert [(c.name, c.primary, c.blocks) for c in view.calendars] == [
        ("Calendar", True, True),
        ("Side jobs", False, False),
    ]
    cache = msal_cache(token_store, view.account.token_ref)
    assert cache["RefreshToken"] and cache["AccessToken"] and cache["Account"]
    (url,) = approver.urls
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    # Exactly the minimal scopes; MSAL itself adds the reserved openid/profile/offline_access.
    assert set(query["scope"].split()) == {*MICROSOFT_SCOPES, "openid", "profile", "offline_access"}
    assert query["code_challenge_method"] == "S256"
    assert query["response_mode"] == "form_post"
    assert query["state"] and query["nonce"]
    redirect = urlsplit(query["redirect_uri"])
    assert (redirect.scheme, redirect.hostname) == ("http", "localhost") and redirect.port
    identity = [(e["method"], e["path"], e["status"]) for e in sandbox_requests(control, "microsoft")]
    assert ("POST", "/common/oauth2/v2.0/token", 200) in identity


def test_device_code_connect(
    sandbox: Sandbox,
    outlook_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    sam: Technician,
) -> None:
    approver = SandboxApprover(outlook_account, sandbox.urls.ca)
    shown: list[Mapping[str, Any]] = []

    def show(flow: Mapping[str, Any]) -> None:
        shown.append(flow)
        approver.device(str(flow["verification_uri"]), str(flow["user_code"]))

    with connector(sandbox, token_store, use_device_code=True, show_device_code=show) as mc:
        view = account_service.connect("Sam Reed", Provider.MICROSOFT, mc)

    assert view.account.status is AccountStatus.CONNECTED
    assert shown and shown[0]["user_code"] in shown[0]["message"]
    assert msal_cache(token_store, view.account.token_ref)["RefreshToken"]


def test_embedded_view_flow_completes_from_the_redirect_url(
    sandbox: Sandbox, outlook_account: str, token_store: TokenStore
) -> None:
    """What a hosted page does: show the authorize URL, catch the redirect URL, hand it back."""
    with connector(sandbox, token_store) as mc, LoopbackReceiver(redirect_host="localhost") as view:
        with pytest.warns(UserWarning, match="form_post"):  # MSAL prefers form_post; a view sees URLs
            pending = mc.begin(view.redirect_uri, response_mode="query")
        SandboxApprover(outlook_account, sandbox.urls.ca)(pending.authorization_url)
        view.wait(10)
        grant = pending.complete(view.response_url)
    assert grant.email == EMAIL
    assert grant.display_name == "Sam Reed"
    assert token_store.load(grant.token_ref) is not None


def test_refresh_after_the_access_token_dies_and_needs_reconnect_after_revocation(
    sandbox: Sandbox,
    control: httpx.Client,
    outlook_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    services: Services,
    sam: Technician,
) -> None:
    with connector(sandbox, token_store, browser=SandboxApprover(outlook_account, sandbox.urls.ca)) as mc:
        view = account_service.connect("Sam Reed", Provider.MICROSOFT, mc)
    before = msal_cache(token_store, view.account.token_ref)
    assert control.post(f"/accounts/{outlook_account}/expire-access").status_code == 200
    since = sandbox_requests(control)[-1]["seq"]

    with connector(sandbox, token_store) as later:  # a later run: only the keyring
        checked = account_service.check(view.account.id, later)

    assert checked.account.status is AccountStatus.CONNECTED
    after = [(e["site"], e["path"], e["status"]) for e in sandbox_requests(control) if e["seq"] > since]
    assert ("graph", "/v1.0/me", 401) in after
    assert ("microsoft", "/common/oauth2/v2.0/token", 200) in after
    assert after[-1] == ("graph", "/v1.0/me/calendars", 200)
    assert msal_cache(token_store, view.account.token_ref)["AccessToken"] != before["AccessToken"]

    assert control.post(f"/accounts/{outlook_account}/revoke").status_code == 200
    with connector(sandbox, token_store) as later:
        dead = account_service.check(view.account.id, later)

    assert dead.account.status is AccountStatus.NEEDS_RECONNECT
    assert dead.health is not None and "AADSTS50173" in (dead.health.last_error or "")
    with services.uow() as uow:
        (note,) = uow.notifications.list()
    assert note.audience is Audience.DISPATCHER
    assert note.body.startswith(
        "Sam Reed's Outlook calendar needs to be reconnected: Microsoft no longer accepts"
    )


def test_disconnect_forgets_the_cache(
    sandbox: Sandbox,
    outlook_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    sam: Technician,
) -> None:
    with connector(sandbox, token_store, browser=SandboxApprover(outlook_account, sandbox.urls.ca)) as mc:
        view = account_service.connect("Sam Reed", Provider.MICROSOFT, mc)
        done = account_service.disconnect("Sam Reed", Provider.MICROSOFT, mc)
    assert done.status is AccountStatus.DISCONNECTED
    assert token_store.load(view.account.token_ref) is None
    assert [c.id for c in account_service.get(view.account.id).calendars] == [c.id for c in view.calendars]


def test_a_sign_in_service_outage_is_temporary_not_a_lost_sign_in(
    sandbox: Sandbox,
    control: httpx.Client,
    outlook_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    sam: Technician,
) -> None:
    """MSAL reads the authority's configuration when a client is built; a 5xx there is an outage."""
    with connector(sandbox, token_store, browser=SandboxApprover(outlook_account, sandbox.urls.ca)) as mc:
        view = account_service.connect("Sam Reed", Provider.MICROSOFT, mc)
    fault = control.post("/faults", json={"provider": "microsoft", "kind": "5xx", "count": 3})
    assert fault.status_code in (200, 201), fault.text
    with (
        connector(sandbox, token_store) as later,
        pytest.raises(ProviderUnavailable, match="Could not reach"),
    ):
        later.access_token(view.account)
    control.delete("/faults")
    with connector(sandbox, token_store) as later:
        assert later.access_token(view.account)
