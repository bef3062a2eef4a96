"""`crewboard sandbox`: run the emulators until interrupted, printing their URLs as one JSON line."""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import signal
import sys
import threading
from types import FrameType


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crewboard sandbox",
        description="Serve local emulators of Google Calendar and Microsoft Graph with their sign-in servers.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="control API port (default: any free port)")
    parser.add_argument("--seed", choices=("empty", "demo"), default="empty", help="initial data")
    parser.add_argument("--state", metavar="FILE", help="load the sandbox from FILE and keep saving to it")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the sandbox has no real security)",
    )
    return parser


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already explained
        return exc.code if isinstance(exc.code, int) else 2
    if not _is_loopback(args.host) and not args.allow_remote:
        print(
            f"Refusing to listen on {args.host}: the sandbox is for this computer only; "
            "pass --allow-remote to override.",
            file=sys.stderr,
        )
        return 2
    if not 0 <= args.port <= 65535:
        print("--port must be between 0 and 65535.", file=sys.stderr)
        return 2

    from sync.sandbox.server import Sandbox

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    sandbox = Sandbox()
    try:
        try:
            urls = sandbox.start(args.host, args.port, args.seed, args.state)
        except OSError as exc:
            print(f"The sandbox could not start: {exc.strerror or exc}.", file=sys.stderr)
            return 1
        print(json.dumps(urls.as_json()), flush=True)
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
