"""Sealed sign-ins on their way from a desk to the office service (see sync.token_handover).

The rows hold only ciphertext; nothing here can open it, and nothing here decides who may.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select

from storage.orm import TokenHandoverRow
from storage.repositories.base import SqlRepository


@dataclass(frozen=True, slots=True)
class SealedHandover:
    id: str
    token_ref: str  # the keyring entry the token goes to, e.g. "google:pat@example.com"
    key_fingerprint: str  # whose key it is sealed to
    sealed: str  # base64 ciphertext
    desk: str  # who handed it over
    created_at: datetime


class SqlTokenHandoverRepository(SqlRepository):
    def add(self, handover: SealedHandover) -> None:
        self._session.add(
            TokenHandoverRow(
                id=handover.id,
                token_ref=handover.token_ref,
                key_fingerprint=handover.key_fingerprint,
                sealed=handover.sealed,
                desk=handover.desk,
                created_at=handover.created_at,
            )
        )

    def for_key(self, fingerprint: str) -> list[SealedHandover]:
        """Rows sealed to the key `fingerprint`, oldest first (a later sign-in wins when both land)."""
        rows = self._session.scalars(
            select(TokenHandoverRow)
            .where(TokenHandoverRow.key_fingerprint == fingerprint)
            .order_by(TokenHandoverRow.created_at, TokenHandoverRow.id)
        )
        return [
            SealedHandover(r.id, r.token_ref, r.key_fingerprint, r.sealed, r.desk, r.created_at) for r in rows
        ]

    def remove(self, handover_id: str) -> None:
        row = self._session.get(TokenHandoverRow, handover_id)
        if row is not None:
            self._session.delete(row)

    def remove_older_than(self, cutoff: datetime) -> int:
        """Forget rows nobody claimed since `cutoff`; how many went."""
        result = cast(
            CursorResult[Any],
            self._session.execute(delete(TokenHandoverRow).where(TokenHandoverRow.created_at < cutoff)),
        )
        return int(result.rowcount or 0)

    def count(self) -> int:
        return len(list(self._session.scalars(select(TokenHandoverRow.id))))
