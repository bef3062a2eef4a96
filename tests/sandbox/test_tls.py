"""The sandbox's TLS certificate is dated from the real clock, whatever the sandbox's simulated day.

Clients check a certificate against the machine's clock, so a sandbox simulating a day weeks away
from today must still serve a certificate that is valid now.
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from sync.sandbox.server import Sandbox


@pytest.mark.parametrize("offset_days", [-400, -35, 35, 400])
def test_the_certificate_is_valid_now_whatever_the_simulated_day(offset_days: int) -> None:
    simulated = dt.datetime.now(dt.UTC) + dt.timedelta(days=offset_days)
    box = Sandbox(clock=lambda: simulated)
    urls = box.start()
    try:
        assert urls.microsoft is not None
        ca = x509.load_pem_x509_certificate(Path(urls.ca).read_bytes())
        now = dt.datetime.now(dt.UTC)
        assert ca.not_valid_before_utc <= now <= ca.not_valid_after_utc
        context = ssl.create_default_context(cafile=urls.ca)
        with httpx.Client(verify=context, trust_env=False, timeout=10) as client:
            # Any answer at all means the TLS handshake (and so the date check) succeeded.
            answer = client.get(urls.microsoft.rstrip("/") + "/common/v2.0/.well-known/openid-configuration")
        assert answer.status_code < 500
    finally:
        box.stop()
