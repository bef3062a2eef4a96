"""Connecting a calendar from the app: Outlook in a real embedded web view, Google in a "browser".

Both run against the in-process provider sandbox with the real connectors, MSAL and
google-auth-oauthlib, and keep their tokens in the real keyring (a private Secret Service under
`make test`). The connector factory is what app/main.py builds; the ui only receives it.
"""

from __future__ import annotations

import os

os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

import socket
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.domain.model import AccountStatus, Provider, Technician
from app.main import connector_factory
from app.services.container import Services
from sync.providers.endpoints import read_endpoints
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, keyring_problem, token_store
from tests.sandbox.conftest import control, sandbox
from ui.signin import ConnectDialog, ConnectionSetup, Stage
from ui.worker import DatabaseWorker

__all__ = ["control", "keyring_problem", "sandbox", "token_store"]

pytestmark = pytest.mark.keyring

OUTLOOK = "casey@contoso.example"
GOOGLE = "alex@gmail.example"


@pytest.fixture
def casey(services: Services) -> Technician:
    return services.techs.add("Casey Nguyen", OUTLOOK, "America/Los_Angeles")


@pytest.fixture
def alex(services: Services) -> Technician:
    return services.techs.add("Alex Rivera", GOOGLE, "America/Chicago")


def setup_for(
    sandbox: Sandbox, store: TokenStore, open_url: Callable[[str], object] | None = None
) -> ConnectionSetup:
    return ConnectionSetup(
        make_connector=connector_factory(sandbox.urls.control, store),
        sandbox=True,
        sandbox_identity_url=sandbox.urls.microsoft,
        open_url=open_url,
    )


@pytest.fixture
def db(qtbot) -> DatabaseWorker:  # type: ignore[no-untyped-def]
    worker = DatabaseWorker()
    yield worker
    worker.shutdown()


@pytest.mark.webengine
def test_outlook_signs_in_inside_a_real_web_view_and_the_redirect_never_leaves_the_app(
    qtbot,  # type: ignore[no-untyped-def]
    sandbox: Sandbox,
    control: httpx.Client,
    token_store: TokenStore,
    services: Services,
    casey: Technician,
    db: DatabaseWorker,
) -> None:
    add_sandbox_account(control, "microsoft", OUTLOOK, "Casey Nguyen", ("Family",))
    dialog = ConnectDialog(
        services, db, setup_for(sandbox, token_store), casey, Provider.MICROSOFT, sandbox=True
    )
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(
        dialog.stage_changed, timeout=20_000, check_params_cb=lambda s: s is Stage.WEB_PAGE
    ):
        dialog.start()
    view = dialog.web_view
    assert view is not None
    profile = view.page().profile()
    assert profile.isOffTheRecord()  # nothing of the tech's session stays on a shared computer
    redirect = urlsplit(dialog.redirect_uri)
    assert (redirect.scheme, redirect.hostname) == ("http", "localhost")
    # Nothing listens at the redirect address: if the code left the app, nobody would receive it.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", redirect.port or 80)) != 0

    with qtbot.waitSignal(view.loadFinished, timeout=20_000) as loaded:
        pass
    assert loaded.args == [True]  # the sandbox's HTTPS page loaded: its private CA is trusted for it
    query = {k: v[0] for k, v in parse_qs(view.url().query()).items()}
    assert query["response_mode"] == "query" and query["code_challenge_method"] == "S256"

    script = (
        f"document.querySelector('input[name=account][value=\"{OUTLOOK}\"]').checked = true;"
        "document.querySelector('button[value=accept]').click(); true;"
    )
    with qtbot.waitSignal(dialog.connected, timeout=30_000) as connected:
        view.page().runJavaScript(script)
    account = connected.args[0].account
    assert (account.email, account.status, account.provider) == (
        OUTLOOK,
        AccountStatus.CONNECTED,
        Provider.MICROSOFT,
    )
    qtbot.waitUntil(lambda: dialog.stage is Stage.DONE, timeout=10_000)
    assert [(c.name, c.primary, c.blocks) for c in connected.args[0].calendars] == [
        ("Calendar", True, True),
        ("Family", False, False),
    ]
    assert token_store.load(f"microsoft:{OUTLOOK}") is not None
    assert dialog.web_view is None  # the page and its profile are gone once signed in
    dialog.close()


@pytest.mark.webengine
def test_a_certificate_from_another_host_is_refused(
    qtbot,  # type: ignore[no-untyped-def]
    sandbox: Sandbox,
    token_store: TokenStore,
    services: Services,
    casey: Technician,
    db: DatabaseWorker,
) -> None:
    """Trusting the sandbox's CA is scoped to its sign-in host: the same certificate elsewhere fails."""
    graph = urlsplit(sandbox.urls.graph or "")
    setup = ConnectionSetup(
        make_connector=connector_factory(sandbox.urls.control, token_store),
        sandbox=True,
        sandbox_identity_url=f"https://{graph.hostname}:{graph.port}",  # trust another site only
    )
    dialog = ConnectDialog(services, db, setup, casey, Provider.MICROSOFT, sandbox=True)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(
        dialog.stage_changed, timeout=20_000, check_params_cb=lambda s: s is Stage.WEB_PAGE
    ):
        dialog.start()
    view = dialog.web_view
    assert view is not None
    with qtbot.waitSignal(view.loadFinished, timeout=20_000) as loaded:
        pass
    assert loaded.args == [False]
    dialog.cancel()
    assert dialog.stage is Stage.CANCELLED


def test_google_signs_in_through_the_browser_and_loopback(
    qtbot,  # type: ignore[no-untyped-def]
    sandbox: Sandbox,
    control: httpx.Client,
    token_store: TokenStore,
    services: Services,
    alex: Technician,
    db: DatabaseWorker,
) -> None:
    """The system browser is replaced by a scripted HTTP client that reads and submits the consent page."""
    add_sandbox_account(control, "google", GOOGLE, "Alex Rivera", ("Family",))
    ca = read_endpoints(sandbox.urls.control).ca
    browser = SandboxApprover(GOOGLE, ca)
    dialog = ConnectDialog(
        services, db, setup_for(sandbox, token_store, browser), alex, Provider.GOOGLE, True
    )
    qtbot.addWidget(dialog)
    stages: list[Stage] = []
    dialog.stage_changed.connect(stages.append)
    with qtbot.waitSignal(dialog.connected, timeout=30_000) as connected:
        dialog.start()
    assert Stage.BROWSER in stages
    view = connected.args[0]
    assert (view.account.email, view.account.status) == (GOOGLE, AccountStatus.CONNECTED)
    assert view.account.endpoint == sandbox.urls.control
    assert any("/o/oauth2/auth" in page for page in browser.pages)
    blob = token_store.load(f"google:{GOOGLE}")
    assert blob is not None and blob["refresh_token"]
    qtbot.waitUntil(lambda: dialog.stage is Stage.DONE, timeout=10_000)
    dialog.close()


def test_cancel_stops_the_loopback_receiver_and_connects_nothing(
    qtbot,  # type: ignore[no-untyped-def]
    sandbox: Sandbox,
    control: httpx.Client,
    token_store: TokenStore,
    services: Services,
    alex: Technician,
    db: DatabaseWorker,
) -> None:
    add_sandbox_account(control, "google", GOOGLE, "Alex Rivera")
    opened: list[str] = []
    shown = threading.Event()

    def browser(url: str) -> bool:  # the tech never finishes in the browser
        opened.append(url)
        shown.set()
        return True

    dialog = ConnectDialog(
        services, db, setup_for(sandbox, token_store, browser), alex, Provider.GOOGLE, True
    )
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start()
    assert dialog.message.text() == "Waiting for you to finish signing in in your browser…"
    qtbot.waitUntil(shown.is_set, timeout=15_000)
    redirect = urlsplit(parse_qs(urlsplit(opened[0]).query)["redirect_uri"][0])
    assert redirect.hostname == "127.0.0.1"

    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", redirect.port or 80)) == 0

    assert listening()
    dialog.cancel()
    assert dialog.stage is Stage.CANCELLED
    qtbot.waitUntil(lambda: not listening(), timeout=10_000)
    qtbot.waitUntil(lambda: dialog._net.pending == 0, timeout=10_000)
    assert dialog.stage is Stage.CANCELLED
    assert services.accounts.list() == []
    assert token_store.load(f"google:{GOOGLE}") is None
    dialog.close()
