"""Calendar accounts (one sign-in each) and the calendars they hold."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, bindparam, select, update

from app.domain.ids import AccountId, CalendarId, TechId
from app.domain.model import Calendar, CalendarAccount
from storage.orm import CalendarAccountRow, CalendarRow
from storage.repositories.base import SqlRepository, assign, existing


def _account_values(account: CalendarAccount) -> dict[str, Any]:
    return {
        "tech_id": account.tech_id,
        "provider": account.provider,
        "email": account.email,
        "token_ref": account.token_ref,  # a keyring entry's name, never the token
        "status": account.status,
        "endpoint": account.endpoint,
    }


def _account(row: CalendarAccountRow) -> CalendarAccount:
    return CalendarAccount(
        id=AccountId(row.id),
        tech_id=TechId(row.tech_id),
        provider=row.provider,
        email=row.email,
        token_ref=row.token_ref,
        status=row.status,
        endpoint=row.endpoint,
    )


class SqlCalendarAccountRepository(SqlRepository):
    def add(self, account: CalendarAccount) -> None:
        self._session.add(CalendarAccountRow(id=account.id, **_account_values(account)))

    def update(self, account: CalendarAccount) -> None:
        row = existing(self._session, CalendarAccountRow, account.id, "calendar account")
        assign(row, _account_values(account))

    def get(self, account_id: AccountId) -> CalendarAccount | None:
        row = self._session.get(CalendarAccountRow, account_id)
        return None if row is None else _account(row)

    def for_tech(self, tech_id: TechId) -> builtins.list[CalendarAccount]:
        query = (
            select(CalendarAccountRow)
            .where(CalendarAccountRow.tech_id == tech_id)
            .order_by(CalendarAccountRow.email, CalendarAccountRow.id)
        )
        return [_account(row) for row in self._session.scalars(query)]

    def list(self) -> builtins.list[CalendarAccount]:
        query = select(CalendarAccountRow).order_by(
            CalendarAccountRow.tech_id, CalendarAccountRow.email, CalendarAccountRow.id
        )
        return [_account(row) for row in self._session.scalars(query)]


def _calendar_values(calendar: Calendar) -> dict[str, Any]:
    return {
        "account_id": calendar.account_id,
        "remote_id": calendar.remote_id,
        "name": calendar.name,
        "primary": calendar.primary,
        "blocks": calendar.blocks,
        "sync_cursor": calendar.sync_cursor,
        "channel_id": calendar.channel_id,
        "channel_resource_id": calendar.channel_resource_id,
        "channel_expires": calendar.channel_expires,
    }


def _calendar(row: CalendarRow) -> Calendar:
    return Calendar(
        id=CalendarId(row.id),
        account_id=AccountId(row.account_id),
        remote_id=row.remote_id,
        name=row.name,
        primary=row.primary,
        blocks=row.blocks,
        sync_cursor=row.sync_cursor,
        channel_id=row.channel_id,
        channel_resource_id=row.channel_resource_id,
        channel_expires=row.channel_expires,
    )


def _primary_first(query: Select[CalendarRow]) -> Select[CalendarRow]:
    return query.order_by(CalendarRow.primary.desc(), CalendarRow.name, CalendarRow.id)


class SqlCalendarRepository(SqlRepository):
    def add(self, calendar: Calendar) -> None:
        self._session.add(CalendarRow(id=calendar.id, **_calendar_values(calendar)))

    def update(self, calendar: Calendar) -> None:
        assign(existing(self._session, CalendarRow, calendar.id, "calendar"), _calendar_values(calendar))

    def move_cursors(self, moves: Mapping[CalendarId, tuple[str | None, str]]) -> None:
        # One statement for a round's quiet reads; the change feed ignores cursors, so no note.
        # Compare-and-set: a cursor reset meanwhile (a forced full read) is not overwritten.
        if not moves:
            return
        statement = (
            update(CalendarRow)
            .where(
                CalendarRow.id == bindparam("calendar_id"),
                CalendarRow.sync_cursor.is_not_distinct_from(bindparam("old")),
            )
            .values(sync_cursor=bindparam("new"))
            .execution_options(synchronize_session=False)
        )
        self._session.connection().execute(
            statement,
            [{"calendar_id": cid, "old": old, "new": new} for cid, (old, new) in moves.items()],
        )

    def get(self, calendar_id: CalendarId) -> Calendar | None:
        row = self._session.get(CalendarRow, calendar_id)
        return None if row is None else _calendar(row)

    def by_remote_id(self, account_id: AccountId, remote_id: str) -> Calendar | None:
        query = select(CalendarRow).where(
            CalendarRow.account_id == account_id, CalendarRow.remote_id == remote_id
        )
        row = self._session.scalars(query).one_or_none()
        return None if row is None else _calendar(row)

    def for_account(self, account_id: AccountId) -> builtins.list[Calendar]:
        query = _primary_first(select(CalendarRow).where(CalendarRow.account_id == account_id))
        return [_calendar(row) for row in self._session.scalars(query)]

    def list(self) -> builtins.list[Calendar]:
        query = _primary_first(select(CalendarRow).order_by(CalendarRow.account_id))
        return [_calendar(row) for row in self._session.scalars(query)]
