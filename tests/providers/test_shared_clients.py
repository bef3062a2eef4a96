"""What every account of the process shares: Google's request builders and the TLS context."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sync.providers.google_shared_api import calendar_api
from sync.providers.tls import tls_context
from sync.sandbox.tls import create_tls


def test_google_request_builders_are_built_once_per_endpoint() -> None:
    first = calendar_api("https://calendar.example.test/calendar/v3/")
    again = calendar_api("https://calendar.example.test/calendar/v3/")
    other = calendar_api("https://other.example.test/calendar/v3/")
    assert again is first
    assert other is not first
    request = first.events.list(calendarId="primary")
    assert request.uri.startswith("https://calendar.example.test/calendar/v3/calendars/primary/events")


def test_a_google_request_without_its_accounts_transport_is_refused() -> None:
    request = calendar_api("https://calendar.example.test/calendar/v3/").events.list(calendarId="primary")
    with pytest.raises(RuntimeError, match="without its account's credentials"):
        request.execute(num_retries=0)


def test_one_tls_context_serves_every_client_of_a_trust_setting() -> None:
    assert tls_context() is tls_context()
    material = create_tls()
    try:
        private = tls_context(str(material.ca_path))
        assert private is tls_context(str(material.ca_path))
        assert private is not tls_context()
    finally:
        material.cleanup()


def test_a_ca_file_written_anew_is_read_anew(tmp_path: Path) -> None:
    first, second = create_tls(), create_tls()
    try:
        ca = tmp_path / "ca.pem"
        shutil.copyfile(first.ca_path, ca)
        before = tls_context(str(ca))
        shutil.copyfile(second.ca_path, ca)
        stamp = ca.stat().st_mtime_ns + 1_000_000_000  # a later write, even on a coarse clock
        os.utime(ca, ns=(stamp, stamp))
        after = tls_context(str(ca))
        assert after is not before
        assert len(after.get_ca_certs()) == 1  # the new authority only
    finally:
        first.cleanup()
        second.cleanup()
