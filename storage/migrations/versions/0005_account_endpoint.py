"""`calendar_accounts.sandbox_url` becomes `endpoint`: where the account's calendar service answers.

The value is unchanged (the directory URL of a compatible server, such as the provider sandbox;
NULL for Google's and Microsoft's own services): only the product's name for it changes, so
the product no longer speaks of the sandbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calendar_accounts") as batch:
        batch.alter_column("sandbox_url", new_column_name="endpoint", existing_type=sa.String(length=2000))


def downgrade() -> None:
    with op.batch_alter_table("calendar_accounts") as batch:
        batch.alter_column("endpoint", new_column_name="sandbox_url", existing_type=sa.String(length=2000))
