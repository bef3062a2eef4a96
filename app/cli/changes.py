"""`crewboard changes`: the change feed, for people watching an office and for scripts.

Without --follow it prints what is recorded after --since and stops. With --follow it keeps
printing each commit's entries as they arrive, woken as the desks are (NOTIFY, data_version),
and stops cleanly on Ctrl-C, SIGTERM or a reader that went away (`| head`).

The feed keeps about a day (sync.engine.feed_pruning). Asked for entries after a number already
pruned, it says so in one sentence on stderr and starts from the oldest kept, exiting 0 as usual:
what it printed is right, only incomplete, and a script sees that from the numbers themselves
(they have no other gaps: the first printed is not SEQ + 1), so `set -e` never stops a script
that only lists.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from app.domain.changes import Change
from app.errors import InvalidInput, StorageError
from app.office import office_zone
from app.services.change_feed import BATCH, ChangeFeedListener, Missed, missed
from app.services.container import Services


def register(sub: Any) -> None:
    """Add `changes` to the main parser's subcommands."""
    ch = sub.add_parser(
        "changes", help="what every desk and the office service changed, in commit order (the change feed)"
    )
    ch.add_argument(
        "--since",
        metavar="SEQ",
        help=(
            "start after this entry number (default: from the first entry kept, or from now with"
            " --follow); the feed keeps about a day"
        ),
    )
    ch.add_argument(
        "--follow", action="store_true", help="keep printing new changes as they are committed (Ctrl-C stops)"
    )
    ch.add_argument("--json", action="store_true", help='one JSON object a line: {"seq", "kind", "id", "at"}')
    ch.set_defaults(run=changes)


def changes(s: Services, a: argparse.Namespace) -> int:
    store = s.feed
    if store is None:
        raise InvalidInput("This store has no change feed to read.")
    since = _since(a.since)
    if not a.follow:
        after = since or 0
        while batch := store.since(after, BATCH):
            gap = missed(after, batch)
            # Without --since the listing starts at the oldest entry kept; a gap later on is news.
            if gap is not None and (since is not None or after > 0):
                _say_missed(gap)
            _print(batch, a.json)
            after = batch[-1].seq
        return 0
    return asyncio.run(_follow(ChangeFeedListener(store, on_connection=_say_connection), since, a.json))


def _say_connection(problem: StorageError | None) -> None:
    """Following goes on through an outage; say when it stops and when it resumes, on stderr."""
    if problem is not None:
        sys.stderr.write(f"crewboard: {problem} Still trying; changes made meanwhile will follow.\n")
    else:
        sys.stderr.write("crewboard: the change feed can be read again; catching up.\n")
    sys.stderr.flush()


def _say_missed(gap: Missed) -> None:
    """One sentence on stderr: the entries asked for that are gone, and where the listing starts."""
    sys.stderr.write(
        f"crewboard: changes before entry {gap.oldest} were pruned (the feed keeps about a day),"
        f" so this starts from entry {gap.oldest}, the oldest kept.\n"
    )
    sys.stderr.flush()


async def _follow(listener: ChangeFeedListener, since: int | None, as_json: bool) -> int:
    """Print batches until a signal asks to stop; the exit status says which (128 + its number)."""
    stopped_by: list[int] = []
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    for signum in (signal.SIGINT, signal.SIGTERM):

        def stop(signum: int = signum) -> None:
            stopped_by.append(signum)
            task.cancel()

        loop.add_signal_handler(signum, stop)
    follower = listener.follow(since)
    try:
        async for batch in follower:
            if isinstance(batch, Missed):
                _say_missed(batch)
            else:
                _print(batch, as_json)
    except asyncio.CancelledError:
        if not stopped_by:
            raise
    finally:
        await follower.aclose()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 128 + stopped_by[0] if stopped_by else 0


def _since(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise InvalidInput(f"--since takes an entry number (0 or more), not '{text}'.")
    return value


def _print(batch: list[Change], as_json: bool) -> None:
    out = sys.stdout
    if as_json:
        for change in batch:
            line = {
                "seq": change.seq,
                "kind": change.kind.value,
                "id": change.item_id,
                "at": change.at.isoformat(),
            }
            out.write(json.dumps(line) + "\n")
    else:
        zone = office_zone()
        for change in batch:
            when = change.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
            out.write(
                f"{change.seq:>8}  {when}  {change.kind.value:<9} {change.item_id:<32}  {change.desk}\n"
            )
    out.flush()  # a reader waiting on the pipe sees each commit at once
