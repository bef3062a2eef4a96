"""The control API, persistence, the demo seed and the `crewboard sandbox` command line."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from sync.sandbox import cli
from sync.sandbox.server import Sandbox
from tests.sandbox.google_client import calendar_service, create_account, credentials, issue_token, timed

EMAIL = "tech@example.com"
ROOT = Path(__file__).resolve().parents[2]


def test_index_lists_every_url(sandbox: Sandbox, control: httpx.Client) -> None:
    urls = control.get("/").json()
    assert set(urls) == {"google", "microsoft", "graph", "control", "ca"}
    assert urls["google"] == sandbox.urls.google and urls["control"] == sandbox.urls.control
    assert urls["google"].startswith("http://127.0.0.1:")
    assert Path(urls["ca"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    if sandbox.microsoft is not None:
        assert urls["microsoft"].startswith("https://") and urls["graph"].startswith("https://")
    else:
        assert urls["microsoft"] is None and urls["graph"] is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"provider": "yahoo", "email": "a@example.com", "timezone": "UTC"}, "provider"),
        ({"provider": "google", "timezone": "UTC"}, "email"),
        ({"provider": "google", "email": "a@example.com"}, "timezone"),
        ({"provider": "google", "email": "a@example.com", "timezone": "Mars/Olympus"}, "time zone"),
        ({"provider": "google", "email": "not-an-email", "timezone": "UTC"}, "email"),
    ],
)
def test_create_account_rejects_bad_input(control: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    response = control.post("/accounts", json=body)
    assert response.status_code == 400
    message = response.json()["error"]
    assert fragment in message and message.endswith(".")


def test_accounts_calendars_and_unknown_emails(control: httpx.Client) -> None:
    created = control.post(
        "/accounts",
        json={
            "provider": "google",
            "email": "Tech@Example.com",
            "timezone": "America/Chicago",
            "name": "Tess Tech",
        },
    )
    assert created.status_code == 201
    assert created.json()["email"] == EMAIL
    duplicate = control.post("/accounts", json={"provider": "google", "email": EMAIL, "timezone": "UTC"})
    assert duplicate.status_code == 400
    broken = control.post("/accounts", content=b"{oops", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    calendar = control.post(f"/accounts/{EMAIL}/calendars", json={"name": "Family"})
    assert calendar.status_code == 201 and calendar.json()["name"] == "Family"
    assert control.post(f"/accounts/{EMAIL}/calendars", json={}).status_code == 400
    (account,) = [a for a in control.get("/accounts").json() if a["email"] == EMAIL]
    assert account["name"] == "Tess Tech"
    assert [c["name"] for c in account["calendars"]] == ["Tess Tech", "Family"]
    token = control.post(f"/accounts/{EMAIL}/token").json()
    assert token["access_token"] and token["expires_in"] > 3000 and token["refresh_token"]
    for path in ("token", "revoke", "expire-access", "invalidate-cursors", "calendars"):
        missing = control.post(f"/accounts/nobody@example.com/{path}", json={"name": "x"})
        assert missing.status_code == 404, path
        assert "nobody@example.com" in missing.json()["error"]
    assert control.get("/nowhere").status_code == 404


def test_seed_event_through_the_control_api(sandbox: Sandbox, control: httpx.Client) -> None:
    create_account(sandbox, EMAIL)
    seeded = control.post(
        f"/accounts/{EMAIL}/events",
        json={
            "summary": "Dentist",
            "start": "2026-12-01T10:00:00-06:00",
            "end": "2026-12-01T11:00:00-06:00",
            "private": True,
            "show_as": "free",
        },
    )
    assert seeded.status_code == 201, seeded.text
    bad = control.post(f"/accounts/{EMAIL}/events", json={"summary": "x", "start": "2026-12-01T10:00:00"})
    assert bad.status_code == 400 and "offset" in bad.json()["error"]
    with calendar_service(sandbox, credentials(sandbox, EMAIL)) as cal:
        (item,) = cal.events().list(calendarId="primary").execute()["items"]
    assert (item["summary"], item["visibility"], item["transparency"]) == (
        "Dentist",
        "private",
        "transparent",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode", "count": 1},
        {"kind": "5xx"},
        {"kind": "5xx", "count": 1, "seconds": 2},
        {"kind": "5xx", "count": 0},
        {"kind": "5xx", "seconds": -1},
        {"kind": "5xx", "count": 1, "provider": "yahoo"},
        {"kind": "5xx", "count": 1, "status": 418},
        {"kind": "429", "count": 1, "retry_after": "soon"},
    ],
)
def test_fault_validation(control: httpx.Client, body: dict[str, Any]) -> None:
    response = control.post("/faults", json=body)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


def test_fault_for_unknown_account_is_404(control: httpx.Client) -> None:
    response = control.post("/faults", json={"kind": "5xx", "count": 1, "account": "nobody@example.com"})
    assert response.status_code == 404


def test_request_log_filters_by_account_and_since(sandbox: Sandbox, control: httpx.Client) -> None:
    create_account(sandbox, EMAIL)
    create_account(sandbox, "other@example.com")
    with calendar_service(sandbox, credentials(sandbox, EMAIL)) as cal:
        cal.colors().get().execute()
        middle = dt.datetime.now(dt.UTC)
        mark = control.get("/requests").json()[-1]["seq"]
        cal.calendarList().list().execute()
    with calendar_service(sandbox, credentials(sandbox, "other@example.com")) as other:
        other.colors().get().execute()
    mine = control.get("/requests", params={"account": EMAIL}).json()
    assert [e["path"] for e in mine] == ["/calendar/v3/colors", "/calendar/v3/users/me/calendarList"]
    assert all(set(e) >= {"seq", "time", "site", "method", "path", "status", "account"} for e in mine)
    after = control.get("/requests", params={"since": str(mark)}).json()
    assert [(e["account"], e["path"]) for e in after] == [
        (EMAIL, "/calendar/v3/users/me/calendarList"),
        ("other@example.com", "/calendar/v3/colors"),
    ]
    by_time = control.get("/requests", params={"since": middle.isoformat()}).json()
    assert [e["seq"] for e in by_time] == [e["seq"] for e in after]
    assert control.get("/requests", params={"since": "yesterday"}).status_code == 400


def test_a_cross_site_form_post_is_refused(sandbox: Sandbox, control: httpx.Client) -> None:
    """A web page can POST text/plain (or a form) to any address without a preflight: refused, and the
    account stays signed in."""
    create_account(sandbox, EMAIL)
    creds = credentials(sandbox, EMAIL)
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        refused = control.post(
            f"/accounts/{EMAIL}/revoke", content=b"{}", headers={"Content-Type": content_type}
        )
        assert refused.status_code == 415, content_type
        assert refused.json()["error"].endswith("application/json.")
    undeclared = control.post(f"/accounts/{EMAIL}/revoke", content=b'{"a": 1}', headers={"Content-Type": ""})
    assert undeclared.status_code == 415
    from_page = control.post(f"/accounts/{EMAIL}/revoke", headers={"Origin": "https://attacker.example"})
    assert from_page.status_code == 403 and "web pages" in from_page.json()["error"]
    with calendar_service(sandbox, creds) as cal:
        cal.colors().get().execute()  # the token issued before still works: nothing was revoked
    # Programs: JSON bodies, or no body at all, as before.
    assert control.post(f"/accounts/{EMAIL}/token", json={}).status_code == 200
    assert control.post("/push/pause").status_code == 200
    assert control.post("/push/resume", json=None).status_code == 200
    assert control.post(f"/accounts/{EMAIL}/revoke", json={}).status_code == 200


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("attacker.example:{port}", False),
        ("attacker.example", False),
        ("127.0.0.1.nip.io:{port}", False),
        ("localhost.attacker.example:{port}", False),
        ("127.0.0.1:1", False),  # another port
        ("localhost:{port}", True),
        ("LOCALHOST:{port}", True),
        ("127.0.0.1:{port}", True),
        ("[::1]:{port}", True),
    ],
)
def test_only_loopback_host_names_are_answered(
    sandbox: Sandbox, control: httpx.Client, host: str, allowed: bool
) -> None:
    """DNS rebinding: a page on attacker.example whose name now points at 127.0.0.1 sends its own Host."""
    create_account(sandbox, EMAIL)
    port = urlsplit(sandbox.urls.control).port
    headers = {"Host": host.format(port=port)}
    minted = control.post(f"/accounts/{EMAIL}/token", json={}, headers=headers)
    listed = control.get("/accounts", headers=headers)
    if allowed:
        assert minted.status_code == 200 and listed.status_code == 200
    else:
        assert minted.status_code == 403 and listed.status_code == 403
        message = minted.json()["error"]
        assert "localhost" in message and message.endswith(".") and "access_token" not in minted.text


def _exchange(address: str, request: bytes) -> bytes:
    """Send one raw request on a fresh connection; everything that came back before it closed."""
    where = urlsplit(address)
    answer = b""
    with socket.create_connection((where.hostname, where.port), timeout=10) as raw:
        raw.sendall(request)
        with contextlib.suppress(ConnectionResetError):
            while chunk := raw.recv(65536):
                answer += chunk
    return answer


def test_request_log_counts_the_bytes_of_each_message_as_sent(
    sandbox: Sandbox, control: httpx.Client
) -> None:
    """Sizes are HTTP/1.1 messages as they cross the wire (before TLS), checked on a raw socket."""
    create_account(sandbox, EMAIL)
    token = issue_token(sandbox, EMAIL)["access_token"]
    body = json.dumps(timed("Sized", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")).encode()
    request = (
        f"POST /calendar/v3/calendars/primary/events HTTP/1.1\r\nHost: {urlsplit(sandbox.urls.google).netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    answer = _exchange(sandbox.urls.google, request)
    assert answer.startswith(b"HTTP/1.1 200")
    [entry] = control.get("/requests", params={"account": EMAIL}).json()
    assert (entry["bytes_in"], entry["bytes_out"]) == (len(request), len(answer))

    control.post("/faults", json={"kind": "reset", "count": 1, "account": EMAIL})
    assert _exchange(sandbox.urls.google, request) == b""
    dropped = control.get("/requests", params={"account": EMAIL}).json()[-1]
    assert (dropped["fault"], dropped["bytes_in"], dropped["bytes_out"]) == ("reset", len(request), 0)


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with Sandbox() as first:
        assert first.running
    assert not first.running
    box = Sandbox()
    box.start(state_file=state)
    try:
        create_account(box, EMAIL)
        creds = credentials(box, EMAIL)
        with calendar_service(box, creds) as cal:
            event = (
                cal.events()
                .insert(
                    calendarId="primary", body=timed("Kept", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
                )
                .execute()
            )
            sync_token = cal.events().list(calendarId="primary").execute()["nextSyncToken"]
    finally:
        box.stop()
    saved = json.loads(state.read_text())
    assert saved["version"] == 1 and "google" in saved["providers"]

    again = Sandbox()
    again.start(state_file=state, seed="demo")  # a loaded state is not seeded over
    try:
        with calendar_service(again, creds) as cal:
            assert cal.events().get(calendarId="primary", eventId=event["id"]).execute()["summary"] == "Kept"
            assert cal.events().list(calendarId="primary", syncToken=sync_token).execute()["items"] == []
        emails = [a["email"] for a in again.google.accounts()]
        assert emails == [EMAIL]
    finally:
        again.stop()


def test_state_is_saved_while_running(tmp_path: Path) -> None:
    state = tmp_path / "live.json"
    box = Sandbox()
    box.start(state_file=state)
    try:
        create_account(box, EMAIL)
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
        while dt.datetime.now(dt.UTC) < deadline:
            accounts = json.loads(state.read_text())["providers"]["google"]["accounts"]
            if accounts:
                break
            time.sleep(0.05)
        assert [a["email"] for a in accounts] == [EMAIL]
    finally:
        box.stop()
    assert not list(tmp_path.glob(".live.json.*"))  # no temporary files left behind


def test_demo_seed_gives_a_realistic_week() -> None:
    now = dt.datetime(2026, 11, 26, 15, 0, tzinfo=dt.UTC)
    box = Sandbox(clock=lambda: now)
    box.start(seed="demo")
    try:
        google_accounts = box.google.accounts()
        assert len(google_accounts) == 3
        assert {a["timezone"] for a in google_accounts} == {"America/Chicago", "America/Los_Angeles"}
        if box.microsoft is not None:
            assert len(box.microsoft.accounts()) == 2
        email = google_accounts[0]["email"]
        assert [c["name"] for c in google_accounts[0]["calendars"]][1] == "Family"
        with calendar_service(box, credentials(box, email)) as cal:
            items = (
                cal.events()
                .list(
                    calendarId="primary",
                    singleEvents=True,
                    orderBy="startTime",
                    timeMin="2026-10-01T00:00:00Z",
                    timeMax="2026-11-30T06:00:00Z",
                )
                .execute()["items"]
            )
            second = next(c["id"] for c in google_accounts[0]["calendars"] if not c["primary"])
            other = cal.events().list(calendarId=second).execute()["items"]
    finally:
        box.stop()
    zone = ZoneInfo("America/Chicago")
    meetings = [
        dt.datetime.fromisoformat(i["start"]["dateTime"]) for i in items if i["summary"] == "Team meeting"
    ]
    offsets = {m.utcoffset() for m in meetings}
    assert len(offsets) == 2  # the series crosses the 2026-11-01 DST change
    assert {m.astimezone(zone).time() for m in meetings} == {dt.time(7, 30)}
    week = [i for i in items if i["summary"] != "Team meeting"]
    by_summary = {i["summary"]: i for i in week}
    assert by_summary["PTO"]["start"] == {"date": "2026-11-27"}
    assert by_summary["Paperwork focus time"]["transparency"] == "transparent"
    assert by_summary["Parent-teacher conference"]["visibility"] == "private"
    assert by_summary["Maybe: pick up parts at warehouse"]["status"] == "tentative"
    responses = {
        s: [a["responseStatus"] for a in i.get("attendees", []) if a.get("self")]
        for s, i in by_summary.items()
    }
    assert responses["Vendor webinar"] == ["declined"]
    assert responses["Supplier walkthrough (invitation)"] == ["tentative"]
    assert dt.datetime.fromisoformat(
        by_summary["Dentist appointment"]["start"]["dateTime"]
    ).date() == dt.date(2026, 11, 24)
    assert [i["summary"] for i in other] == ["Family: Saturday commitment"]


def test_cli_refuses_a_remote_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "--allow-remote" in err and err.count("\n") == 1
    assert cli.main(["--seed", "lots"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_prints_urls_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "cli.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "sync.sandbox.cli", "--seed", "demo", "--state", str(state)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        urls = json.loads(line)
        assert set(urls) == {"google", "microsoft", "graph", "control", "ca"}
        with httpx.Client(trust_env=False) as client:
            accounts = client.get(f"{urls['control']}/accounts").json()
        assert len(accounts) >= 3
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
    assert json.loads(state.read_text())["providers"]["google"]["accounts"]
