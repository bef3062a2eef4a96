"""Outbox rows say only "this booking changed": the `action` and `idempotency_key` columns go.

The sync planner decides what to write from the booking, the calendar and their last agreement;
it never read either column, and the providers' own idempotency (Google's client-chosen event
id, Graph's transactionId) is derived from the booking, not from the row. A downgrade gives
every waiting row the action "update" and its own id as key: the planner of that version reads
neither, so the rows still do what they did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_idempotency_key", type_="unique")
        batch.drop_column("idempotency_key")
        batch.drop_column("action")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("action", sa.String(length=32), nullable=False, server_default="update"))
        batch.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
    op.execute("UPDATE outbox SET idempotency_key = id")
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("action", existing_type=sa.String(length=32), server_default=None)
        batch.alter_column("idempotency_key", existing_type=sa.String(length=200), nullable=False)
        batch.create_unique_constraint("uq_outbox_idempotency_key", ["idempotency_key"])
