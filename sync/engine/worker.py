"""The engine's one database thread: every unit of work runs there, in order, off the event loop.

One thread keeps SQLite writes from queueing against each other inside the engine and keeps the
GUI's loop free; network calls stay on the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from app.services.ports import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")


class DbWorker:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory
        self._executor: ThreadPoolExecutor | None = None

    async def call(self, work: Callable[[], T]) -> T:
        """Run blocking `work` on the database thread and wait for its answer."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crewboard-sync-db")
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def read(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` inside a unit of work that commits nothing."""

        def run() -> T:
            with self._uow() as uow:
                return work(uow)

        return await self.call(run)

    async def write(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` inside a unit of work and commit it when `work` returns."""

        def run() -> T:
            with self._uow() as uow:
                result = work(uow)
                uow.commit()
                return result

        return await self.call(run)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
