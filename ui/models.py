"""Item models the screens share: technicians, unassigned jobs, and customer completions.

Each holds plain domain values handed over from a background result; none reads the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from app.domain.ids import CustomerId
from app.domain.model import Booking, Customer, Technician
from ui.format import clock_range, duration_text
from ui.plain import plain_tip

ID_ROLE = Qt.ItemDataRole.UserRole + 1  # the item's id as a str ("" for "Unassigned")
VALUE_ROLE = Qt.ItemDataRole.UserRole + 2  # the domain value itself
BOOKING_MIME = "application/x-crewboard-booking"

AnyIndex = QModelIndex | QPersistentModelIndex


class TechRowsModel(QAbstractListModel):
    """Technicians in board order; optionally led by an "Unassigned" row for pickers."""

    UNASSIGNED_LABEL = "Unassigned"

    def __init__(self, include_unassigned: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._include_unassigned = include_unassigned
        self._techs: list[Technician] = []

    def set_techs(self, techs: Sequence[Technician]) -> None:
        if list(techs) == self._techs:
            return
        self.beginResetModel()
        self._techs = list(techs)
        self.endResetModel()

    @property
    def techs(self) -> list[Technician]:
        return list(self._techs)

    def row_of(self, tech_id: str | None) -> int:
        """The row showing `tech_id` ("" or None: the Unassigned row), or -1."""
        offset = 1 if self._include_unassigned else 0
        if not tech_id:
            return 0 if self._include_unassigned else -1
        for index, tech in enumerate(self._techs):
            if tech.id == tech_id:
                return index + offset
        return -1

    def tech_at(self, row: int) -> Technician | None:
        offset = 1 if self._include_unassigned else 0
        index = row - offset
        return self._techs[index] if 0 <= index < len(self._techs) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        if parent.isValid():
            return 0
        return len(self._techs) + (1 if self._include_unassigned else 0)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        tech = self.tech_at(index.row())
        if tech is None:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                return self.UNASSIGNED_LABEL
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Keep the job in the unassigned tray"
            if role == ID_ROLE:
                return ""
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return tech.name
        if role == Qt.ItemDataRole.DecorationRole:
            return QColor(tech.color)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tip(f"{tech.name} · {tech.timezone} · {tech.hours.to_text()}")
        if role == ID_ROLE:
            return str(tech.id)
        if role == VALUE_ROLE:
            return tech
        return None


class UnassignedJobsModel(QAbstractListModel):
    """Jobs waiting for a technician, as the tray lists them (draggable onto the board)."""

    def __init__(self, office: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Booking] = []
        self._customers: dict[CustomerId, Customer] = {}
        self._office = office

    def set_jobs(self, jobs: Sequence[Booking], customers: dict[CustomerId, Customer]) -> None:
        ordered = sorted(jobs, key=_job_order)
        if ordered == self._jobs and customers == self._customers:
            return
        self.beginResetModel()
        self._jobs = ordered
        self._customers = dict(customers)
        self.endResetModel()

    def job_at(self, row: int) -> Booking | None:
        return self._jobs[row] if 0 <= row < len(self._jobs) else None

    def customer_for(self, booking: Booking) -> Customer | None:
        return self._customers.get(booking.customer_id)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._jobs)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        job = self._jobs[index.row()]
        customer = self._customers.get(job.customer_id)
        name = customer.name if customer else "Customer"
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{name}\n{job.service} · {duration_text(job.duration)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{name}: {job.service} ({duration_text(job.duration)})"]
            if job.start is not None and job.interval is not None and self._office is not None:
                lines.append(f"Wished for {clock_range(job.interval, self._office, with_day=True)}")
            if customer is not None and customer.address:
                lines.append(customer.address)
            if job.notes:
                lines.append(job.notes)
            lines.append("Drag onto a technician's row to schedule it.")
            return plain_tip("\n".join(lines))
        if role == ID_ROLE:
            return str(job.id)
        if role == VALUE_ROLE:
            return job
        return None

    def mimeTypes(self) -> list[str]:
        return [BOOKING_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        data = QMimeData()
        valid = [i for i in indexes if i.isValid()]
        if valid:
            data.setData(BOOKING_MIME, QByteArray(str(self._jobs[valid[0].row()].id).encode()))
        return data

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction


class CustomerCompletionModel(QAbstractListModel):
    """The customers matching what the dispatcher typed (filled from CustomerService.search)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._customers: list[Customer] = []

    def set_customers(self, customers: Sequence[Customer]) -> None:
        if list(customers) == self._customers:
            return
        self.beginResetModel()
        self._customers = list(customers)
        self.endResetModel()

    def customer_named(self, name: str) -> Customer | None:
        wanted = " ".join(name.split()).lower()
        return next((c for c in self._customers if c.name.lower() == wanted), None)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._customers)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._customers):
            return None
        customer = self._customers[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return customer.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tip(" · ".join(p for p in (customer.address, customer.phone) if p) or customer.name)
        if role == ID_ROLE:
            return str(customer.id)
        if role == VALUE_ROLE:
            return customer
        return None


def _job_order(job: Booking) -> tuple[bool, float, float, str]:
    """Wished-for start first (earliest on top), then the oldest request."""
    start = job.start.timestamp() if job.start else 0.0
    created = job.created_at.timestamp() if job.created_at else 0.0
    return (job.start is None, start, created, str(job.id))
