"""Proof that Crewboard wrote a calendar event: a tag only the store's key can make.

The booking id an event carries (an extended property) proves nothing: anyone who can write to
the calendar can set it, and a Google event id derived from the booking id is there for anyone who
sees the event to copy. Crewboard therefore touches an event only when it recorded the event at a
confirmed write (its EventLink) or when the event carries a tag that verifies here: an HMAC-SHA256
under a random key kept in the store, over the booking id, the calendar's remote id and the event's
identity as fixed before the create went out (Google: the client-chosen event id; Graph: the
`transactionId` sent with the create). A tag copied to another event, into another calendar or onto
another booking fails. Pure: no I/O; the key is handed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

KEY_BYTES = 32
_TAG_DOMAIN = b"crewboard-event-tag-v1"
_ID_DOMAIN = b"crewboard-event-id-v1"
_TRANSACTION_DOMAIN = b"crewboard-graph-transaction-v1"


def new_key() -> bytes:
    """A fresh random store key (generated once per store)."""
    return secrets.token_bytes(KEY_BYTES)


def _check(key: bytes) -> None:
    if len(key) < KEY_BYTES:
        raise ValueError("the event ownership key is missing or too short")


def event_tag(key: bytes, booking_id: str, calendar_remote_id: str, subject: str) -> str:
    """The tag of the event written for `booking_id` in `calendar_remote_id` as `subject`."""
    _check(key)
    message = b"\x00".join(part.encode("utf-8") for part in ("v1", booking_id, calendar_remote_id, subject))
    return hmac.new(key, _TAG_DOMAIN + b"\x00" + message, hashlib.sha256).hexdigest()


def tag_verifies(
    key: bytes, booking_id: str, calendar_remote_id: str, subject: str | None, tag: str | None
) -> bool:
    """Whether `tag` is the one Crewboard made for this booking, calendar and event identity."""
    if not tag or not subject or len(key) < KEY_BYTES:
        return False
    expected = event_tag(key, booking_id, calendar_remote_id, subject)
    return hmac.compare_digest(expected.encode("ascii"), tag.encode("utf-8", "replace"))


def secret_event_id(key: bytes, booking_id: str, generation: int) -> str:
    """A Google event id for the booking nobody without the key can guess: "ck" + base32hex of an
    HMAC of the booking id and generation (lowercase a-v and digits, as Google requires)."""
    _check(key)
    if generation < 0:
        raise ValueError("generation cannot be negative")
    digest = hmac.new(
        key, _ID_DOMAIN + b"\x00" + f"{booking_id}\x00{generation}".encode(), hashlib.sha256
    ).digest()
    return "ck" + base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def secret_transaction_id(key: bytes, booking_id: str, calendar_remote_id: str, generation: int) -> str:
    """A Graph `transactionId` for the booking's create in one calendar that nobody without the key
    can guess (so nobody can make an event Graph would hand back to our create): a UUID from an
    HMAC of the booking id, calendar and generation, the same on every retry."""
    _check(key)
    if generation < 0:
        raise ValueError("generation cannot be negative")
    message = f"{booking_id}\x00{calendar_remote_id}\x00{generation}".encode()
    digest = hmac.new(key, _TRANSACTION_DOMAIN + b"\x00" + message, hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
