"""Maria, the office tests' technician: her Google sign-in at a desk and her phone, on the sandbox.

The office tests (the service, a store restart, the token hand-over) each sign her in through the
sandbox's real OAuth pages and read her calendar as her phone does; this is that, once.
"""

from __future__ import annotations

import httpx

from app.domain.model import Provider
from app.services.container import Services
from sync.providers.endpoints import read_endpoints
from sync.providers.google_auth import GoogleConnector
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox

EMAIL = "maria@example.com"
NAME = "Maria Lopez"


def sign_in(sandbox: Sandbox, services: Services, store: TokenStore) -> None:
    """Maria signs in at the desk through the sandbox's OAuth pages; her token goes to `store`."""
    connector = GoogleConnector(
        read_endpoints(sandbox.urls.control).google_settings(),
        store,
        browser=SandboxApprover(EMAIL),
        timeout=20,
    )
    try:
        services.accounts.connect(NAME, Provider.GOOGLE, connector)
    finally:
        connector.close()


def phone(sandbox: Sandbox, control: httpx.Client) -> httpx.Client:
    """Maria's phone: the Calendar API with her own token."""
    token = control.post(f"/accounts/{EMAIL}/token").json()["access_token"]
    return httpx.Client(
        base_url=f"{sandbox.urls.google}/calendar/v3/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        trust_env=False,
    )
