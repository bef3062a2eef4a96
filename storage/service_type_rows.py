"""Tables of the booking page: service types, who is qualified, automatic assignments, online jobs.

Declared on the shared `Base` (so migrations and the schema check see them) in a module of their
own, imported by the repositories that use them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.orm import ID, Base, refers_to
from storage.types import Duration, UtcDateTime


class ServiceTypeRow(Base):
    __tablename__ = "service_types"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Case-folded name, written with the name: two services may not differ only by case.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    duration: Mapped[timedelta] = mapped_column(Duration)
    buffer_after: Mapped[timedelta] = mapped_column(Duration)


class QualificationRow(Base):
    """One tech qualified for one service type; both sides cascade, so removing either forgets it."""

    __tablename__ = "service_type_techs"

    service_type_id: Mapped[str] = mapped_column(
        ID, refers_to("service_types.id", "CASCADE"), primary_key=True
    )
    tech_id: Mapped[str] = mapped_column(ID, refers_to("technicians.id", "CASCADE"), primary_key=True)


class AutoAssignmentRow(Base):
    """A job assigned by rule. Indexed by tech and time: "who was assigned least recently"."""

    __tablename__ = "auto_assignments"
    __table_args__ = (Index("ix_auto_assignments_tech_id_assigned_at", "tech_id", "assigned_at"),)

    booking_id: Mapped[str] = mapped_column(ID, refers_to("bookings.id", "CASCADE"), primary_key=True)
    tech_id: Mapped[str] = mapped_column(ID, refers_to("technicians.id", "CASCADE"))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    explanation: Mapped[str] = mapped_column(Text)
    service_type_id: Mapped[str | None] = mapped_column(ID, refers_to("service_types.id", "SET NULL"))


class OnlineBookingRow(Base):
    """A booking made on the booking page: its source is "online"."""

    __tablename__ = "online_bookings"

    booking_id: Mapped[str] = mapped_column(ID, refers_to("bookings.id", "CASCADE"), primary_key=True)
    service_type_id: Mapped[str | None] = mapped_column(ID, refers_to("service_types.id", "SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
