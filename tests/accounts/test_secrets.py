"""TokenStore on the real Secret Service, and the clear refusal when no keyring can keep secrets."""

from __future__ import annotations

import subprocess
import sys

import keyring
import pytest
from keyring.backends import chainer, fail

from app.domain.model import Provider
from sync.providers.secrets import SERVICE, KeyringUnavailable, TokenStore, token_ref, usable


@pytest.mark.keyring
def test_round_trip_on_the_secret_service(token_store: TokenStore, unique_email: str) -> None:
    ref = token_ref(Provider.GOOGLE, unique_email)
    blob = {"refresh_token": "1//r-" + unique_email, "scopes": ["a", "b"]}
    assert token_store.load(ref) is None

    token_store.save(ref, blob)

    assert token_store.load(ref) == blob
    # Stored under the product's service name, readable by any keyring client (e.g. seahorse).
    assert keyring.get_password(SERVICE, ref) is not None
    assert "SecretService" in token_store.describe()
    assert token_store.delete(ref) is True
    assert token_store.load(ref) is None
    assert token_store.delete(ref) is False


@pytest.mark.keyring
def test_save_replaces_the_previous_blob(token_store: TokenStore, unique_email: str) -> None:
    ref = token_ref(Provider.MICROSOFT, unique_email)
    token_store.save(ref, {"cache": "one"})
    token_store.save(ref, {"cache": "two"})
    assert token_store.load(ref) == {"cache": "two"}


@pytest.mark.keyring
def test_a_corrupt_entry_reads_as_signed_out(token_store: TokenStore, unique_email: str) -> None:
    ref = token_ref(Provider.GOOGLE, unique_email)
    token_store.save(ref, {"x": 1})
    keyring.set_password(SERVICE, ref, "not json")
    assert token_store.load(ref) is None


def test_token_ref_names_provider_and_lowercased_email() -> None:
    assert token_ref(Provider.GOOGLE, " Pat@Example.com ") == "google:pat@example.com"
    assert token_ref(Provider.MICROSOFT, "pat@example.com") == "microsoft:pat@example.com"


class _ChainOfNothingUsable(chainer.ChainerBackend):
    """What keyring builds on a machine whose only backends are the fail/null ones."""

    backends = (fail.Keyring(),)  # type: ignore[assignment]


@pytest.mark.parametrize("backend", [fail.Keyring(), _ChainOfNothingUsable()])
def test_no_usable_backend_is_refused_with_what_to_install(backend: keyring.backend.KeyringBackend) -> None:
    assert not usable(backend)
    store = TokenStore(backend)
    for action in (lambda: store.save("google:a@b.c", {"t": 1}), lambda: store.load("google:a@b.c")):
        with pytest.raises(KeyringUnavailable) as caught:
            action()
        message = str(caught.value)
        assert "gnome-keyring" in message
        assert "sudo apt-get install gnome-keyring" in message
        assert message.endswith("try again.")


def test_a_secret_service_that_cannot_be_reached_is_refused(tmp_path: pytest.TempPathFactory) -> None:
    """A Secret Service backend whose D-Bus is gone errors on use; we turn that into the same sentence."""
    script = (
        "from keyring.backends.SecretService import Keyring\n"
        "from sync.providers.secrets import KeyringUnavailable, TokenStore\n"
        "try:\n"
        "    TokenStore(Keyring()).load('google:a@b.c')\n"
        "except KeyringUnavailable as e:\n"
        "    print('refused:', e)\n"
    )
    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: "), done.stdout + done.stderr
    assert "gnome-keyring" in done.stdout
