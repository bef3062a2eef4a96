"""The initial schema: every table of the domain model, plus settings and the sync lock.

Columns use the stored forms of storage.types (instants as 32-character UTC text, or timestamptz
on PostgreSQL; dates as YYYY-MM-DD, durations as whole seconds, enums by value as text), so this
script never changes when those Python types do. Nothing here is SQLite-only: no batch operations
(tables are created whole), no server defaults, and the same script builds a PostgreSQL store.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An instant: 32-character UTC text on SQLite (see storage.types.UtcDateTime), timestamptz on PostgreSQL.
INSTANT = sa.String(length=32).with_variant(sa.TIMESTAMP(timezone=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.String(length=32), nullable=True),
        sa.Column("account_id", sa.String(length=32), nullable=True),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_booking_id", "audit_log", ["booking_id"])
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
    )
    op.create_index("ix_customers_name_key", "customers", ["name_key"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.create_table(
        "sync_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=400), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("acquired_at", INSTANT, nullable=False),
        sa.Column("heartbeat_at", INSTANT, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_sync_lock_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_sync_lock"),
    )
    op.create_table(
        "technicians",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=False),
        sa.Column("tentative_blocks", sa.Boolean(), nullable=False),
        sa.Column("calendar_blocking", sa.String(length=32), nullable=False),
        sa.Column("notify_email", sa.String(length=320), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_technicians"),
    )
    op.create_index("ix_technicians_name_key", "technicians", ["name_key"])
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("tech_id", sa.String(length=32), nullable=True),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("start", INSTANT, nullable=True),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("end", INSTANT, nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=True),
        sa.Column("updated_at", INSTANT, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_bookings_customer_id_customers",
            ondelete="RESTRICT",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["tech_id"],
            ["technicians.id"],
            name="fk_bookings_tech_id_technicians",
            ondelete="SET NULL",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bookings"),
    )
    op.create_index("ix_bookings_customer_id", "bookings", ["customer_id"])
    op.create_index("ix_bookings_end_start", "bookings", ["end", "start"])
    op.create_index("ix_bookings_tech_id_end_start", "bookings", ["tech_id", "end", "start"])
    op.create_table(
        "calendar_accounts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tech_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("token_ref", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("sandbox_url", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["tech_id"],
            ["technicians.id"],
            name="fk_calendar_accounts_tech_id_technicians",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_calendar_accounts"),
    )
    op.create_index("ix_calendar_accounts_tech_id", "calendar_accounts", ["tech_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("audience", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created", INSTANT, nullable=False),
        sa.Column("delivered", INSTANT, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("tech_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["tech_id"],
            ["technicians.id"],
            name="fk_notifications_tech_id_technicians",
            ondelete="SET NULL",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index("ix_notifications_created", "notifications", ["created"])
    op.create_index("ix_notifications_delivered", "notifications", ["delivered"])
    op.create_table(
        "time_off",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tech_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("start", INSTANT, nullable=True),
        sa.Column("end", INSTANT, nullable=True),
        sa.Column("first_day", sa.String(length=10), nullable=True),
        sa.Column("end_day", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["tech_id"],
            ["technicians.id"],
            name="fk_time_off_tech_id_technicians",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_time_off"),
    )
    op.create_index("ix_time_off_tech_id", "time_off", ["tech_id"])
    op.create_table(
        "calendars",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("remote_id", sa.String(length=1024), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.Column("blocks", sa.Boolean(), nullable=False),
        sa.Column("sync_cursor", sa.Text(), nullable=True),
        sa.Column("channel_id", sa.String(length=400), nullable=True),
        sa.Column("channel_resource_id", sa.String(length=1024), nullable=True),
        sa.Column("channel_expires", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["calendar_accounts.id"],
            name="fk_calendars_account_id_calendar_accounts",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_calendars"),
        sa.UniqueConstraint("account_id", "remote_id", name="uq_calendars_account_id_remote_id"),
    )
    op.create_table(
        "sync_health",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("last_success", INSTANT, nullable=True),
        sa.Column("failing_since", INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("last_read", INSTANT, nullable=True),
        sa.Column("last_write", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["calendar_accounts.id"],
            name="fk_sync_health_account_id_calendar_accounts",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_sync_health"),
    )
    op.create_table(
        "busy_blocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tech_id", sa.String(length=32), nullable=False),
        sa.Column("start", INSTANT, nullable=False),
        sa.Column("end", INSTANT, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("calendar_id", sa.String(length=32), nullable=False),
        sa.Column("remote_id", sa.String(length=1024), nullable=False),
        sa.Column("occurrence_remote_id", sa.String(length=1024), nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("tentative", sa.Boolean(), nullable=False),
        sa.Column("calendar_name", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
            name="fk_busy_blocks_calendar_id_calendars",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["tech_id"],
            ["technicians.id"],
            name="fk_busy_blocks_tech_id_technicians",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_busy_blocks"),
    )
    op.create_index("ix_busy_blocks_calendar_id_remote_id", "busy_blocks", ["calendar_id", "remote_id"])
    op.create_index("ix_busy_blocks_tech_id_start_end", "busy_blocks", ["tech_id", "start", "end"])
    op.create_table(
        "conflicts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("tech_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("opened_at", INSTANT, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("remote_id", sa.String(length=1024), nullable=True),
        sa.Column("calendar_id", sa.String(length=32), nullable=True),
        sa.Column("other_start", INSTANT, nullable=True),
        sa.Column("other_end", INSTANT, nullable=True),
        sa.Column("other_title", sa.Text(), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", INSTANT, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name="fk_conflicts_booking_id_bookings",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
            name="fk_conflicts_calendar_id_calendars",
            ondelete="SET NULL",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["tech_id"],
            ["technicians.id"],
            name="fk_conflicts_tech_id_technicians",
            ondelete="SET NULL",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conflicts"),
    )
    op.create_index("ix_conflicts_booking_id", "conflicts", ["booking_id"])
    op.create_index("ix_conflicts_status", "conflicts", ["status"])
    op.create_table(
        "event_links",
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("calendar_id", sa.String(length=32), nullable=False),
        sa.Column("remote_id", sa.String(length=1024), nullable=False),
        sa.Column("etag", sa.String(length=400), nullable=True),
        sa.Column("content_hash", sa.String(length=128), nullable=False),
        sa.Column("booking_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name="fk_event_links_booking_id_bookings",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
            name="fk_event_links_calendar_id_calendars",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("booking_id", name="pk_event_links"),
        sa.UniqueConstraint("calendar_id", "remote_id", name="uq_event_links_calendar_id_remote_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("tech_id", sa.String(length=32), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("calendar_id", sa.String(length=32), nullable=True),
        sa.Column("remote_id", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name="fk_outbox_booking_id_bookings",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
            name="fk_outbox_calendar_id_calendars",
            ondelete="SET NULL",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["tech_id"],
            ["technicians.id"],
            name="fk_outbox_tech_id_technicians",
            ondelete="SET NULL",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox"),
        sa.UniqueConstraint("id", name="uq_outbox_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )
    op.create_index("ix_outbox_booking_id", "outbox", ["booking_id"])
    op.create_table(
        "remote_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("calendar_id", sa.String(length=32), nullable=False),
        sa.Column("remote_id", sa.String(length=1024), nullable=False),
        sa.Column("etag", sa.String(length=400), nullable=False),
        sa.Column("start", INSTANT, nullable=True),
        sa.Column("end", INSTANT, nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.String(length=10), nullable=True),
        sa.Column("end_date", sa.String(length=10), nullable=True),
        sa.Column("show_as", sa.String(length=32), nullable=False),
        sa.Column("response", sa.String(length=32), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("recurrence", sa.Text(), nullable=False),
        sa.Column("master_remote_id", sa.String(length=1024), nullable=True),
        sa.Column("original_start", INSTANT, nullable=True),
        sa.Column("original_start_date", sa.String(length=10), nullable=True),
        sa.Column("booking_id", sa.String(length=32), nullable=True),
        sa.Column("updated", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
            name="fk_remote_events_calendar_id_calendars",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_remote_events"),
        sa.UniqueConstraint("calendar_id", "remote_id", name="uq_remote_events_calendar_id_remote_id"),
    )
    op.create_index("ix_remote_events_booking_id", "remote_events", ["booking_id"])
    op.create_index(
        "ix_remote_events_calendar_id_master_remote_id", "remote_events", ["calendar_id", "master_remote_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_remote_events_calendar_id_master_remote_id", table_name="remote_events")
    op.drop_index("ix_remote_events_booking_id", table_name="remote_events")
    op.drop_table("remote_events")
    op.drop_index("ix_outbox_booking_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("event_links")
    op.drop_index("ix_conflicts_status", table_name="conflicts")
    op.drop_index("ix_conflicts_booking_id", table_name="conflicts")
    op.drop_table("conflicts")
    op.drop_index("ix_busy_blocks_tech_id_start_end", table_name="busy_blocks")
    op.drop_index("ix_busy_blocks_calendar_id_remote_id", table_name="busy_blocks")
    op.drop_table("busy_blocks")
    op.drop_table("sync_health")
    op.drop_table("calendars")
    op.drop_index("ix_time_off_tech_id", table_name="time_off")
    op.drop_table("time_off")
    op.drop_index("ix_notifications_delivered", table_name="notifications")
    op.drop_index("ix_notifications_created", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_calendar_accounts_tech_id", table_name="calendar_accounts")
    op.drop_table("calendar_accounts")
    op.drop_index("ix_bookings_tech_id_end_start", table_name="bookings")
    op.drop_index("ix_bookings_end_start", table_name="bookings")
    op.drop_index("ix_bookings_customer_id", table_name="bookings")
    op.drop_table("bookings")
    op.drop_index("ix_technicians_name_key", table_name="technicians")
    op.drop_table("technicians")
    op.drop_table("sync_lock")
    op.drop_table("settings")
    op.drop_index("ix_customers_name_key", table_name="customers")
    op.drop_table("customers")
    op.drop_index("ix_audit_log_booking_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
