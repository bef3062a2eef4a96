"""Manage links: what lets a customer cancel or move their own booking, and nothing else.

A link's token is the booking id and an HMAC-SHA256 of it under a key only the store holds
(setting `booking.manage_key`, made on first use). Nobody can make a token for another booking
without the key; a token grants changes only while its job is still ahead (checked on use
against the booking as it is then), so a leaked old link is worth nothing once the job starts.
"""

from __future__ import annotations

from app.domain.ids import BookingId
from app.services import signed_tokens
from app.services.signed_tokens import new_key

__all__ = ["KEY_SETTING", "booking_of", "manage_token", "new_key"]

KEY_SETTING = "booking.manage_key"
_PURPOSE = "crewboard-manage-link:"
_ID_LENGTH = 32


def manage_token(key: bytes, booking_id: BookingId) -> str:
    return signed_tokens.sign(key, _PURPOSE, booking_id)


def booking_of(key: bytes, token: str) -> BookingId | None:
    """The booking `token` was made for, or None when it was not made with `key`."""
    booking = signed_tokens.verified(key, _PURPOSE, token)
    if booking is None or len(booking) != _ID_LENGTH or not all(c in "0123456789abcdef" for c in booking):
        return None
    return BookingId(booking)
