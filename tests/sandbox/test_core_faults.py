"""The fault injector and the HTTP core, seen by real clients (googleapiclient/httplib2 and httpx)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httplib2
import httpx
import pytest
from googleapiclient.errors import HttpError

from sync.sandbox.base import Request, Response
from sync.sandbox.server import Sandbox
from tests.sandbox.google_client import calendar_service, create_account, credentials, error_body, timed

EMAIL = "tech@example.com"
OTHER = "other@example.com"


@pytest.fixture
def cal(sandbox: Sandbox) -> Iterator[Any]:
    create_account(sandbox, EMAIL)
    create_account(sandbox, OTHER)
    with calendar_service(sandbox, credentials(sandbox, EMAIL), timeout=1) as service:
        yield service


def _fault(control: httpx.Client, **body: Any) -> None:
    response = control.post("/faults", json=body)
    assert response.status_code == 201, response.text


def _token(sandbox: Sandbox, email: str) -> str:
    with httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        token: str = control.post(f"/accounts/{email}/token").json()["access_token"]
        return token


def test_5xx_fault_answers_a_google_error_then_clears(control: httpx.Client, cal: Any) -> None:
    _fault(control, provider="google", kind="5xx", count=1)
    with pytest.raises(HttpError) as info:
        cal.calendarList().list().execute()
    assert info.value.resp.status == 503
    body = error_body(info.value)["error"]
    assert body["code"] == 503 and body["errors"][0]["reason"] == "backendError"
    assert cal.calendarList().list().execute()["items"]
    assert control.get("/faults").json() == []


def test_429_fault_sends_retry_after(sandbox: Sandbox, control: httpx.Client, cal: Any) -> None:
    _fault(control, provider="google", kind="429", count=2, retry_after=7)
    with pytest.raises(HttpError) as info:
        cal.calendarList().list().execute()
    assert info.value.resp.status == 429
    assert info.value.resp["retry-after"] == "7"
    assert error_body(info.value)["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    with httpx.Client(trust_env=False) as raw:
        response = raw.get(
            f"{sandbox.urls.google}/calendar/v3/colors",
            headers={"Authorization": f"Bearer {_token(sandbox, EMAIL)}"},
        )
    assert response.status_code == 429 and response.headers["retry-after"] == "7"


def test_timeout_fault_holds_past_the_client_timeout(sandbox: Sandbox, control: httpx.Client) -> None:
    create_account(sandbox, EMAIL)
    token = _token(sandbox, EMAIL)
    _fault(control, provider="google", kind="timeout", count=1, hold_seconds=1.0)
    with httpx.Client(trust_env=False, timeout=0.3) as raw:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            raw.get(f"{sandbox.urls.google}/calendar/v3/colors", headers={"Authorization": f"Bearer {token}"})
        assert time.monotonic() - started < 1.0
        ok = raw.get(
            f"{sandbox.urls.google}/calendar/v3/colors", headers={"Authorization": f"Bearer {token}"}
        )
    assert ok.status_code == 200


def test_timeout_fault_is_released_at_shutdown(control: httpx.Client) -> None:
    box = Sandbox(timeout_hold=60)
    box.start()
    try:
        create_account(box, EMAIL)
        token = _token(box, EMAIL)
        with httpx.Client(base_url=box.urls.control, trust_env=False) as own:
            _fault(own, kind="timeout", count=1)
        with httpx.Client(trust_env=False, timeout=0.2) as raw, pytest.raises(httpx.ReadTimeout):
            raw.get(f"{box.urls.google}/calendar/v3/colors", headers={"Authorization": f"Bearer {token}"})
    finally:
        started = time.monotonic()
        box.stop()
    assert time.monotonic() - started < 5


def test_reset_fault_drops_the_connection(sandbox: Sandbox, control: httpx.Client) -> None:
    create_account(sandbox, EMAIL)
    token = _token(sandbox, EMAIL)
    _fault(control, provider="google", kind="reset", count=1)
    with httpx.Client(trust_env=False) as raw:
        with pytest.raises(httpx.TransportError):
            raw.get(f"{sandbox.urls.google}/calendar/v3/colors", headers={"Authorization": f"Bearer {token}"})
        ok = raw.get(
            f"{sandbox.urls.google}/calendar/v3/colors", headers={"Authorization": f"Bearer {token}"}
        )
    assert ok.status_code == 200
    log = control.get("/requests", params={"account": EMAIL}).json()
    assert [(e["status"], e["fault"]) for e in log[-2:]] == [(None, "reset"), (200, None)]


def test_drop_after_commit_writes_but_reports_failure(control: httpx.Client, cal: Any) -> None:
    body = timed("Booking", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z", id="booking0000000042")
    _fault(control, provider="google", account=EMAIL, kind="drop_after_commit", count=1)
    with pytest.raises(HttpError) as info:
        cal.events().insert(calendarId="primary", body=body).execute()
    assert info.value.resp.status == 503
    stored = cal.events().get(calendarId="primary", eventId="booking0000000042").execute()
    assert stored["summary"] == "Booking"
    with pytest.raises(HttpError) as retry:
        cal.events().insert(calendarId="primary", body=body).execute()
    assert retry.value.resp.status == 409


def test_faults_can_target_one_account(sandbox: Sandbox, control: httpx.Client, cal: Any) -> None:
    _fault(control, provider="google", account=OTHER, kind="5xx", count=1)
    assert cal.calendarList().list().execute()["items"]  # tech@ is unaffected
    with calendar_service(sandbox, credentials(sandbox, OTHER)) as other, pytest.raises(HttpError) as info:
        other.calendarList().list().execute()
    assert info.value.resp.status == 503


def test_faults_for_a_duration(control: httpx.Client, cal: Any) -> None:
    _fault(control, provider="google", kind="5xx", seconds=0.4, status=502)
    for _ in range(2):
        with pytest.raises(HttpError) as info:
            cal.colors().get().execute()
        assert info.value.resp.status == 502
    time.sleep(0.5)
    assert cal.colors().get().execute()["kind"] == "calendar#colors"


def test_fault_for_another_provider_does_not_touch_google(control: httpx.Client, cal: Any) -> None:
    _fault(control, provider="microsoft", kind="5xx", count=5)
    assert cal.colors().get().execute()["kind"] == "calendar#colors"
    assert control.delete("/faults").status_code == 200
    assert control.get("/faults").json() == []


def test_unexpected_errors_become_500_json_without_traceback(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(request: Request) -> Response:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(sandbox.google.site, "handle", boom)
    with httpx.Client(trust_env=False) as raw:
        response = raw.get(f"{sandbox.urls.google}/calendar/v3/colors")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_keep_alive_reuses_one_connection(sandbox: Sandbox) -> None:
    create_account(sandbox, EMAIL)
    token = _token(sandbox, EMAIL)
    http = httplib2.Http(proxy_info=None)
    try:
        for _ in range(3):
            response, content = http.request(
                f"{sandbox.urls.google}/calendar/v3/colors", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status == 200 and int(response["content-length"]) == len(content)
        assert len(http.connections) == 1
        (connection,) = http.connections.values()
        assert connection.sock is not None  # still open for the next request
    finally:
        http.close()


def test_chunked_request_bodies_are_read(sandbox: Sandbox) -> None:
    create_account(sandbox, EMAIL)
    token = _token(sandbox, EMAIL)

    def chunks() -> Iterator[bytes]:
        yield b'{"summary": "Chunked", "start": {"dateTime": "2026-12-01T09:00:00Z"},'
        yield b' "end": {"dateTime": "2026-12-01T10:00:00Z"}}'

    with httpx.Client(trust_env=False) as raw:
        response = raw.post(
            f"{sandbox.urls.google}/calendar/v3/calendars/primary/events",
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["summary"] == "Chunked"
