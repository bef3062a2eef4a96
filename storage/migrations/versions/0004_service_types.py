"""The booking page's tables: service types, qualified techs, automatic assignments, online jobs.

Bookings keep their free-text service; these tables only add to them (a row in online_bookings
marks a job booked on the page, a row in auto_assignments one assigned by rule).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.String(length=32).with_variant(sa.TIMESTAMP(timezone=True), "postgresql")
ID = sa.String(length=32)


def _fk(column: str, target: str, ondelete: str, name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [target], name=name, ondelete=ondelete, deferrable=True, initially="DEFERRED"
    )


def upgrade() -> None:
    op.create_table(
        "service_types",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("buffer_after", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_types"),
        sa.UniqueConstraint("name_key", name="uq_service_types_name_key"),
    )
    op.create_table(
        "service_type_techs",
        sa.Column("service_type_id", ID, nullable=False),
        sa.Column("tech_id", ID, nullable=False),
        _fk("service_type_id", "service_types.id", "CASCADE", "fk_service_type_techs_service_type_id_service_types"),
        _fk("tech_id", "technicians.id", "CASCADE", "fk_service_type_techs_tech_id_technicians"),
        sa.PrimaryKeyConstraint("service_type_id", "tech_id", name="pk_service_type_techs"),
    )
    op.create_table(
        "auto_assignments",
        sa.Column("booking_id", ID, nullable=False),
        sa.Column("tech_id", ID, nullable=False),
        sa.Column("assigned_at", INSTANT, nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("service_type_id", ID, nullable=True),
        _fk("booking_id", "bookings.id", "CASCADE", "fk_auto_assignments_booking_id_bookings"),
        _fk("tech_id", "technicians.id", "CASCADE", "fk_auto_assignments_tech_id_technicians"),
        _fk("service_type_id", "service_types.id", "SET NULL", "fk_auto_assignments_service_type_id_service_types"),
        sa.PrimaryKeyConstraint("booking_id", name="pk_auto_assignments"),
    )
    op.create_index(
        "ix_auto_assignments_tech_id_assigned_at", "auto_assignments", ["tech_id", "assigned_at"]
    )
    op.create_table(
        "online_bookings",
        sa.Column("booking_id", ID, nullable=False),
        sa.Column("service_type_id", ID, nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        _fk("booking_id", "bookings.id", "CASCADE", "fk_online_bookings_booking_id_bookings"),
        _fk("service_type_id", "service_types.id", "SET NULL", "fk_online_bookings_service_type_id_service_types"),
        sa.PrimaryKeyConstraint("booking_id", name="pk_online_bookings"),
    )


def downgrade() -> None:
    op.drop_table("online_bookings")
    op.drop_index("ix_auto_assignments_tech_id_assigned_at", table_name="auto_assignments")
    op.drop_table("auto_assignments")
    op.drop_table("service_type_techs")
    op.drop_table("service_types")
