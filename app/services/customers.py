"""Customer contact records: pick an existing one or create it on the fly while booking."""

from __future__ import annotations

from dataclasses import replace

from app.domain.ids import CustomerId, new_id
from app.domain.model import Customer
from app.errors import InvalidInput, NotFound
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.text import typed_line


def upsert_customer(
    uow: UnitOfWork, name: str, address: str | None = None, phone: str | None = None, email: str | None = None
) -> Customer:
    """The customer called `name`, created if new; given contact details update the record."""
    clean = typed_line(name, "A customer's name")
    if not clean:
        raise InvalidInput("A booking needs a customer name.")
    existing = uow.customers.by_name(clean)
    if existing is None:
        customer = Customer(CustomerId(new_id()), clean, address or "", phone or "", email or "")
        uow.customers.add(customer)
        return customer
    changed = replace(
        existing,
        address=existing.address if address is None else address,
        phone=existing.phone if phone is None else phone,
        email=existing.email if email is None else email,
    )
    if changed != existing:
        uow.customers.update(changed)
    return changed


class CustomerService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def search(self, text: str, limit: int = 20) -> list[Customer]:
        with self._uow() as uow:
            return uow.customers.search(text, limit)

    def get(self, customer_id: CustomerId) -> Customer:
        with self._uow() as uow:
            customer = uow.customers.get(customer_id)
        if customer is None:
            raise NotFound("That customer no longer exists.")
        return customer

    def save(self, name: str, address: str = "", phone: str = "", email: str = "") -> Customer:
        with self._uow() as uow:
            customer = upsert_customer(uow, name, address, phone, email)
            uow.commit()
            return customer
