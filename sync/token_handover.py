"""Handing a calendar sign-in from a desk to the office service, never in clear in the database.

In an office the service syncs, so a tech's refresh token must end up in the keyring of the
machine that runs `crewboard serve`; but techs sign in at a desk. The store is the only meeting
point, and the store must never hold a token anyone could use. So:

1. Each service makes an X25519 key pair once (`ServiceKey.load_or_create`): the private key stays
   in its own keyring, the public key is published in the store settings under
   `token_handover.key.<fingerprint>` with who published it and when.
2. A desk's sign-in (`HandoverTokenStore`, given to the sign-in in place of the keyring) seals the
   token's JSON to every published key this desk trusts (HPKE, RFC 9180: X25519, HKDF-SHA256,
   ChaCha20-Poly1305, with the keyring entry's name bound in as `info`) and writes the ciphertext
   to `token_handovers`. A desk pins the keys it trusts (`PinnedKeys`): the first hand-over trusts
   what is published then, later ones refuse a key the desk has not pinned, so someone who can
   write to the database cannot slip in a key of their own.
3. The service (`HandoverClaimer`, woken by the change feed, with a poll as the safety net) opens
   the rows sealed to its key, saves each token in its keyring, deletes the row and marks the
   account connected if a sync round had meanwhile found no token. Rows nobody claimed are
   deleted after EXPIRE_AFTER.

What a database thief gets: ciphertext that only a service's private key opens, and public keys.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from keyring.backend import KeyringBackend
from keyring.backends import null

from app.domain.ids import new_id
from app.domain.model import AccountStatus
from app.domain.time import Clock
from app.errors import CrewboardError, StorageError
from app.services.change_feed import ChangeFeedStore
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from storage.repositories.token_handover import SealedHandover, SqlTokenHandoverRepository
from sync.providers.secrets import TokenStore
from sync.store_settings import store_settings

log = logging.getLogger(__name__)

SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)
INFO = b"crewboard token hand-over v1\x00"  # + the keyring entry's name: a blob opens for its own ref only
KEY_REF = "crewboard:token-handover-key"  # the service's private key, in its keyring
SETTING_PREFIX = "token_handover.key."
EXPIRE_AFTER = timedelta(hours=1)
POLL_EVERY = 5.0  # seconds between claims when no notice arrives


class HandoverRefused(CrewboardError):
    """The sign-in cannot be handed to the office service (no service key, or none this desk trusts)."""

    exit_code = 4


def fingerprint(public: x25519.X25519PublicKey) -> str:
    """SHA-256 of the raw public key, the first 16 bytes in groups of four hex digits, for people to compare."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


def _key_name(print_: str) -> str:
    return SETTING_PREFIX + print_.replace(" ", "")


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """A service's public key as the store shows it to desks."""

    fingerprint: str
    public: x25519.X25519PublicKey
    holder: str  # "crewboard serve (pid 4242 on host office-pc)"
    published_at: datetime


def published_keys(uow: UnitOfWork) -> list[PublishedKey]:
    """Every service key in the store settings, oldest first; malformed entries are skipped."""
    everything = store_settings(uow, "the token hand-over").all()
    found: list[PublishedKey] = []
    for name, value in everything.items():
        if not name.startswith(SETTING_PREFIX):
            continue
        try:
            data = json.loads(value)
            public = x25519.X25519PublicKey.from_public_bytes(base64.b64decode(data["public_key"]))
            key = PublishedKey(
                fingerprint(public), public, str(data["holder"]), datetime.fromisoformat(data["at"])
            )
        except (ValueError, KeyError, TypeError):
            log.warning("skipping a malformed hand-over key in the store settings (%s)", name)
            continue
        if _key_name(key.fingerprint) == name:  # a key filed under another's name is not that key
            found.append(key)
    return sorted(found, key=lambda k: k.published_at)


class ServiceKey:
    """The service's hand-over key pair; the private half never leaves its keyring."""

    def __init__(self, private: x25519.X25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.fingerprint = fingerprint(self.public)

    @classmethod
    def load_or_create(cls, tokens: TokenStore) -> ServiceKey:
        blob = tokens.load(KEY_REF)
        raw = blob.get("private_key") if blob else None
        if isinstance(raw, str):
            try:
                return cls(x25519.X25519PrivateKey.from_private_bytes(base64.b64decode(raw)))
            except ValueError:
                log.warning("the hand-over key in the keyring is unreadable; making a new one")
        private = x25519.X25519PrivateKey.generate()
        raw_bytes = private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        tokens.save(KEY_REF, {"private_key": base64.b64encode(raw_bytes).decode("ascii")})
        return cls(private)

    def publish(self, uow_factory: UnitOfWorkFactory, holder: str, now: datetime) -> None:
        """Put the public key in the store settings, named by its fingerprint, for desks to seal to."""
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        value = json.dumps(
            {"public_key": base64.b64encode(raw).decode("ascii"), "holder": holder, "at": now.isoformat()}
        )
        with uow_factory() as uow:
            store_settings(uow, "the token hand-over").put(_key_name(self.fingerprint), value)
            uow.commit()

    def open(self, sealed: str, ref: str) -> dict[str, Any]:
        """The token blob in `sealed`; InvalidTag when it was not sealed to this key for `ref`."""
        plain = SUITE.decrypt(base64.b64decode(sealed), self._private, info=INFO + ref.encode("utf-8"))
        value = json.loads(plain)
        if not isinstance(value, dict):
            raise ValueError("a hand-over blob is a JSON object")
        return value


def seal(blob: Mapping[str, Any], ref: str, to: x25519.X25519PublicKey) -> str:
    plain = json.dumps(dict(blob), separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.b64encode(SUITE.encrypt(plain, to, info=INFO + ref.encode("utf-8"))).decode("ascii")


def default_pins_path() -> Path:
    """handover-keys.txt beside this desk's settings.toml."""
    from storage.store_choice import settings_file

    return settings_file().parent / "handover-keys.txt"


class PinnedKeys:
    """The service keys one desk trusts, one fingerprint a line in a file of its own config folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> set[str]:
        try:
            lines = self.path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            return set()
        return {line.strip() for line in lines if line.strip() and not line.startswith("#")}

    def add(self, prints: Iterable[str]) -> None:
        known = self.read()
        new = [p for p in prints if p not in known]
        if not new:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            if not known:
                out.write(
                    "# Office service keys this desk seals calendar sign-ins to (crewboard health shows them)\n"
                )
            for p in new:
                out.write(p + "\n")


class HandoverTokenStore(TokenStore):
    """What a desk on the office store gives a sign-in instead of its keyring.

    `save` seals the token to each trusted service key and writes the ciphertext to the store;
    nothing is kept at the desk. `load` finds nothing (the desk holds no tokens), so a desk's
    disconnect forgets the account without revoking it: the service holds the token.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, pins: PinnedKeys | None = None) -> None:
        super().__init__()
        self._uow = uow_factory
        self._clock = clock
        self._pins = pins or PinnedKeys(default_pins_path())
        self.sealed_to: list[PublishedKey] = []  # the keys the last save sealed to, for the caller to show

    @property
    def backend(self) -> KeyringBackend:
        """No keyring at all: asked before a browser opens, it refuses when no service can receive."""
        self.trusted_keys()
        return null.Keyring()  # type: ignore[no-untyped-call]

    def describe(self) -> str:
        return "the office service's keyring, by sealed hand-over"

    def trusted_keys(self) -> list[PublishedKey]:
        """The published keys this desk trusts; pins what is published on the first hand-over."""
        with self._uow(read_only=True) as uow:
            keys = published_keys(uow)
        if not keys:
            raise HandoverRefused(
                "No office service has published its hand-over key in this store yet; start "
                "`crewboard serve` (it publishes one at start) and sign in again."
            )
        pinned = self._pins.read()
        if not pinned:
            self._pins.add(k.fingerprint for k in keys)
            return keys
        trusted = [k for k in keys if k.fingerprint in pinned]
        if not trusted:
            shown = "; ".join(f"{k.fingerprint} ({k.holder})" for k in keys)
            raise HandoverRefused(
                f"The office store offers only hand-over keys this desk has not trusted before: {shown}. "
                f"If `crewboard health` on the service's machine shows the same fingerprint, add it as a "
                f"line to {self._pins.path} and sign in again."
            )
        return trusted

    def save(self, ref: str, blob: Mapping[str, Any]) -> None:
        keys = self.trusted_keys()
        now = self._clock.now()
        with self._uow() as uow:
            rows = _handovers(uow)
            desk = str(getattr(uow, "desk", "") or "a desk")
            for key in keys:
                rows.add(
                    SealedHandover(new_id(), ref, key.fingerprint, seal(blob, ref, key.public), desk, now)
                )
            uow.commit()
        self.sealed_to = keys
        log.info("sign-in %s sealed to %d office service key(s)", ref, len(keys))

    def load(self, ref: str) -> dict[str, Any] | None:
        return None

    def delete(self, ref: str) -> bool:
        return False

    def check(self) -> None:
        self.trusted_keys()


def _handovers(uow: UnitOfWork) -> SqlTokenHandoverRepository:
    found = getattr(uow, "handovers", None)
    if found is None:
        raise TypeError(f"{type(uow).__name__} has no hand-over table; the token hand-over needs storage's")
    rows: SqlTokenHandoverRepository = found
    return rows


class HandoverClaimer:
    """The service side: claims what desks sealed to `key` into `tokens`; see the module docstring."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        tokens: TokenStore,
        key: ServiceKey,
        clock: Clock,
        holder: str,
        expire_after: timedelta = EXPIRE_AFTER,
    ) -> None:
        self._uow = uow_factory
        self._tokens = tokens
        self._key = key
        self._clock = clock
        self._holder = holder  # who publishes the key, as desks and `crewboard health` show it
        self._expire_after = expire_after
        self.published = asyncio.Event()  # set once the key is in the store

    def publish(self) -> None:
        self._key.publish(self._uow, self._holder, self._clock.now())

    def claim(self) -> list[str]:
        """Claim every row sealed to this key; the keyring entries it filled."""
        with self._uow(read_only=True) as uow:
            waiting = _handovers(uow).for_key(self._key.fingerprint)
        claimed: list[str] = []
        for row in waiting:
            try:
                blob = self._key.open(row.sealed, row.token_ref)
            except (InvalidTag, ValueError):
                log.warning(
                    "a hand-over from %s for %s does not open with this key; dropped", row.desk, row.token_ref
                )
            else:
                self._tokens.save(
                    row.token_ref, blob
                )  # before the row goes: a failed commit only repeats this
                claimed.append(row.token_ref)
            with self._uow() as uow:
                _handovers(uow).remove(row.id)
                if row.token_ref in claimed:
                    _mark_connected(uow, row.token_ref)
                uow.commit()
            if row.token_ref in claimed:
                log.info("claimed the sign-in %s handed over by %s", row.token_ref, row.desk)
        with self._uow() as uow:
            gone = _handovers(uow).remove_older_than(self._clock.now() - self._expire_after)
            if gone:
                uow.commit()
                log.info("dropped %d hand-over(s) nobody claimed within %s", gone, self._expire_after)
        return claimed

    async def run(self, stop: asyncio.Event, feed: ChangeFeedStore | None, poll: float = POLL_EVERY) -> None:
        """Publish the key, claim, then claim whenever the store changes (or every `poll` seconds),
        until `stop`; a store that cannot be reached pauses it, and it starts over when it can."""
        while not stop.is_set():
            try:
                if not self.published.is_set():
                    await asyncio.to_thread(self.publish)
                    self.published.set()
                if feed is None:
                    await self._claim_soon()
                    await _wait(stop, poll)
                    continue
                async with feed.wakeups() as wakeups:
                    while not stop.is_set():
                        await self._claim_soon()
                        waiting = asyncio.ensure_future(wakeups.wait(poll))
                        stopping = asyncio.ensure_future(stop.wait())
                        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                        stopping.cancel()
                        if not waiting.done():
                            waiting.cancel()
                        else:
                            waiting.result()  # a dead feed connection raises StorageError here
            except (StorageError, CrewboardError) as error:
                log.warning("claiming handed-over sign-ins paused: %s", error)
                await _wait(stop, poll)
            except Exception:  # a bug: logged with its traceback; the service keeps running
                log.exception("claiming handed-over sign-ins failed")
                await _wait(stop, poll)

    async def _claim_soon(self) -> None:
        await asyncio.to_thread(self.claim)


def _mark_connected(uow: UnitOfWork, ref: str) -> None:
    """An account whose round found no token meanwhile is connected again now that it has one."""
    for account in uow.accounts.list():
        if account.token_ref == ref and account.status is AccountStatus.NEEDS_RECONNECT:
            uow.accounts.update(replace(account, status=AccountStatus.CONNECTED))


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
