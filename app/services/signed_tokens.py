"""Signed tokens: the one piece of code that makes and checks every link Crewboard hands out.

A token is `<payload>.<mac>`: the payload in the clear (ids and numbers, URL-safe) and an
HMAC-SHA256 of it under a key only the store holds, bound to a purpose, so a token made for one
kind of link (a customer's manage link) can never be replayed as another (a tech's job page).
Whoever lacks the key cannot make or alter one; what a valid token grants is decided by its
caller, against the store as it is when the token is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

KEY_BYTES = 32
_PAYLOAD_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.")
MAX_PAYLOAD = 200


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _mac(key: bytes, purpose: str, payload: str) -> str:
    digest = hmac.new(key, purpose.encode("ascii") + payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def sign(key: bytes, purpose: str, payload: str) -> str:
    """`payload` and its MAC for `purpose`; ValueError for a payload a URL cannot carry as is."""
    if not payload or len(payload) > MAX_PAYLOAD or not set(payload) <= _PAYLOAD_CHARS:
        raise ValueError(f"{payload!r} is not a payload a signed token can carry")
    return f"{payload}.{_mac(key, purpose, payload)}"


def verified(key: bytes, purpose: str, token: str) -> str | None:
    """The payload of `token` when it was signed with `key` for `purpose`, else None."""
    payload, dot, _mac_text = token.rpartition(".")
    if not dot or not payload or len(payload) > MAX_PAYLOAD or not set(payload) <= _PAYLOAD_CHARS:
        return None
    expected = sign(key, purpose, payload)
    return payload if hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace")) else None
