"""Calendar sign-in tokens in the OS keyring, and nowhere else.

Each connected account keeps one JSON blob under service "crewboard" and the account's
`token_ref` (e.g. "google:pat@example.com"): Google's refresh token and granted scopes, or the
serialized MSAL token cache for Microsoft. The database only ever holds the `token_ref`.

A machine without a usable keyring gets `KeyringUnavailable` with what to install; we never fall
back to a plain file, because a refresh token on disk is a standing key to a tech's calendar.
Nothing here logs a blob or puts one in an exception message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from app.domain.model import Provider
from app.errors import CrewboardError

log = logging.getLogger(__name__)

SERVICE = "crewboard"

INSTALL_HINT = (
    "Crewboard keeps calendar sign-ins only in the system keyring, and no working keyring was found: "
    "install and unlock a Secret Service such as gnome-keyring (sudo apt-get install gnome-keyring) "
    "or KWallet, log in to a desktop session so it starts, then try again."
)


class KeyringUnavailable(CrewboardError):
    """No keyring backend can keep secrets on this machine (or it refused to open)."""

    exit_code = 4


def token_ref(provider: Provider, email: str) -> str:
    """The keyring entry name for one account's tokens, e.g. "google:pat@example.com"."""
    return f"{provider.value}:{email.strip().lower()}"


def _backend_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a broken or locked Secret Service raises past keyring's own error types."""
    errors: list[type[BaseException]] = [keyring.errors.KeyringError, OSError, RuntimeError]
    try:
        from secretstorage.exceptions import SecretStorageException

        errors.append(SecretStorageException)
    except ImportError:  # not on Linux
        pass
    try:
        from jeepney.wrappers import DBusErrorResponse  # type: ignore[import-untyped]

        errors.append(DBusErrorResponse)
    except ImportError:
        pass
    return tuple(errors)


_ERRORS = _backend_errors()


def usable(backend: KeyringBackend) -> bool:
    """Whether `backend` can really keep a secret: not the fail/null backends, not a plain file."""
    from keyring.backends import chainer, fail

    if isinstance(backend, chainer.ChainerBackend):
        return any(usable(inner) for inner in backend.backends)
    if isinstance(backend, fail.Keyring):
        return False
    module = type(backend).__module__
    if module.startswith("keyring.backends.null"):
        return False
    # keyrings.alt's file backends write secrets to a file in the home folder (plain or weakly
    # encrypted); that is exactly the "plain file" tokens must never reach.
    return not module.startswith("keyrings.alt")


class TokenStore:
    """Save, load and delete one JSON blob per account in the OS keyring."""

    def __init__(self, backend: KeyringBackend | None = None, service: str = SERVICE) -> None:
        self._backend = backend
        self._service = service

    @property
    def backend(self) -> KeyringBackend:
        if self._backend is None:
            self._backend = keyring.get_keyring()
        if not usable(self._backend):
            raise KeyringUnavailable(INSTALL_HINT)
        return self._backend

    def describe(self) -> str:
        """The backend's name, for diagnostics (never any content)."""
        backend = self.backend
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def save(self, ref: str, blob: Mapping[str, Any]) -> None:
        text = json.dumps(dict(blob), separators=(",", ":"), sort_keys=True)
        backend = self.backend
        try:
            backend.set_password(self._service, ref, text)
        except _ERRORS as error:
            log.warning("keyring refused to store %s: %s", ref, type(error).__name__)
            raise KeyringUnavailable(INSTALL_HINT) from None

    def load(self, ref: str) -> dict[str, Any] | None:
        """The blob saved under `ref`, or None if there is none (or it is unreadable)."""
        backend = self.backend
        try:
            text = backend.get_password(self._service, ref)
        except _ERRORS as error:
            log.warning("keyring refused to read %s: %s", ref, type(error).__name__)
            raise KeyringUnavailable(INSTALL_HINT) from None
        if text is None:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            log.warning("keyring entry %s is not valid JSON; treating the account as signed out", ref)
            return None
        if not isinstance(value, dict):
            log.warning("keyring entry %s is not a JSON object; treating the account as signed out", ref)
            return None
        return value

    def delete(self, ref: str) -> bool:
        """Forget `ref`; True if there was something to delete."""
        backend = self.backend
        try:
            if backend.get_password(self._service, ref) is None:
                return False
            backend.delete_password(self._service, ref)
        except keyring.errors.PasswordDeleteError:
            return False
        except _ERRORS as error:
            log.warning("keyring refused to delete %s: %s", ref, type(error).__name__)
            raise KeyringUnavailable(INSTALL_HINT) from None
        return True

    def check(self) -> None:
        """Raise KeyringUnavailable unless a write, read and delete round trip works right now."""
        probe = "crewboard:probe"
        self.save(probe, {"probe": True})
        ok = self.load(probe) == {"probe": True}
        self.delete(probe)
        if not ok:
            raise KeyringUnavailable(INSTALL_HINT)
