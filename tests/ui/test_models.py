"""Item models: valid per Qt's model rules (qtmodeltester) and showing what the dispatcher needs."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QModelIndex, Qt

from app.domain.ids import BookingId, CustomerId
from app.domain.model import Booking, Customer
from app.services.container import Services
from tests.ui.business import MONDAY, Business, at
from ui.models import (
    BOOKING_MIME,
    ID_ROLE,
    VALUE_ROLE,
    CustomerCompletionModel,
    TechRowsModel,
    UnassignedJobsModel,
)


def test_tech_rows_model(qtmodeltester, services: Services, business: Business) -> None:  # type: ignore[no-untyped-def]
    model = TechRowsModel()
    qtmodeltester.check(model)
    model.set_techs(services.techs.list())
    qtmodeltester.check(model)
    assert model.rowCount() == 6
    assert model.data(model.index(0, 0)) == "Dana Ortiz"
    assert model.data(model.index(0, 0), ID_ROLE) == business.techs["Dana Ortiz"].id
    picker = TechRowsModel(include_unassigned=True)
    picker.set_techs(services.techs.list())
    qtmodeltester.check(picker)
    assert picker.rowCount() == 7
    assert picker.data(picker.index(0, 0)) == "Unassigned"
    assert picker.row_of(business.techs["Elena Novak"].id) == 2
    assert picker.row_of(None) == 0
    assert picker.tech_at(0) is None


def test_unassigned_jobs_model(qtmodeltester, services: Services, business: Business) -> None:  # type: ignore[no-untyped-def]
    model = UnassignedJobsModel()
    qtmodeltester.check(model)
    jobs = services.bookings.unassigned()
    customers = {c.id: c for c in (services.customers.get(j.customer_id) for j in jobs)}
    model.set_jobs(jobs, customers)
    qtmodeltester.check(model)
    assert model.rowCount() == 2
    # A wished-for time sorts first; the job without one comes after.
    first = model.index(0, 0)
    assert model.data(first).startswith("Lakeside condos\nDrain cleaning · 2 h")
    assert model.data(model.index(1, 0)).startswith("Morris family")
    assert "mornings" in model.data(model.index(1, 0), Qt.ItemDataRole.ToolTipRole)
    mime = model.mimeData([first])
    assert bytes(mime.data(BOOKING_MIME).data()).decode() == business.bookings["unassigned2"].id
    assert model.flags(first) & Qt.ItemFlag.ItemIsDragEnabled
    assert not model.flags(QModelIndex()) & Qt.ItemFlag.ItemIsDragEnabled


def test_unassigned_jobs_model_survives_changes(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = UnassignedJobsModel()
    customer = Customer(CustomerId("c" * 32), "Acme")
    jobs = [
        Booking(BookingId(f"{n:032x}"), customer.id, None, "Estimate", None, timedelta(minutes=30))
        for n in range(3)
    ]
    model.set_jobs(jobs, {customer.id: customer})
    qtmodeltester.check(model)
    model.set_jobs(jobs[:1], {customer.id: customer})
    qtmodeltester.check(model)
    assert model.rowCount() == 1
    timed = Booking(BookingId("f" * 32), customer.id, None, "AC repair", at(MONDAY, 9), timedelta(hours=1))
    model.set_jobs([*jobs, timed], {customer.id: customer})
    assert model.data(model.index(0, 0), VALUE_ROLE) == timed


def test_customer_completion_model(qtmodeltester, services: Services, business: Business) -> None:  # type: ignore[no-untyped-def]
    model = CustomerCompletionModel()
    qtmodeltester.check(model)
    model.set_customers(services.customers.search("family"))
    qtmodeltester.check(model)
    names = [model.data(model.index(r, 0)) for r in range(model.rowCount())]
    assert "Hill family" in names
    hill = model.customer_named("hill  FAMILY")
    assert hill is not None and hill.address == "412 Oak St, Evanston"
    row = names.index("Hill family")
    assert model.data(model.index(row, 0), Qt.ItemDataRole.EditRole) == "Hill family"
    assert "Evanston" in model.data(model.index(row, 0), Qt.ItemDataRole.ToolTipRole)
