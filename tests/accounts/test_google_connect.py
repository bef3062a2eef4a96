"""Connecting a Google calendar end to end against the sandbox, with the real google-auth-oauthlib.

The consent page is really fetched and submitted; the code comes back through the loopback
receiver; the token exchange carries the PKCE verifier; tokens land in the real Secret Service.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.domain.model import AccountStatus, Audience, Provider, Technician
from app.services.accounts import AccountService
from app.services.container import Services
from app.services.ports import SignInFailed
from sync.providers.endpoints import read_endpoints
from sync.providers.google_auth import GOOGLE_SCOPES, GoogleConnector
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, sandbox_requests

pytestmark = pytest.mark.keyring

EMAIL = "maria@example.com"


class RecordingApprover(SandboxApprover):
    """The sandbox approver, remembering the authorize URLs it was sent to."""

    def __init__(self, email: str) -> None:
        super().__init__(email)
        self.urls: list[str] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return super().__call__(url)


@pytest.fixture
def google_account(control: httpx.Client) -> str:
    add_sandbox_account(control, "google", EMAIL, "Maria Lopez", ("Side jobs",))
    return EMAIL


def connector(sandbox: Sandbox, store: TokenStore, browser: object) -> GoogleConnector:
    settings = read_endpoints(sandbox.urls.control).google_settings()
    return GoogleConnector(settings, store, browser=browser, timeout=20)  # type: ignore[arg-type]


def test_connect_stores_account_calendars_and_refresh_token_in_the_keyring(
    sandbox: Sandbox,
    control: httpx.Client,
    google_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    maria: Technician,
) -> None:
    approver = RecordingApprover(google_account)

    view = account_service.connect("Maria Lopez", Provider.GOOGLE, connector(sandbox, token_store, approver))

    assert view.account.status is AccountStatus.CONNECTED
    assert view.account.email == EMAIL
    assert view.account.token_ref == f"google:{EMAIL}"
    assert view.account.endpoint == sandbox.urls.control
    assert [(c.name, c.primary, c.blocks) for c in view.calendars] == [
        ("Maria Lopez", True, True),
        ("Side jobs", False, False),
    ]
    blob = token_store.load(view.account.token_ref)
    assert blob is not None
    assert set(blob) == {"refresh_token", "scopes"}
    assert blob["scopes"] == sorted(GOOGLE_SCOPES)
    issued = sandbox.state()["providers"]["google"]["refresh_tokens"]
    assert [t["token"] for t in issued] == [blob["refresh_token"]]

    # The authorize request: exactly the two minimal scopes, PKCE S256, state, loopback on 127.0.0.1.
    (url,) = approver.urls
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["scope"].split() == list(GOOGLE_SCOPES)
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 20
    assert query["access_type"] == "offline"
    redirect = urlsplit(query["redirect_uri"])
    assert redirect.scheme == "http" and redirect.hostname == "127.0.0.1" and redirect.port
    # Google recorded the same minimal scopes on the grant.
    assert issued[0]["scopes"] == list(GOOGLE_SCOPES)
    paths = [(e["method"], e["path"], e["status"]) for e in sandbox_requests(control, "google")]
    assert paths[:3] == [
        ("GET", "/o/oauth2/auth", 200),
        ("POST", "/o/oauth2/approve", 302),
        ("POST", "/token", 200),
    ]


def test_reconnecting_reuses_the_account_and_its_calendars(
    sandbox: Sandbox,
    google_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    services: Services,
    maria: Technician,
) -> None:
    first = account_service.connect(
        "Maria Lopez", Provider.GOOGLE, connector(sandbox, token_store, SandboxApprover(google_account))
    )
    side = next(c for c in first.calendars if c.name == "Side jobs")
    account_service.set_calendar_blocks(side.id, True)

    again = account_service.connect(
        "Maria Lopez", Provider.GOOGLE, connector(sandbox, token_store, SandboxApprover(google_account))
    )

    assert again.account.id == first.account.id
    assert [c.id for c in again.calendars] == [c.id for c in first.calendars]
    assert next(c for c in again.calendars if c.name == "Side jobs").blocks is True  # the tech's choice stays
    with services.uow() as uow:
        assert len(uow.accounts.list()) == 1
        assert len(uow.calendars.list()) == 2


def test_an_expired_access_token_is_refreshed_silently(
    sandbox: Sandbox,
    control: httpx.Client,
    google_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    maria: Technician,
) -> None:
    view = account_service.connect(
        "Maria Lopez", Provider.GOOGLE, connector(sandbox, token_store, SandboxApprover(google_account))
    )
    # A later run of the app: nothing in memory, only the keyring.
    fresh = connector(sandbox, token_store, None)
    assert control.post(f"/accounts/{google_account}/expire-access").status_code == 200
    since = sandbox_requests(control)[-1]["seq"]

    checked = account_service.check(view.account.id, fresh)

    assert checked.account.status is AccountStatus.CONNECTED
    after = [(e["method"], e["path"], e["status"]) for e in sandbox_requests(control) if e["seq"] > since]
    assert ("POST", "/token", 200) in after
    assert after[-1] == ("GET", "/calendar/v3/users/me/calendarList", 200)
    # The in-memory credentials of the first connector see the 401 and refresh too.
    live = connector(sandbox, token_store, None)
    live.refresh(view.account)
    assert live.credentials(view.account).valid


def test_revocation_marks_needs_reconnect_and_tells_the_dispatcher_once(
    sandbox: Sandbox,
    control: httpx.Client,
    google_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    services: Services,
    maria: Technician,
) -> None:
    gc = connector(sandbox, token_store, SandboxApprover(google_account))
    view = account_service.connect("Maria Lopez", Provider.GOOGLE, gc)
    assert control.post(f"/accounts/{google_account}/revoke").status_code == 200

    checked = account_service.check(view.account.id, connector(sandbox, token_store, None))
    account_service.check(
        view.account.id, connector(sandbox, token_store, None)
    )  # still dead: no second notice

    assert checked.account.status is AccountStatus.NEEDS_RECONNECT
    assert checked.health is not None and "invalid_grant" in (checked.health.last_error or "")
    assert account_service.syncable() == []
    assert [c.id for c in checked.calendars] == [c.id for c in view.calendars]  # data kept
    with services.uow() as uow:
        notes = uow.notifications.list()
    assert len(notes) == 1
    assert notes[0].audience is Audience.DISPATCHER
    assert notes[0].body.startswith("Maria Lopez's Google calendar needs to be reconnected: ")
    assert token_store.load(view.account.token_ref) is not None  # reconnect replaces it; nothing deleted

    reconnected = account_service.connect(
        "Maria Lopez", Provider.GOOGLE, connector(sandbox, token_store, SandboxApprover(google_account))
    )
    assert reconnected.account.id == view.account.id
    assert reconnected.account.status is AccountStatus.CONNECTED
    assert reconnected.health is not None and reconnected.health.last_error is None


def test_disconnect_revokes_at_google_and_deletes_the_tokens(
    sandbox: Sandbox,
    control: httpx.Client,
    google_account: str,
    token_store: TokenStore,
    account_service: AccountService,
    maria: Technician,
) -> None:
    view = account_service.connect(
        "Maria Lopez", Provider.GOOGLE, connector(sandbox, token_store, SandboxApprover(google_account))
    )
    refresh_token = (token_store.load(view.account.token_ref) or {})["refresh_token"]

    done = account_service.disconnect("Maria Lopez", Provider.GOOGLE, connector(sandbox, token_store, None))

    assert done.status is AccountStatus.DISCONNECTED
    assert token_store.load(view.account.token_ref) is None
    revokes = [e for e in sandbox_requests(control, "google") if e["path"] == "/revoke"]
    assert [(r["method"], r["status"], r["account"]) for r in revokes] == [("POST", 200, google_account)]
    revoked = [
        t for t in sandbox.state()["providers"]["google"]["refresh_tokens"] if t["token"] == refresh_token
    ]
    assert revoked[0]["revoked"] is True
    kept = account_service.get(view.account.id)
    assert [c.id for c in kept.calendars] == [c.id for c in view.calendars]


def test_an_answer_with_another_state_is_refused_before_any_token_request(
    sandbox: Sandbox, control: httpx.Client, google_account: str, token_store: TokenStore
) -> None:
    def forged_browser(url: str) -> bool:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        httpx.get(redirect, params={"code": "4/forged", "state": "not-the-state"})
        return True

    with pytest.raises(SignInFailed, match="state mismatch"):
        connector(sandbox, token_store, forged_browser).authorize()
    assert not [e for e in sandbox_requests(control, "google") if e["path"] == "/token"]


def test_declining_consent_connects_nothing(
    sandbox: Sandbox, control: httpx.Client, google_account: str, token_store: TokenStore
) -> None:
    def declining_browser(url: str) -> bool:
        page = httpx.get(url)
        request_id = page.text.split('name="request_id" value="', 1)[1].split('"', 1)[0]
        answer = httpx.post(
            urlsplit(url)._replace(path="/o/oauth2/approve", query="").geturl(),
            data={"request_id": request_id, "account": google_account, "decision": "deny"},
        )
        assert answer.status_code == 302
        httpx.get(answer.headers["location"])
        return True

    with pytest.raises(SignInFailed, match="declined"):
        connector(sandbox, token_store, declining_browser).authorize()
    assert token_store.load(f"google:{google_account}") is None
