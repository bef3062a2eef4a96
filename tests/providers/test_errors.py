"""Provider error answers read into the error tree."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from app.errors import CrewboardError
from sync.providers.errors import (
    AlreadyExists,
    AuthExpired,
    BadRemoteData,
    CursorExpired,
    NotFoundRemote,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Transient,
    classify_google,
    classify_graph,
    retry_after_seconds,
)


def google_error(code: int, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "error": {
            "errors": [{"domain": "global", "reason": reason, "message": message}],
            "code": code,
            "message": message,
        }
    }


def graph_error(code: str, message: str = "") -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "request-id": "7d1c2f43-0000-4000-8000-000000000000",
                "date": "2026-07-15T16:00:00",
            },
        }
    }


GOOGLE_CASES: list[tuple[int, Any, dict[str, str], type[ProviderError], str | None]] = [
    (401, google_error(401, "authError", "Invalid Credentials"), {}, AuthExpired, "authError"),
    (
        400,
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
        {},
        AuthExpired,
        "invalid_grant",
    ),
    (
        403,
        google_error(403, "rateLimitExceeded", "Rate Limit Exceeded"),
        {},
        RateLimited,
        "rateLimitExceeded",
    ),
    (403, google_error(403, "userRateLimitExceeded"), {}, RateLimited, "userRateLimitExceeded"),
    (
        403,
        google_error(403, "quotaExceeded", "Calendar usage limits exceeded."),
        {},
        RateLimited,
        "quotaExceeded",
    ),
    (403, google_error(403, "forbiddenForNonOrganizer"), {}, ProviderError, "forbiddenForNonOrganizer"),
    (429, google_error(429, "rateLimitExceeded"), {"Retry-After": "7"}, RateLimited, "rateLimitExceeded"),
    (404, google_error(404, "notFound", "Not Found"), {}, NotFoundRemote, "notFound"),
    (
        409,
        google_error(409, "duplicate", "The requested identifier already exists."),
        {},
        AlreadyExists,
        "duplicate",
    ),
    (409, google_error(409, "conflict"), {}, Transient, "conflict"),
    (
        410,
        google_error(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."),
        {},
        CursorExpired,
        "fullSyncRequired",
    ),
    (410, google_error(410, "updatedMinTooLongAgo"), {}, CursorExpired, "updatedMinTooLongAgo"),
    (410, google_error(410, "deleted", "Resource has been deleted"), {}, NotFoundRemote, "deleted"),
    (
        412,
        google_error(412, "conditionNotMet", "Precondition Failed"),
        {},
        PreconditionFailed,
        "conditionNotMet",
    ),
    (500, google_error(500, "backendError"), {}, Transient, "backendError"),
    (503, b"<html>Service Unavailable</html>", {}, Transient, None),
    (400, google_error(400, "timeRangeEmpty"), {}, ProviderError, "timeRangeEmpty"),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind", "reason"), GOOGLE_CASES)
def test_google_answers_map_to_their_kind(
    status: int, body: Any, headers: dict[str, str], kind: type[ProviderError], reason: str | None
) -> None:
    error = classify_google(status, body, headers)
    assert type(error) is kind
    assert error.status == status
    assert error.reason == reason
    assert isinstance(error, CrewboardError)
    assert str(error)  # a sentence for the user


def test_google_answers_read_from_bytes_the_same_as_from_json() -> None:
    body = google_error(410, "fullSyncRequired")
    assert type(classify_google(410, json.dumps(body).encode(), {})) is CursorExpired
    assert type(classify_google(410, body, {})) is CursorExpired


def test_google_429_carries_retry_after_and_403_rate_limits_do_not_invent_one() -> None:
    limited = classify_google(429, google_error(429, "rateLimitExceeded"), {"retry-after": "12"})
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 12.0
    assert limited.retryable
    backoff = classify_google(403, google_error(403, "userRateLimitExceeded"), {})
    assert isinstance(backoff, RateLimited)
    assert backoff.retry_after is None


GRAPH_CASES: list[tuple[int, Any, dict[str, str], type[ProviderError], str | None]] = [
    (
        401,
        graph_error("InvalidAuthenticationToken", "Access token has expired."),
        {},
        AuthExpired,
        "InvalidAuthenticationToken",
    ),
    (
        400,
        {"error": "invalid_grant", "error_codes": [700082], "suberror": "bad_token"},
        {},
        AuthExpired,
        "invalid_grant",
    ),
    (400, {"error": "interaction_required", "error_codes": [50076]}, {}, AuthExpired, "interaction_required"),
    (
        429,
        graph_error("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
        {"Retry-After": "3"},
        RateLimited,
        "ApplicationThrottled",
    ),
    (503, graph_error("ServiceUnavailable"), {"Retry-After": "20"}, RateLimited, "ServiceUnavailable"),
    (503, graph_error("ServiceUnavailable"), {}, Transient, "ServiceUnavailable"),
    (504, graph_error("GatewayTimeout"), {}, Transient, "GatewayTimeout"),
    (502, b"", {}, Transient, None),
    (
        404,
        graph_error("ErrorItemNotFound", "The specified object was not found in the store."),
        {},
        NotFoundRemote,
        "ErrorItemNotFound",
    ),
    (
        410,
        graph_error("syncStateNotFound", "The sync state generation is not found."),
        {},
        CursorExpired,
        "syncStateNotFound",
    ),
    (
        400,
        graph_error("resyncRequired", "delta token no longer valid, reset sync state"),
        {},
        CursorExpired,
        "resyncRequired",
    ),
    (
        410,
        b"",
        {"Location": "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltaToken="},
        CursorExpired,
        None,
    ),
    (
        412,
        graph_error("ErrorIrresolvableConflict", "The send or update operation could not be performed."),
        {},
        PreconditionFailed,
        "ErrorIrresolvableConflict",
    ),
    (
        400,
        graph_error("ErrorInvalidRequest", "Maximum number of days: 1825"),
        {},
        ProviderError,
        "ErrorInvalidRequest",
    ),
    (403, graph_error("ErrorAccessDenied"), {}, ProviderError, "ErrorAccessDenied"),
]


@pytest.mark.parametrize(("status", "body", "headers", "kind", "reason"), GRAPH_CASES)
def test_graph_answers_map_to_their_kind(
    status: int, body: Any, headers: dict[str, str], kind: type[ProviderError], reason: str | None
) -> None:
    error = classify_graph(status, body, headers)
    assert type(error) is kind
    assert error.reason == reason
    assert error.status == status


def test_graph_retry_after_is_read_whatever_the_header_case() -> None:
    error = classify_graph(429, graph_error("TooManyRequests"), {"RETRY-AFTER": "45"})
    assert isinstance(error, RateLimited)
    assert error.retry_after == 45.0


def test_retry_after_as_an_http_date_is_read_against_the_server_date_or_the_given_now() -> None:
    headers = {"Retry-After": "Wed, 15 Jul 2026 16:00:30 GMT", "Date": "Wed, 15 Jul 2026 16:00:00 GMT"}
    assert retry_after_seconds(headers) == 30.0
    now = datetime(2026, 7, 15, 16, 0, 10, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": "Wed, 15 Jul 2026 16:00:30 GMT"}, now=now) == 20.0
    assert retry_after_seconds({"Retry-After": "Wed, 15 Jul 2026 16:00:30 GMT"}) is None
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({"Retry-After": "-5"}) == 0.0
    assert retry_after_seconds(None) is None


def test_only_waiting_kinds_are_retryable() -> None:
    assert Transient("x").retryable and RateLimited("x").retryable
    assert not AuthExpired("x").retryable and not CursorExpired("x").retryable
    assert not BadRemoteData("id", "why").retryable


def test_bad_remote_data_names_the_event_and_the_reason() -> None:
    error = BadRemoteData("evt-1", "the event has no start time")
    assert error.remote_id == "evt-1"
    assert error.why == "the event has no start time"
    assert "evt-1" in str(error) and "no start time" in str(error)
    long = BadRemoteData("x" * 5000, "odd")
    assert len(str(long)) < 200
    assert long.remote_id == "x" * 5000
