"""The provider error tree, and the reading of Google's and Microsoft's error answers into it.

The sync engine reacts to kinds, not to HTTP details: reconnect on `AuthExpired`, wait on
`RateLimited`, re-read on `PreconditionFailed`, resync on `CursorExpired`, retry on `Transient`,
skip one event on `BadRemoteData`. The classifiers below are pure: they read a status, a body
and headers that the HTTP layer already has, and never touch the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from app.errors import CrewboardError

# An answer body as the HTTP layer has it: raw bytes, already-decoded JSON, or nothing.
Body = bytes | str | Mapping[str, Any] | None


class ProviderError(CrewboardError):
    """A calendar provider refused or failed a request; `retryable` says whether waiting helps."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class AuthExpired(ProviderError):
    """The sign-in no longer works (revoked, expired, needs consent or MFA): the tech must reconnect."""


class RateLimited(ProviderError):
    """The provider asks us to slow down; `retry_after` is its wish in seconds, when it said one."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message, status=status, reason=reason)
        self.retry_after = retry_after


class PreconditionFailed(ProviderError):
    """The event changed since we read it (If-Match lost): re-read it and plan again."""


class NotFoundRemote(ProviderError):
    """The event or calendar is gone on the provider's side (for a delete, the job is done)."""


class AlreadyExists(ProviderError):
    """An insert reused an id that exists: a retried create whose first answer was lost."""


class CursorExpired(ProviderError):
    """The sync token or delta link is no longer valid: resync that calendar from scratch."""


class Transient(ProviderError):
    """A server error, timeout or dropped connection: the same request may well work later."""

    retryable = True


class BadRemoteData(ProviderError):
    """One event we cannot understand; the engine skips and logs it and goes on with the rest."""

    def __init__(self, remote_id: str, reason: str) -> None:
        shown = remote_id if len(remote_id) <= 80 else remote_id[:77] + "..."
        super().__init__(f"Skipped calendar event '{shown}': {reason}.", reason=reason)
        self.remote_id = remote_id
        self.why = reason


# --- reading answers ------------------------------------------------------------------------


def _decode(body: Body) -> Mapping[str, Any]:
    """The JSON object in `body`, or an empty mapping for anything else (HTML error pages, junk)."""
    if body is None:
        return {}
    if isinstance(body, Mapping):
        return body
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, Mapping) else {}


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if headers is None:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return str(value)
    return None


def retry_after_seconds(headers: Mapping[str, str] | None, *, now: datetime | None = None) -> float | None:
    """The Retry-After wish in seconds: delta-seconds, or an HTTP date read against `now`.

    Without `now`, a date is read against the answer's own Date header (the server's clock),
    so no local clock is needed; when neither is there the wish is unknown (None).
    """
    raw = _header(headers, "Retry-After")
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now
    if reference is None:
        server_date = _header(headers, "Date")
        if server_date is None:
            return None
        try:
            reference = parsedate_to_datetime(server_date)
        except (TypeError, ValueError, IndexError):
            return None
        if reference.tzinfo is None:
            reference = reference.replace(tzinfo=UTC)
    return max(0.0, (when - reference).total_seconds())


def _oauth_error(data: Mapping[str, Any]) -> str | None:
    """The OAuth error code of a token-endpoint answer (`{"error": "invalid_grant", ...}`)."""
    error = data.get("error")
    return error if isinstance(error, str) else None


_AUTH_CODES = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})


def _auth_expired(status: int, reason: str | None) -> AuthExpired:
    return AuthExpired(
        "The calendar sign-in has expired or was revoked; reconnect the calendar in the technician's settings.",
        status=status,
        reason=reason,
    )


def _rate_limited(status: int, reason: str | None, retry_after: float | None) -> RateLimited:
    return RateLimited(
        "The calendar provider asked us to slow down; sync will continue shortly.",
        retry_after=retry_after,
        status=status,
        reason=reason,
    )


def _transient(status: int, reason: str | None) -> Transient:
    return Transient(
        f"The calendar provider had a temporary problem (HTTP {status}); sync will retry.",
        status=status,
        reason=reason,
    )


def _cursor_expired(status: int, reason: str | None) -> CursorExpired:
    return CursorExpired(
        "The calendar's change feed expired; the calendar will be read again in full.",
        status=status,
        reason=reason,
    )


def _not_found(status: int, reason: str | None) -> NotFoundRemote:
    return NotFoundRemote("The calendar event no longer exists.", status=status, reason=reason)


def _precondition(status: int, reason: str | None) -> PreconditionFailed:
    return PreconditionFailed(
        "The calendar event changed since it was read; it will be read again.", status=status, reason=reason
    )


def _refused(status: int, reason: str | None, message: str | None) -> ProviderError:
    detail = f": {message}" if message else ""
    return ProviderError(
        f"The calendar provider refused the request (HTTP {status}{detail}).", status=status, reason=reason
    )


# --- Google ---------------------------------------------------------------------------------

_GOOGLE_RATE_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)


def _google_reasons(data: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """`error.errors[].reason` values and `error.message` of a Google JSON error."""
    error = data.get("error")
    if not isinstance(error, Mapping):
        return [], None
    reasons: list[str] = []
    details = error.get("errors")
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, Mapping) and isinstance(detail.get("reason"), str):
                reasons.append(detail["reason"])
    message = error.get("message")
    return reasons, message if isinstance(message, str) else None


def classify_google(status: int, body: Body, headers: Mapping[str, str] | None = None) -> ProviderError:
    """The error kind of a failed Google Calendar (or Google token endpoint) answer."""
    data = _decode(body)
    oauth = _oauth_error(data)
    if oauth in _AUTH_CODES:
        return _auth_expired(status, oauth)
    reasons, message = _google_reasons(data)
    reason = reasons[0] if reasons else None
    if status == 401:
        return _auth_expired(status, reason or oauth)
    if status == 429 or (status == 403 and any(r in _GOOGLE_RATE_REASONS for r in reasons)):
        rate_reason = next((r for r in reasons if r in _GOOGLE_RATE_REASONS), reason)
        return _rate_limited(status, rate_reason, retry_after_seconds(headers))
    if status == 404:
        return _not_found(status, reason)
    if status == 409:
        if "duplicate" in reasons or not reasons:
            return AlreadyExists(
                "The calendar event already exists; it will be adopted.", status=status, reason=reason
            )
        return _transient(status, reason)
    if status == 410:
        if "deleted" in reasons:
            return _not_found(status, "deleted")
        # fullSyncRequired, updatedMinTooLongAgo, or a bare 410 on a list: start the feed afresh.
        return _cursor_expired(status, reason)
    if status == 412:
        return _precondition(status, reason or "conditionNotMet")
    if status >= 500 or status in (408, 0):
        return _transient(status, reason)
    return _refused(status, reason, message)


# --- Microsoft Graph --------------------------------------------------------------------------

_GRAPH_CURSOR_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
_GRAPH_AUTH_CODES = frozenset({"invalidauthenticationtoken", "compacttoken.expired", "tokenexpired"})


def _graph_code(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """`error.code` and `error.message` of a Graph JSON error."""
    error = data.get("error")
    if not isinstance(error, Mapping):
        return None, None
    code = error.get("code")
    message = error.get("message")
    return (code if isinstance(code, str) else None), (message if isinstance(message, str) else None)


def classify_graph(status: int, body: Body, headers: Mapping[str, str] | None = None) -> ProviderError:
    """The error kind of a failed Microsoft Graph (or Microsoft identity platform) answer."""
    data = _decode(body)
    oauth = _oauth_error(data)
    if oauth in _AUTH_CODES:
        return _auth_expired(status, oauth)
    code, message = _graph_code(data)
    folded = (code or "").lower()
    if folded in _GRAPH_CURSOR_CODES:
        return _cursor_expired(status, code)
    if status == 401 or folded in _GRAPH_AUTH_CODES:
        return _auth_expired(status, code)
    retry_after = retry_after_seconds(headers)
    if status in (429, 509):
        return _rate_limited(status, code, retry_after)
    if status in (503, 504) and retry_after is not None:
        return _rate_limited(status, code, retry_after)
    if status == 404 or folded == "erroritemnotfound":
        return _not_found(status, code)
    if status == 410:
        return _cursor_expired(status, code)
    if status == 412 or folded == "errorirresolvableconflict":
        return _precondition(status, code)
    if status >= 500 or status in (408, 0):
        return _transient(status, code)
    return _refused(status, code, message)
