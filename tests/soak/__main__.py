"""`python -m tests.soak`: run the soak and print its result; the exit code is 1 when an invariant broke.

Needs a Secret Service (run it under scripts/with-secret-service, as `make soak` does).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.soak.runner import SoakConfig, run_soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument(
        "--seconds", type=float, default=360.0, help="length of the chaos phase (default 360)"
    )
    parser.add_argument("--techs", type=int, default=10, help="technicians, alternating Google and Outlook")
    parser.add_argument(
        "--kills", type=int, default=30, help="at least this many SIGKILLs of the sync process"
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.2, help="share of requests that fail (default 0.2)"
    )
    parser.add_argument(
        "--no-push", action="store_true", help="run the sync process without --listen (polling only)"
    )
    parser.add_argument(
        "--office",
        action="store_true",
        help="an office on PostgreSQL: two desk processes, services killed, the server restarted",
    )
    parser.add_argument("--seed", type=int, help="replay a run: the seed it printed")
    parser.add_argument(
        "--workdir", type=Path, help="keep the database and logs here (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    if not 10 <= args.seconds <= 480 or not 1 <= args.techs <= 20 or not 0 <= args.fault_rate <= 0.5:
        parser.error("--seconds must be 10-480, --techs 1-20 and --fault-rate 0-0.5 (the soak stays bounded)")
    if args.workdir is not None and args.workdir.exists() and any(args.workdir.iterdir()):
        parser.error(
            f"--workdir {args.workdir} is not empty; name a new or empty folder (a soak starts from nothing)"
        )
    config = SoakConfig(
        seconds=args.seconds,
        techs=args.techs,
        min_kills=args.kills,
        fault_rate=args.fault_rate,
        push=not args.no_push,
        seed=args.seed,
        workdir=args.workdir,
    )
    if args.office:
        from tests.soak.office import run_office_soak

        result = run_office_soak(config)
    else:
        result = run_soak(config)
    print(result.text())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
