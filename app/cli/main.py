"""`crewboard`: the command-line entry point and composition root for headless use.

Without a command it opens the desktop app. Known errors print one sentence on stderr and exit
non-zero; anything unexpected writes its traceback to the log file and says where it is.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from app.cli import accounts as account_commands
from app.cli import commands
from app.cli import health as health_commands
from app.cli import sync as sync_commands
from app.cli.args import Parser
from app.errors import CrewboardError

log = logging.getLogger("crewboard")

Command = Callable[..., int]


def build_parser() -> Parser:
    parser = Parser(
        prog="crewboard",
        description="Dispatch board for field-service crews, in two-way sync with each tech's calendar.",
        epilog="Without a command, opens the dispatch board. Times without a UTC offset are read in the "
        "technician's own time zone.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database URL or SQLite file (default: CREWBOARD_DB, "
        "else crewboard.db in your user data folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    sub.add_parser("demo", help="open the app on a demo business in a fresh temporary folder")
    sandbox = sub.add_parser("sandbox", help="run the local Google/Microsoft emulators", add_help=False)
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)

    tech = sub.add_parser("tech", help="add or list technicians")
    tech_sub = tech.add_subparsers(dest="tech_command", metavar="ACTION", required=True, parser_class=Parser)
    add = tech_sub.add_parser("add", help="add a technician")
    add.add_argument("name")
    add.add_argument("--email", required=True)
    add.add_argument("--timezone", required=True, metavar="IANA", help="e.g. America/Chicago")
    add.add_argument(
        "--hours", default="mon-fri 08:00-17:00", help='e.g. "mon-fri 08:00-17:00; sat 09:00-12:00"'
    )
    add.add_argument("--color", metavar="#RRGGBB")
    add.add_argument("--tentative-blocks", action="store_true", help="tentative invitations block time")
    add.add_argument("--json", action="store_true")
    add.set_defaults(run=commands.tech_add)
    listing = tech_sub.add_parser("list", help="list technicians")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=commands.tech_list)

    timeoff = sub.add_parser("timeoff", help="block time off for a technician")
    to_sub = timeoff.add_subparsers(
        dest="timeoff_command", metavar="ACTION", required=True, parser_class=Parser
    )
    to_add = to_sub.add_parser("add", help="add time off: whole days (--date) or a span (--start/--end)")
    to_add.add_argument("tech")
    when = to_add.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", metavar="YYYY-MM-DD")
    when.add_argument("--start", metavar="ISO")
    to_add.add_argument("--end", metavar="ISO")
    to_add.add_argument("--days", type=int, default=1, help="with --date: how many days (default 1)")
    to_add.add_argument("--reason", metavar="TEXT")
    to_add.set_defaults(run=commands.timeoff_add)

    bk = sub.add_parser("book", help="book a job")
    bk.add_argument("--tech", metavar="NAME", help="leave out to put the job in the unassigned tray")
    bk.add_argument("--customer", required=True, metavar="NAME")
    bk.add_argument("--address")
    bk.add_argument("--phone")
    bk.add_argument("--service", required=True, metavar="TEXT")
    bk.add_argument("--start", metavar="ISO")
    bk.add_argument("--duration", required=True, metavar="MINUTES")
    bk.add_argument("--notes")
    bk.add_argument("--force", action="store_true", help="book even over busy time (recorded as forced)")
    bk.add_argument("--json", action="store_true")
    bk.set_defaults(run=commands.book)

    ls = sub.add_parser("bookings", help="list bookings")
    ls.add_argument("--all", action="store_true", help="include cancelled bookings")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(run=commands.bookings)

    mv = sub.add_parser("move", help="move a booking to another time and/or technician")
    mv.add_argument("id", help="booking id (the first 8 characters are enough)")
    mv.add_argument("--start", required=True, metavar="ISO")
    mv.add_argument("--tech", metavar="NAME")
    mv.add_argument("--force", action="store_true")
    mv.add_argument("--json", action="store_true")
    mv.set_defaults(run=commands.move)

    cn = sub.add_parser("cancel", help="cancel a booking")
    cn.add_argument("id")
    cn.add_argument("--json", action="store_true")
    cn.set_defaults(run=commands.cancel)

    av = sub.add_parser("availability", help="a technician's free and busy time on one day")
    av.add_argument("tech")
    av.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    av.add_argument("--json", action="store_true")
    av.set_defaults(run=commands.availability)

    sl = sub.add_parser("slot", help="find the earliest free slot")
    sl.add_argument("--duration", required=True, metavar="MINUTES")
    sl.add_argument("--tech", action="append", metavar="NAME", help="repeat for several; default all")
    sl.add_argument("--from", dest="start", metavar="ISO", help="search from (default now)")
    sl.add_argument("--days", type=int, default=14, help="how far ahead to search (default 14)")
    sl.add_argument("--count", type=int, default=1, help="how many slots to list (default 1)")
    sl.add_argument("--json", action="store_true")
    sl.set_defaults(run=commands.slot)

    account_commands.register(sub)
    sync_commands.register(sub)
    health_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # The sandbox has its own parser; everything after "sandbox" is its business.
    args, extra = parser.parse_known_args(args_list)
    if args.command == "sandbox":
        args.rest = [*extra, *args.rest]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return _dispatch(args)
    except CrewboardError as error:
        sys.stderr.write(f"crewboard: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:
        from app.logs import crash_report

        path = crash_report()
        sys.stderr.write(f"crewboard: something went wrong; the details are in {path}\n")
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    from app.logs import configure_logging

    configure_logging()
    if args.command == "sandbox":
        from sync.sandbox.cli import main as sandbox_main

        return sandbox_main(args.rest)
    if args.command == "demo":
        from app.demo import run_demo

        return run_demo()
    if args.command is None:
        from app.main import open_app

        return open_app(args.db)
    from app.composition import open_services

    with open_services(args.db) as services:
        run: Command = args.run
        return run(services, args)
