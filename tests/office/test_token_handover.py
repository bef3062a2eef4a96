"""A tech signs in at a desk; the token reaches the office service's keyring and never sits in the
database in clear. Real PostgreSQL, the real keyring (gnome-keyring), the sandbox's Google sign-in."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.bus import Bus
from app.domain.model import AccountStatus, Provider
from app.domain.time import FixedClock
from app.services.bookings import NewBooking
from app.services.container import Services
from storage.database import Database, open_database
from sync.providers.endpoints import read_endpoints
from sync.providers.microsoft_auth import MicrosoftConnector
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from sync.token_handover import (
    KEY_REF,
    HandoverClaimer,
    HandoverRefused,
    HandoverTokenStore,
    PinnedKeys,
    PublishedKey,
    ServiceKey,
    published_keys,
)
from tests.accounts.conftest import _CleaningTokenStore, add_sandbox_account, keyring_problem, token_store
from tests.cli.conftest import Result, cli
from tests.office import sandbox_tech as maria
from tests.office.serve_process import ServeProcess
from tests.office.test_serve_sandbox import Office, _tomorrow_but_one, eventually
from tests.sandbox.conftest import control, sandbox

__all__ = ["cli", "control", "keyring_problem", "sandbox", "token_store"]

NOW = datetime(2026, 11, 4, 15, 0, tzinfo=UTC)

pytestmark = [pytest.mark.keyring]

EMAIL = maria.EMAIL
REF = "google:maria@example.com"


@pytest.fixture
def store(pg_url: str) -> Iterator[Database]:
    database = open_database(pg_url, desk="front-desk")
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def desk(store: Database, clock: FixedClock) -> Services:
    return Services.build(store.unit_of_work, clock, Bus())


def _rows(store: Database) -> list[dict[str, str]]:
    """The hand-over table as a database thief would read it."""
    from sqlalchemy import text

    with store.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(text("SELECT * FROM token_handovers"))]


def test_the_desk_seals_the_token_and_only_the_service_key_opens_it(
    sandbox: Sandbox,
    control: httpx.Client,
    token_store: _CleaningTokenStore,
    store: Database,
    desk: Services,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    add_sandbox_account(control, "google", EMAIL, "Maria Lopez")
    desk.techs.add("Maria Lopez", EMAIL, "America/Chicago")
    key = ServiceKey.load_or_create(token_store)
    assert ServiceKey.load_or_create(token_store).fingerprint == key.fingerprint  # kept, not remade
    token_store.written.add(KEY_REF)
    claimer = HandoverClaimer(
        store.unit_of_work, token_store, key, clock, "crewboard serve (pid 1 on host svc)"
    )
    claimer.publish()

    handover = HandoverTokenStore(store.unit_of_work, clock, PinnedKeys(tmp_path / "pins.txt"))
    maria.sign_in(sandbox, desk, handover)

    # The desk kept nothing, and the database holds ciphertext that names no token.
    assert token_store.load(REF) is None
    [row] = _rows(store)
    assert (
        row["token_ref"] == REF and row["key_fingerprint"] == key.fingerprint and row["desk"] == "front-desk"
    )
    assert "refresh" not in row["sealed"] and "1//" not in row["sealed"]
    [account] = desk.accounts.list()
    assert account.account.status is AccountStatus.CONNECTED
    assert (tmp_path / "pins.txt").read_text().count(key.fingerprint) == 1  # trusted on first use

    # A stranger's key (a new key pair) cannot open it; nor can the row be moved to another account.
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        ServiceKey.load_or_create(_EmptyKeyring()).open(row["sealed"], REF)
    with pytest.raises(Exception):  # noqa: B017
        key.open(row["sealed"], "google:mallory@example.com")

    # A round meanwhile found no token and asked for a reconnect; the claim puts it right.
    with store.unit_of_work() as uow:
        uow.accounts.update(replace(uow.accounts.list()[0], status=AccountStatus.NEEDS_RECONNECT))
        uow.commit()
    token_store.written.add(REF)
    assert claimer.claim() == [REF]
    blob = token_store.load(REF)
    assert blob is not None and blob["refresh_token"]
    assert _rows(store) == []
    assert desk.accounts.list()[0].account.status is AccountStatus.CONNECTED


def test_a_key_this_desk_never_trusted_is_refused_and_stale_rows_expire(
    token_store: _CleaningTokenStore, store: Database, clock: FixedClock, tmp_path: Path
) -> None:
    pins = PinnedKeys(tmp_path / "pins.txt")
    handover = HandoverTokenStore(store.unit_of_work, clock, pins)
    with pytest.raises(HandoverRefused, match="No office service has published"):
        handover.save(REF, {"refresh_token": "r"})

    ours = ServiceKey.load_or_create(token_store)
    token_store.written.add(KEY_REF)
    ours.publish(store.unit_of_work, "crewboard serve (pid 1 on host svc)", clock.now())
    handover.save(REF, {"refresh_token": "r"})  # pins ours
    # Someone with write access to the database publishes a key of their own, and ours goes away.
    theirs = ServiceKey.load_or_create(_EmptyKeyring())
    theirs.publish(store.unit_of_work, "crewboard serve (pid 6 on host evil)", clock.now())
    with store.unit_of_work() as uow:
        uow.settings.remove("token_handover.key." + ours.fingerprint.replace(" ", ""))
        uow.commit()
    with pytest.raises(HandoverRefused, match="not trusted before") as refused:
        handover.save(REF, {"refresh_token": "r"})
    assert theirs.fingerprint in str(refused.value) and str(pins.path) in str(refused.value)
    assert [k.fingerprint for k in _keys(store)] == [theirs.fingerprint]
    assert len(_rows(store)) == 1  # only the first, sealed to ours

    # Nobody claims it: an hour later it is gone (the claim sweeps whatever key it was for).
    claimer = HandoverClaimer(store.unit_of_work, token_store, theirs, clock, "x")
    clock.current += timedelta(hours=1, seconds=1)
    assert claimer.claim() == []
    assert _rows(store) == []


def _keys(store: Database) -> list[PublishedKey]:
    with store.unit_of_work() as uow:
        return list(published_keys(uow))


class _EmptyKeyring(TokenStore):
    """A keyring of another machine, in memory: for a second key pair, never for tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, str] = {}

    def save(self, ref: str, blob: object) -> None:
        self.entries[ref] = json.dumps(blob)

    def load(self, ref: str) -> dict[str, object] | None:
        found = self.entries.get(ref)
        return None if found is None else dict(json.loads(found))


@pytest.mark.slow
def test_a_desk_sign_in_reaches_the_running_service_which_syncs_the_tech(
    sandbox: Sandbox,
    control: httpx.Client,
    token_store: _CleaningTokenStore,
    pg_url: str,
    tmp_path: Path,
) -> None:
    """`crewboard serve` publishes its key; the desk's sign-in is claimed at once, woken by NOTIFY,
    and the service then writes the desk's booking to the tech's calendar with that token."""
    add_sandbox_account(control, "google", EMAIL, "Maria Lopez")
    database = open_database(pg_url, desk="front-desk")
    desk = Services.build(database.unit_of_work)
    service = ServeProcess.start(database.url, tmp_path / "svc")
    try:
        service.wait_owner()
        eventually(lambda: _keys(database), "the service published its hand-over key")
        token_store.written.update({KEY_REF, REF})  # the service's entries, in the shared test keyring
        desk.techs.add("Maria Lopez", EMAIL, "America/Chicago")
        maria.sign_in(
            sandbox, desk, HandoverTokenStore(database.unit_of_work, desk.clock, PinnedKeys(tmp_path / "p"))
        )
        blob = eventually(lambda: token_store.load(REF), "the service took the sign-in into its keyring")
        assert blob["refresh_token"]
        eventually(lambda: _rows(database) == [], "the hand-over row is gone")
        [view] = desk.accounts.list()
        assert view.account.status is AccountStatus.CONNECTED

        # The desk books a job; the service writes it to Maria's calendar with the token it claimed.
        booking = desk.bookings.create(
            NewBooking(
                customer="Ada Byron",
                service="Boiler service",
                duration=timedelta(minutes=45),
                start=_tomorrow_but_one(14),
                tech="Maria Lopez",
            )
        )
        office = Office(database, desk, view.tech, maria.phone(sandbox, control))
        try:
            eventually(lambda: booking.id in office.booking_events(), "the service wrote the job's event")
        finally:
            office.phone.close()
    finally:
        assert service.stop(signal.SIGTERM) == 0, service.stderr()
        database.dispose()


def test_crewboard_connect_on_the_office_store_hands_over_and_health_shows_the_key(
    cli: Callable[..., Result],
    sandbox: Sandbox,
    control: httpx.Client,
    token_store: _CleaningTokenStore,
    store: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREWBOARD_DB", store.url)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the desk's pins
    add_sandbox_account(control, "google", EMAIL, "Maria Lopez")
    key = ServiceKey.load_or_create(token_store)
    token_store.written.add(KEY_REF)
    key.publish(store.unit_of_work, "crewboard serve (pid 7 on host svc)", FixedClock(NOW).now())
    assert cli("tech", "add", "Maria Lopez", "--email", EMAIL, "--timezone", "America/Chicago").code == 0

    done = cli(
        "connect",
        "Maria Lopez",
        "--provider",
        "google",
        "--sandbox",
        sandbox.urls.control,
        "--approve-as",
        EMAIL,
    )
    assert done.code == 0, done.err
    assert f"sealed to its key {key.fingerprint} (crewboard serve (pid 7 on host svc))" in done.err
    assert token_store.load(REF) is None  # not in this machine's keyring: in the store, sealed
    assert [r["token_ref"] for r in _rows(store)] == [REF]
    pins = (tmp_path / "config" / "crewboard" / "handover-keys.txt").read_text()
    assert key.fingerprint in pins

    health = cli("health")
    assert health.code == 0, health.err
    assert f"Sign-in hand-over key of crewboard serve (pid 7 on host svc): {key.fingerprint}" in health.out


def test_an_outlook_sign_in_hands_over_its_token_cache_which_the_service_can_use(
    sandbox: Sandbox,
    control: httpx.Client,
    token_store: _CleaningTokenStore,
    store: Database,
    desk: Services,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    outlook = "sam@contoso.com"
    add_sandbox_account(control, "microsoft", outlook, "Sam Reed")
    desk.techs.add("Sam Reed", outlook, "America/Chicago")
    key = ServiceKey.load_or_create(token_store)
    token_store.written.update({KEY_REF, f"microsoft:{outlook}"})
    claimer = HandoverClaimer(
        store.unit_of_work, token_store, key, clock, "crewboard serve (pid 1 on host svc)"
    )
    claimer.publish()
    settings = read_endpoints(sandbox.urls.control).microsoft_settings()
    handover = HandoverTokenStore(store.unit_of_work, clock, PinnedKeys(tmp_path / "pins.txt"))
    with MicrosoftConnector(
        settings, handover, browser=SandboxApprover(outlook, sandbox.urls.ca), timeout=20
    ) as signing_in:
        view = desk.accounts.connect("Sam Reed", Provider.MICROSOFT, signing_in)
    assert token_store.load(view.account.token_ref) is None
    assert claimer.claim() == [view.account.token_ref]

    # The service's own connector, over its keyring, gets an access token from the handed-over cache.
    with MicrosoftConnector(settings, token_store, timeout=20) as service_side:
        assert service_side.access_token(view.account, force_refresh=True)
