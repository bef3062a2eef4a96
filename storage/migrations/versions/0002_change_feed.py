"""The change feed (table `changes`) and the desk that wrote each audit entry.

`changes.seq` is a plain BIGINT primary key, not an identity column or sequence: the writer
numbers its entries while holding the store's write lock (see storage.change_feed.record), which
keeps the numbers gap-free and in commit order. Audit entries written before desks existed keep
a NULL desk.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.String(length=32).with_variant(sa.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=200), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("desk", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_changes"),
    )
    op.add_column("audit_log", sa.Column("desk", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("desk")
    op.drop_table("changes")
