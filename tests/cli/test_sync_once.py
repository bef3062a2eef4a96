"""`crewboard sync --once` over in-memory calendars: it counts the events it wrote, and an account
that failed makes it exit non-zero, named on stderr."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.domain.ids import AccountId, CalendarId, new_id
from app.domain.model import Calendar, CalendarAccount, Provider
from app.errors import AccountsFailing
from app.services.ports import RemoteCalendar
from storage.database import open_database
from sync.providers.fake import InMemoryCalendarProvider
from tests.cli.conftest import Result

Cli = Callable[..., Result]


class Phone(InMemoryCalendarProvider):
    """The tech's calendar, outliving each `crewboard sync` that closes its connection."""

    async def aclose(self) -> None:
        pass


def _connect(cli: Cli, name: str) -> tuple[CalendarAccount, InMemoryCalendarProvider]:
    """A tech whose primary calendar lives in memory, as `crewboard connect` would leave it."""
    added = cli(
        "tech", "add", name, "--email", f"{name.lower()}@example.com", "--timezone", "America/Chicago"
    )
    assert added.code == 0, added.err
    database = open_database(os.environ["CREWBOARD_DB"])
    try:
        with database.unit_of_work() as uow:
            tech = uow.techs.by_name(name)
            assert tech is not None
            account = CalendarAccount(
                id=AccountId(new_id()),
                tech_id=tech.id,
                provider=Provider.GOOGLE,
                email=f"{name.lower()}@gmail.test",
                token_ref=f"google:{name.lower()}@gmail.test",
            )
            uow.accounts.add(account)
            uow.calendars.add(
                Calendar(CalendarId(new_id()), account.id, "primary", name, primary=True, blocks=True)
            )
            uow.commit()
    finally:
        database.dispose()
    return account, Phone([RemoteCalendar("primary", name, True)])


@pytest.fixture
def phones(monkeypatch: pytest.MonkeyPatch) -> dict[AccountId, InMemoryCalendarProvider]:
    """The in-memory calendars `crewboard sync` opens instead of Google's."""
    found: dict[AccountId, InMemoryCalendarProvider] = {}

    def open_provider(account: CalendarAccount, store: Any, **_: Any) -> InMemoryCalendarProvider:
        return found[account.id]

    monkeypatch.setattr("sync.providers.factory.open_provider", open_provider)
    return found


def _book(cli: Cli, tech: str, jobs: int) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date()
    for n in range(jobs):
        booked = cli(
            "book", "--tech", tech, "--customer", f"Customer {n}", "--service", "AC repair",
            "--start", f"{tomorrow.isoformat()}T{8 + n // 2:02d}:{30 * (n % 2):02d}",
            "--duration", "30", "--force",
        )  # fmt: skip
        assert booked.code == 0, booked.err


def test_sync_once_counts_each_event_it_wrote(
    cli: Cli, phones: dict[AccountId, InMemoryCalendarProvider]
) -> None:
    account, phone = _connect(cli, "Maria")
    phones[account.id] = phone
    _book(cli, "Maria", 10)
    result = cli("sync", "--once")
    assert result.code == 0, result.err
    assert len([e for e in phone.events("primary") if e.booking_id is not None]) == 10
    assert "10 write(s)" in result.out, result.out
    again = cli("sync", "--once")
    assert again.code == 0 and "0 write(s)" in again.out, again.out


def test_sync_once_fails_naming_the_account_that_failed(
    cli: Cli, phones: dict[AccountId, InMemoryCalendarProvider]
) -> None:
    maria, maria_phone = _connect(cli, "Maria")
    sam, sam_phone = _connect(cli, "Sam")
    phones.update({maria.id: maria_phone, sam.id: sam_phone})
    _book(cli, "Sam", 2)
    sam_phone.fail_next("transient", count=50)
    result = cli("sync", "--once")
    assert result.code == AccountsFailing.exit_code == 5
    assert result.err.startswith("crewboard: Sync failed for 1 account(s)")
    assert "Sam (google sam@gmail.test)" in result.err and "Maria" not in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert "Maria (google maria@gmail.test): 1 calendar(s) read" in result.out
