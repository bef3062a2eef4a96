"""The soak, short: three techs on both providers, faults of every kind and a few SIGKILLs of the sync,
which listens for push notices from the sandbox's channels as it does in the long one.

`make soak` runs the long version (ten techs, at least 30 kills); this one keeps the same checks in
every `make test` run.
"""

from __future__ import annotations

import pytest

from sync.providers.secrets import TokenStore
from tests.accounts.conftest import keyring_problem, token_store
from tests.soak.runner import FAULT_KINDS, SoakConfig, run_soak

__all__ = ["keyring_problem", "token_store"]

pytestmark = [pytest.mark.keyring, pytest.mark.slow]


@pytest.mark.timeout(300)
def test_a_short_soak_loses_nothing_and_doubles_nothing(token_store: TokenStore) -> None:
    result = run_soak(
        SoakConfig(seconds=50, techs=3, min_kills=4, kill_every=(3.0, 8.0), settle_seconds=100, echo=False),
        store=token_store,
    )
    print(result.text())
    assert result.ok, result.text()
    assert result.lost == 0 and result.duplicated == 0
    assert result.kills >= 4
    assert all(result.faults_injected[kind] > 0 for kind in FAULT_KINDS)
    assert result.live_bookings > 0 and result.booking_events > 0 and result.personal_events > 0
    assert result.push_address is not None and result.push["delivered"] > 0
    assert 0 < result.channels_live - result.channels_stray <= result.calendars  # the channels calendars hold
