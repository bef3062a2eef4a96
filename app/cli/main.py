"""`crewboard`: the command-line entry point and composition root for headless use.

Without a command it opens the desktop app. Known errors print one sentence on stderr and exit
non-zero; anything unexpected writes its traceback to the log file and says where it is.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
from collections.abc import Callable, Sequence

from app.cli import accounts as account_commands
from app.cli import changes as change_commands
from app.cli import commands
from app.cli import monitoring as monitoring_commands
from app.cli import office as office_command
from app.cli import serve as serve_command
from app.cli import service_types as service_commands
from app.cli import sync as sync_commands
from app.cli.args import Parser, check_database, check_sandbox_state
from app.errors import CrewboardError

log = logging.getLogger("crewboard")

Command = Callable[..., int]


TIMES_HELP = (
    "Times without a UTC offset are read in the technician's own time zone (the office's for a job "
    "with no tech). A time that happens twice when clocks fall back means the first one; write the "
    "offset (e.g. 2026-11-01T01:30-06:00) for the second. A time skipped when clocks spring forward "
    "is refused."
)


def build_parser() -> Parser:
    parser = Parser(
        prog="crewboard",
        description="Dispatch board for field-service crews, in two-way sync with each tech's calendar.",
        epilog=f"Without a command, opens the dispatch board. {TIMES_HELP}",
    )
    parser.add_argument("--db", metavar="URL", help=DB_HELP)
    parser.add_argument(
        "--desk",
        metavar="NAME",
        help="the name this desk signs its changes with in the change feed and the audit log "
        "(default: CREWBOARD_DESK, else user@host)",
    )
    parser.add_argument(
        "--version", action="store_true", help="print the version, the store in use and where the log is"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    sub.add_parser("demo", help="open the app on a demo business in a fresh temporary folder")
    sandbox = sub.add_parser("sandbox", help="run the local Google/Microsoft emulators", add_help=False)
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)

    tech = sub.add_parser("tech", help="add, list, edit or remove technicians")
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
    edit = tech_sub.add_parser("edit", help="change a technician's name, email, zone, hours or color")
    edit.add_argument("tech", metavar="NAME")
    edit.add_argument("--name", help="the new name")
    edit.add_argument("--email")
    edit.add_argument("--timezone", metavar="IANA", help="e.g. America/Chicago")
    edit.add_argument("--hours", help='e.g. "mon-fri 08:00-17:00; sat 09:00-12:00"')
    edit.add_argument("--color", metavar="#RRGGBB")
    edit.add_argument(
        "--outlook-colour",
        choices=["on", "off"],
        help="show this tech's Outlook jobs in their colour (asks them for one more permission)",
    )
    edit.add_argument("--json", action="store_true")
    edit.set_defaults(run=commands.tech_edit)
    remove = tech_sub.add_parser(
        "remove", help="take a technician off the board (refused while they have jobs to do)"
    )
    remove.add_argument("tech", metavar="NAME")
    remove.set_defaults(run=commands.tech_remove)

    timeoff = sub.add_parser("timeoff", help="block time off for a technician")
    to_sub = timeoff.add_subparsers(
        dest="timeoff_command", metavar="ACTION", required=True, parser_class=Parser
    )
    to_add = to_sub.add_parser("add", help="add time off: whole days (--date) or a span (--start/--end)")
    to_add.add_argument("tech")
    when = to_add.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", metavar="YYYY-MM-DD")
    when.add_argument("--start", metavar="ISO")
    to_add.add_argument("--end", metavar="ISO", help="with --start: when the time off ends")
    to_add.add_argument("--days", metavar="N", help="with --date: how many days (default 1)")
    to_add.add_argument("--reason", metavar="TEXT")
    to_add.set_defaults(run=commands.timeoff_add)
    to_list = to_sub.add_parser("list", help="list time off, of one technician or of everyone")
    to_list.add_argument("tech", nargs="?", metavar="TECH")
    to_list.add_argument("--json", action="store_true")
    to_list.set_defaults(run=commands.timeoff_list)
    to_remove = to_sub.add_parser("remove", help="remove time off by its id")
    to_remove.add_argument("id", help="time off id (the first 8 characters are enough)")
    to_remove.set_defaults(run=commands.timeoff_remove)

    bk = sub.add_parser("book", help="book a job")
    bk.add_argument(
        "--tech",
        metavar="NAME",
        help="leave out to put the job in the unassigned tray; 'auto' lets the assignment rule pick "
        "among the techs qualified for --service (a service type) and free then",
    )
    bk.add_argument("--customer", required=True, metavar="NAME")
    bk.add_argument("--address")
    bk.add_argument("--phone")
    bk.add_argument("--service", required=True, metavar="TEXT")
    bk.add_argument("--start", metavar="ISO", help=TIMES_HELP)
    bk.add_argument(
        "--duration", metavar="MINUTES", help="how long the job takes (with --tech auto: the service's)"
    )
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
    sl.add_argument(
        "--from",
        dest="start",
        metavar="ISO",
        help="search from (default now); without an offset, read in the named techs' zone when they "
        "share one, else the office's",
    )
    sl.add_argument("--days", default="14", metavar="N", help="how far ahead to search, 1-366 (default 14)")
    sl.add_argument("--count", default="1", metavar="N", help="how many slots to list (default 1)")
    sl.add_argument("--json", action="store_true")
    sl.set_defaults(run=commands.slot)

    service_commands.register(sub)
    account_commands.register(sub)
    sync_commands.register(sub)
    serve_command.register(sub)
    monitoring_commands.register(sub)
    change_commands.register(sub)
    office_command.register(sub)
    _accept_db_anywhere(parser, skip=(sandbox,))
    return parser


DB_HELP = "database URL or SQLite file (default: CREWBOARD_DB, else crewboard.db in your user data folder)"


def _accept_db_anywhere(parser: argparse.ArgumentParser, skip: tuple[argparse.ArgumentParser, ...]) -> None:
    """Let `--db` follow any subcommand too (`crewboard tech list --db x.db`), as people type it.

    The subcommands' copies default to SUPPRESS, so a `--db` given before the subcommand stands
    unless one given after it replaces it.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in dict.fromkeys(action.choices.values()):
            if child in skip:
                continue
            if not any("--db" in a.option_strings for a in child._actions):
                child.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=DB_HELP)
            _accept_db_anywhere(child, skip)


def main(argv: Sequence[str] | None = None) -> int:
    from app.logs import configure_logging

    # Before anything imports a client library, so that its warnings reach the log, not stderr.
    configure_logging()
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # The sandbox has its own parser; everything after "sandbox" is its business.
    args, extra = parser.parse_known_args(args_list)
    if args.command == "sandbox":
        args.rest = [*extra, *args.rest]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    else:
        given = _db_values(args_list)
        if len(set(given)) > 1:
            parser.error(f"--db was given twice ({' and '.join(given)}); give one database")
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit where nothing can catch it
        return code
    except BrokenPipeError:
        if not _stdout_reader_left():
            # A peer that hung up on one of our sockets: a fault to report like any other.
            return _crash()
        return _reader_left()
    except CrewboardError as error:
        sys.stderr.write(f"crewboard: {error}\n")
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:
        return _crash()


def _crash() -> int:
    """The traceback goes to the log; the user gets one sentence saying where."""
    from app.logs import crash_report

    path = crash_report()
    sys.stderr.write(f"crewboard: something went wrong; the details are in {path}\n")
    return 1


def _db_values(args: list[str]) -> list[str]:
    """Every --db value on the command line (before a `--`, which ends the options)."""
    values: list[str] = []
    for index, item in enumerate(args):
        if item == "--":
            break
        if item == "--db" and index + 1 < len(args):
            values.append(args[index + 1])
        elif item.startswith("--db="):
            values.append(item.split("=", 1)[1])
    return values


# What a command exits with when whoever read its output stopped reading (`crewboard … | head -1`):
# 128 + SIGPIPE, what a shell reports for `cat`, `grep` or `yes` in the same place. Without
# `set -o pipefail` the pipeline's status is the reader's; with it, a script learns that the output
# was cut short, exactly as with any other Unix tool.
CLOSED_PIPE = 141


def _stdout_reader_left() -> bool:
    """Whether our standard output is a pipe whose reader has gone (poll reports POLLERR for it).

    A BrokenPipeError may also come from a socket (a push sender or a provider hanging up);
    only a closed stdout means "the reader stopped reading".
    """
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True  # stdout is no real file (a test's capture): nothing else can have broken


def _reader_left() -> int:
    """Stop writing quietly: point stdout at the null device so the exit's flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass  # stdout is no real file (a test's capture); nothing is flushed to it at exit
    return CLOSED_PIPE


def _dispatch(args: argparse.Namespace) -> int:
    if args.db is not None:
        check_database(args.db)
    else:
        check_database(os.environ.get("CREWBOARD_DB"), "CREWBOARD_DB")
    if args.version:
        from app.composition import about_store

        print("\n".join(about_store(args.db).lines()))
        return 0
    if args.command == "sandbox":
        check_sandbox_state(args.rest)
        from sync.sandbox.cli import main as sandbox_main

        return sandbox_main(args.rest)
    if args.command == "demo":
        from app.demo import run_demo

        return run_demo()
    if args.command is None:
        from app.main import open_app

        return open_app(args.db, desk=args.desk)
    from app.composition import open_services

    with open_services(args.db, desk=args.desk) as services:
        run: Command = args.run
        return run(services, args)
