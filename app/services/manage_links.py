"""Manage links: what lets a customer cancel or move their own booking, and nothing else.

A link's token is the booking id and an HMAC-SHA256 of it under a key only the store holds
(setting `booking.manage_key`, made on first use). Nobody can make a token for another booking
without the key; a token grants changes only while its job is still ahead (checked on use
against the booking as it is then), so a leaked old link is worth nothing once the job starts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from app.domain.ids import BookingId

KEY_SETTING = "booking.manage_key"
KEY_BYTES = 32
_PURPOSE = b"crewboard-manage-link:"
_ID_LENGTH = 32


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def manage_token(key: bytes, booking_id: BookingId) -> str:
    mac = hmac.new(key, _PURPOSE + booking_id.encode("ascii"), hashlib.sha256).digest()
    return f"{booking_id}.{base64.urlsafe_b64encode(mac).decode('ascii').rstrip('=')}"


def booking_of(key: bytes, token: str) -> BookingId | None:
    """The booking `token` was made for, or None when it was not made with `key`."""
    booking, _, _mac = token.partition(".")
    if len(booking) != _ID_LENGTH or not all(c in "0123456789abcdef" for c in booking):
        return None
    expected = manage_token(key, BookingId(booking))
    return BookingId(booking) if hmac.compare_digest(expected.encode(), token.encode()) else None
