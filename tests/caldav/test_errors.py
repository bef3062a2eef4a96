"""How CalDAV answers map to the provider error kinds the engine reacts to, and what they show."""

from __future__ import annotations

import pytest

from sync.providers.caldav_client import CaldavCredentials, classify_caldav
from sync.providers.errors import (
    AuthExpired,
    CursorExpired,
    NotFoundRemote,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Transient,
)

SYNC_TOKEN_ERROR = b'<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>'


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind"),
    [
        (401, {}, b"", AuthExpired),  # the app password was revoked or changed
        (403, {}, SYNC_TOKEN_ERROR, CursorExpired),  # Radicale, Nextcloud: a token it forgot
        (409, {}, SYNC_TOKEN_ERROR, CursorExpired),
        (412, {}, SYNC_TOKEN_ERROR, CursorExpired),
        (412, {}, b"", PreconditionFailed),  # If-Match / If-None-Match lost
        (404, {}, b"", NotFoundRemote),
        (410, {}, b"", NotFoundRemote),
        (429, {"Retry-After": "30"}, b"", RateLimited),
        (503, {"Retry-After": "12"}, b"", RateLimited),  # iCloud's throttle
        (503, {}, b"", Transient),
        (500, {}, b"", Transient),
        (408, {}, b"", Transient),
    ],
)
def test_answers_map_to_the_engine_s_error_kinds(
    status: int, headers: dict[str, str], body: bytes, kind: type[ProviderError]
) -> None:
    error = classify_caldav(status, headers, body)
    assert type(error) is kind
    assert error.status == status


def test_throttling_carries_the_server_s_wish_and_a_refusal_is_final() -> None:
    throttled = classify_caldav(503, {"Retry-After": "12"}, b"")
    assert isinstance(throttled, RateLimited) and throttled.retry_after == 12 and throttled.retryable
    refused = classify_caldav(403, {}, b"<D:error/>")
    assert type(refused) is ProviderError and not refused.retryable
    assert str(refused) == "The calendar server refused the request (HTTP 403)."


def test_the_password_never_shows_in_a_repr() -> None:
    credentials = CaldavCredentials("https://caldav.icloud.com", "maria@icloud.com", "abcd-efgh-ijkl-mnop")
    assert "abcd-efgh" not in repr(credentials)
