"""What a refused renewal of a Google sign-in means to the use cases.

Both the sign-in (`google_auth.refresh`) and the calendar list (`google_calendars`) renew access
tokens through google-auth; this is their one reading of its RefreshError.
"""

from __future__ import annotations

import google.auth.exceptions

from app.services.ports import ProviderUnavailable, ReconnectRequired


def reconnect_error(error: google.auth.exceptions.RefreshError) -> ReconnectRequired | ProviderUnavailable:
    """Map google-auth's RefreshError to what the use cases act on."""
    text = str(error.args[0]) if error.args else ""
    reason = text.split(":", 1)[0].strip() or "refresh failed"
    if reason in ("invalid_grant", "invalid_scope", "unauthorized_client", "access_denied"):
        return ReconnectRequired(
            f"Google no longer accepts the sign-in ({reason}: token expired or revoked)."
        )
    if error.retryable:
        return ProviderUnavailable(
            f"Google could not renew the sign-in right now ({reason}); trying again later."
        )
    return ReconnectRequired(f"Google no longer accepts the sign-in ({reason}).")
