"""`token_handovers`: calendar sign-ins sealed by a desk to the office service's public key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.String(length=32).with_variant(sa.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "token_handovers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_ref", sa.String(length=400), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=100), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("desk", sa.String(length=200), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_token_handovers"),
    )
    op.create_index("ix_token_handovers_key_fingerprint", "token_handovers", ["key_fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_token_handovers_key_fingerprint", table_name="token_handovers")
    op.drop_table("token_handovers")
