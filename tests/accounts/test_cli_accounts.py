"""The account commands, run like a dispatcher runs them, against the sandbox and the real keyring.

The last test is the leak check: after full connect runs for both providers (with client libraries
logging at DEBUG), no access, refresh or ID token appears in the log file, the database file or the
data folder.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sync.providers.secrets import TokenStore
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, sandbox_requests
from tests.cli.conftest import Result, cli  # the CLI runner fixture

__all__ = ["cli"]

pytestmark = pytest.mark.keyring

Cli = Callable[..., Result]
GOOGLE = "maria@example.com"
OUTLOOK = "sam@contoso.com"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every file the CLI may write: database, log, settings and user data, in one folder."""
    folder = tmp_path / "crewboard-data"
    folder.mkdir()
    monkeypatch.setenv("CREWBOARD_DB", str(folder / "crewboard.db"))
    monkeypatch.setenv("CREWBOARD_LOG_DIR", str(folder / "logs"))
    monkeypatch.setenv("CREWBOARD_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
    return folder


@pytest.fixture
def crew(cli: Cli, data_dir: Path, control: httpx.Client, token_store: TokenStore) -> Iterator[Cli]:
    add_sandbox_account(control, "google", GOOGLE, "Maria Lopez", ("Side jobs",))
    add_sandbox_account(control, "microsoft", OUTLOOK, "Sam Reed")
    for name, email in (("Maria Lopez", GOOGLE), ("Sam Reed", OUTLOOK)):
        added = cli("tech", "add", name, "--email", email, "--timezone", "America/Chicago")
        assert added.code == 0, added.err
    yield cli
    for ref in (f"google:{GOOGLE}", f"microsoft:{OUTLOOK}"):
        token_store.delete(ref)  # the CLI wrote them through its own TokenStore


def connect_both(crew: Cli, sandbox: Sandbox) -> None:
    control = sandbox.urls.control
    google = crew(
        "connect", "Maria Lopez", "--provider", "google", "--sandbox", control, "--approve-as", GOOGLE
    )
    assert google.code == 0, google.err
    assert google.out.startswith("Connected Maria Lopez's Google calendar maria@example.com (2 calendar(s)")
    outlook = crew(
        "connect",
        "Sam Reed",
        "--provider",
        "microsoft",
        "--sandbox",
        control,
        "--approve-as",
        OUTLOOK,
        "--device-code",
        "--json",
    )
    assert outlook.code == 0, outlook.err
    assert "enter the code" in outlook.err  # the device-code instruction goes to stderr
    assert outlook.json()["status"] == "connected"


def test_connect_list_choose_blocking_and_disconnect(
    crew: Cli, sandbox: Sandbox, control: httpx.Client
) -> None:
    connect_both(crew, sandbox)
    again = crew(
        "connect",
        "Maria Lopez",
        "--provider",
        "google",
        "--sandbox",
        sandbox.urls.control,
        "--approve-as",
        GOOGLE,
    )
    assert again.code == 0, again.err

    listed = crew("accounts", "--json").json()
    assert [(a["tech"], a["provider"], a["account"], a["status"]) for a in listed] == sorted(
        [("Maria Lopez", "google", GOOGLE, "connected"), ("Sam Reed", "microsoft", OUTLOOK, "connected")],
        key=lambda row: [a["tech"] for a in listed].index(row[0]),
    )
    maria = next(a for a in listed if a["tech"] == "Maria Lopez")
    assert [set(c) for c in maria["calendars"]] == [{"id", "remote_id", "name", "primary", "blocks"}] * 2
    side = next(c for c in maria["calendars"] if c["name"] == "Side jobs")
    assert side["blocks"] is False

    chosen = crew("calendars", "Maria Lopez", "--set", side["id"][:8], "--blocks", "yes", "--json")
    assert chosen.code == 0, chosen.err
    assert next(c for c in chosen.json() if c["name"] == "Side jobs")["blocks"] is True

    gone = crew("disconnect", "Maria Lopez", "--provider", "google")
    assert gone.code == 0, gone.err
    assert [e["method"] for e in sandbox_requests(control, "google") if e["path"] == "/revoke"] == ["POST"]
    statuses = {a["account"]: a["status"] for a in crew("accounts", "--json").json()}
    assert statuses == {GOOGLE: "disconnected", OUTLOOK: "connected"}


def test_accounts_check_notices_a_revoked_sign_in(crew: Cli, sandbox: Sandbox, control: httpx.Client) -> None:
    connect_both(crew, sandbox)
    assert control.post(f"/accounts/{OUTLOOK}/revoke").status_code == 200

    checked = crew("accounts", "--check", "--json")

    assert checked.code == 0, checked.err
    statuses = {a["account"]: a["status"] for a in checked.json()}
    assert statuses == {GOOGLE: "connected", OUTLOOK: "needs_reconnect"}


def test_bad_requests_get_one_sentence(crew: Cli, sandbox: Sandbox) -> None:
    no_sandbox = crew("connect", "Maria Lopez", "--provider", "google", "--approve-as", GOOGLE)
    assert no_sandbox.code == 2 and "--approve-as only works with --sandbox" in no_sandbox.err
    google_device = crew("connect", "Maria Lopez", "--provider", "google", "--device-code")
    assert google_device.code == 2 and "device code" in google_device.err
    unknown = crew(
        "connect",
        "Maria Lopez",
        "--provider",
        "google",
        "--sandbox",
        sandbox.urls.control,
        "--approve-as",
        "nobody@example.com",
    )
    assert unknown.code == 2 and "no account nobody@example.com" in unknown.err
    nothing = crew("disconnect", "Maria Lopez", "--provider", "microsoft")
    assert nothing.code == 2 and "has no connected Outlook calendar" in nothing.err


def _log_files() -> list[Path]:
    files = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.flush()
            files.append(Path(handler.baseFilename))
    return files


@pytest.fixture
def verbose_logging() -> Iterator[None]:
    """Client libraries at DEBUG, where they describe requests and responses in most detail."""
    names = [
        "",
        "urllib3",
        "requests_oauthlib",
        "oauthlib",
        "msal",
        "httpx",
        "httpcore",
        "googleapiclient",
        "google",
        "google_auth_oauthlib",
        "sync",
        "app",
    ]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_no_token_reaches_the_log_the_database_or_the_data_folder(
    crew: Cli,
    sandbox: Sandbox,
    control: httpx.Client,
    data_dir: Path,
    token_store: TokenStore,
    verbose_logging: None,
) -> None:
    connect_both(crew, sandbox)
    assert control.post(f"/accounts/{GOOGLE}/expire-access").status_code == 200
    assert crew("accounts", "--check").code == 0  # a refresh round trip too

    secrets: set[str] = set()
    google = token_store.load(f"google:{GOOGLE}")
    assert google is not None
    secrets.add(google["refresh_token"])
    # Access tokens Google handed out (the sandbox's own record: every live one).
    secrets |= {t["token"] for t in sandbox.state()["providers"]["google"]["access_tokens"]}
    outlook = token_store.load(f"microsoft:{OUTLOOK}")
    assert outlook is not None
    cache = json.loads(outlook["msal_cache"])
    for kind in ("AccessToken", "RefreshToken", "IdToken"):
        secrets |= {entry["secret"] for entry in cache[kind].values()}
    assert len(secrets) >= 5 and all(len(s) > 20 for s in secrets)

    files = [p for p in data_dir.rglob("*") if p.is_file()] + _log_files()
    assert data_dir / "crewboard.db" in files
    assert any(p.suffix == ".log" for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"a token was written to {path}"


def test_a_tech_who_opted_in_to_outlook_colour_is_asked_why_and_allows_it(
    crew: Cli, sandbox: Sandbox, token_store: TokenStore
) -> None:
    assert crew("office", "--outlook-colour", "on").code == 0
    assert crew("tech", "edit", "Sam Reed", "--outlook-colour", "on").code == 0
    outlook = crew(
        "connect",
        "Sam Reed",
        "--provider",
        "microsoft",
        "--sandbox",
        sandbox.urls.control,
        "--approve-as",
        OUTLOOK,
    )
    assert outlook.code == 0, outlook.err
    assert 'only to add one category, "Crewboard jobs"' in outlook.err  # said before the sign-in asks
    assert "Outlook colour: Sam Reed's jobs will show in their colour." in outlook.err
    # What the tech granted is kept beside the MSAL cache in the keyring: names of permissions only.
    held = token_store.load(f"microsoft:{OUTLOOK}")
    assert held is not None and held["extra_scopes"] == ["MailboxSettings.ReadWrite"]
    # Maria is on Google, where the tech's colour needs no permission: nothing more is asked of her.
    google = crew(
        "connect",
        "Maria Lopez",
        "--provider",
        "google",
        "--sandbox",
        sandbox.urls.control,
        "--approve-as",
        GOOGLE,
    )
    assert google.code == 0 and "category" not in google.err
