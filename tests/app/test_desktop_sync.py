"""The desktop's sync: the engine runs with health rounds beside it and lets go of the store on stop."""

from __future__ import annotations

import asyncio

from app.main import DesktopSync, build_sync_engine
from app.services.container import Services


async def test_desktop_sync_holds_the_lock_while_running_and_releases_it(services: Services) -> None:
    sync = build_sync_engine(services)
    assert isinstance(sync, DesktopSync)
    assert sync.engine.holder.startswith("Crewboard desktop")
    stop = asyncio.Event()
    task = asyncio.ensure_future(sync.run_forever(stop))
    for _ in range(200):  # bounded: until the engine has claimed the store
        with services.uow() as uow:
            holder = uow.sync_lock.current()  # type: ignore[attr-defined]
        if holder is not None:
            break
        await asyncio.sleep(0.02)
    assert holder is not None and "Crewboard desktop" in holder.holder
    stop.set()
    await asyncio.wait_for(task, 10)
    await sync.aclose()
    with services.uow() as uow:
        assert uow.sync_lock.current() is None  # type: ignore[attr-defined]
