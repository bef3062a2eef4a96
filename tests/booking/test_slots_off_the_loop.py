"""A slot search runs beside the server's event loop, never on it: while one customer's two-week
search is still reading the store, the server goes on answering everyone else."""

from __future__ import annotations

import threading
from datetime import date

import httpx
import pytest

from app.domain.booking_slots import OfferedStart
from app.services.online_booking import OnlineBookingService
from tests.booking.conftest import LiveServer, Shop, booking_app, live

WAIT = 30.0  # seconds: a bound on a failure, never a pause on success


class HeldSearch(OnlineBookingService):
    """The shop's page whose slot search, once begun, waits until the test lets it go on."""

    def __init__(self, shop: Shop) -> None:
        services = shop.services
        super().__init__(services.uow, services.clock, services.bus, shop.page.policy)
        self.begun = threading.Event()
        self.go_on = threading.Event()

    def slots(
        self, service_id: str, first_day: date | None = None, days: int | None = None
    ) -> list[OfferedStart]:
        self.begun.set()
        if not self.go_on.wait(WAIT):
            raise AssertionError("the test never let the search go on")
        return super().slots(service_id, first_day, days)


@pytest.mark.parametrize("where", ["api/slots?service={id}", "{id}"], ids=["api", "page"])
def test_the_server_answers_others_while_a_slot_search_reads(
    shop: Shop, serve: list[LiveServer], where: str
) -> None:
    page = HeldSearch(shop)
    url = live(serve, booking_app(page))
    answers: list[httpx.Response] = []
    searching = threading.Thread(
        target=lambda: answers.append(httpx.get(f"{url}/book/{where.format(id=shop.ac.id)}", timeout=WAIT))
    )
    searching.start()
    try:
        assert page.begun.wait(WAIT), "the slot search never began"
        # Were the search on the event loop, nothing else could be answered until it ended.
        other = httpx.get(f"{url}/book/api/services", timeout=WAIT)
        assert other.status_code == 200 and not answers
    finally:
        page.go_on.set()
        searching.join(WAIT)
    assert [a.status_code for a in answers] == [200]
