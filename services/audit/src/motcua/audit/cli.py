"""motcua-audit: what a service recorded, who did it and when, read from its event log.

    motcua-audit history <service> <aggregate-id> [--json]
    motcua-audit state <service> <aggregate-id> [--at TIME | --version N]
    motcua-audit log <service> [--after POSITION] [--limit N] [--json]

Connects to the service's PostgreSQL database with the variables the services use
(POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DBNAME,
default motcua_<service>), or to a local stack with --profile run|test; without either,
to the stack of `make run`. Reads only. Exit codes: 0 done, 1 cannot answer (unknown
aggregate, no event log, server unreachable...), 2 bad command line.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from motcua.kernel.config import ConfigError, Settings

from . import render
from .reader import APPLICATION_NAMES, AuditError, EventLog, Unreachable

PROG = "motcua-audit"
PROFILE_NAMES = ("run", "test")


def _aggregate_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid aggregate id {text!r}: expected a UUID") from None


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: expected ISO-8601, e.g. 2025-06-01T08:30:00Z (no offset: UTC)"
        ) from None


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected an integer >= {minimum}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--profile", choices=PROFILE_NAMES, default=argparse.SUPPRESS,
        help="read the local stack of this profile (make run: run; the test session: test) "
             "instead of the POSTGRES_* environment variables",
    )
    main = argparse.ArgumentParser(
        prog=PROG,
        description="Read a motcua service's event log, read-only: what was recorded, by whom, when.",
        epilog="Connection: POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DBNAME "
               "(default motcua_<service>), as the services read them; with none set, the stack of `make run`.",
    )
    main.add_argument("--profile", choices=PROFILE_NAMES, default=None,
                      help="read the local stack of this profile (also accepted after the command)")
    commands = main.add_subparsers(dest="command", metavar="COMMAND", required=True)
    service: dict[str, Any] = {
        "choices": list(APPLICATION_NAMES),
        "metavar": "SERVICE",
        "help": ", ".join(APPLICATION_NAMES),
    }

    history = commands.add_parser(
        "history", parents=[connection], help="every event of an aggregate: version, when, who, what, data"
    )
    history.add_argument("service", **service)
    history.add_argument("aggregate_id", type=_aggregate_id, metavar="AGGREGATE_ID")
    history.add_argument("--json", action="store_true", help="a JSON array instead of a table")

    state = commands.add_parser(
        "state", parents=[connection], help="an aggregate's state (JSON), now or as of a time or version"
    )
    state.add_argument("service", **service)
    state.add_argument("aggregate_id", type=_aggregate_id, metavar="AGGREGATE_ID")
    when = state.add_mutually_exclusive_group()
    when.add_argument("--at", type=_moment, metavar="TIME",
                      help="as of this ISO-8601 time: replays the events recorded at or before it")
    when.add_argument("--version", type=_count(1), metavar="N", help="as of this version")

    log = commands.add_parser(
        "log", parents=[connection], help="the service's notification log: every event it recorded, in order"
    )
    log.add_argument("service", **service)
    log.add_argument("--after", type=_count(0), default=0, metavar="POSITION",
                     help="start after this position (default 0: the beginning)")
    log.add_argument("--limit", type=_count(1), default=100, metavar="N", help="at most N events (default 100)")
    log.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    return main


def local_profile(profile: str | None, environ: Mapping[str, str]) -> str | None:
    """The local stack to read: the one asked for, else `make run`'s when POSTGRES_HOST is unset."""
    if profile is None and not environ.get("POSTGRES_HOST"):
        return "run"
    return profile


def store_env(service: str, profile: str | None, environ: Mapping[str, str]) -> dict[str, str]:
    """The POSTGRES_* settings to read the service's database with (profile: a local stack)."""
    if profile is not None:
        try:
            from motcua.devstack import Postgres, profile as local_profile
        except Exception as e:
            raise AuditError(f"--profile needs a motcua checkout ({e}); set POSTGRES_* instead") from None
        environ = {
            "POSTGRES_HOST": Postgres.host,
            "POSTGRES_PORT": str(local_profile(profile).pg_port),
            "POSTGRES_USER": Postgres.user,
            "POSTGRES_PASSWORD": Postgres.password,
            **({"CIPHER_KEY": environ["CIPHER_KEY"]} if environ.get("CIPHER_KEY") else {}),
        }
    try:
        return Settings.from_env(environ, service=service).eventstore_env
    except ConfigError as e:
        raise AuditError(str(e)) from None


def run(args: argparse.Namespace, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    profile = local_profile(args.profile, os.environ)
    try:
        events = EventLog(args.service, store_env(args.service, profile, os.environ))
    except Unreachable as e:
        if profile is None:
            raise
        up = "`make run` starts it" if profile == "run" else "it runs only during a test session"
        raise Unreachable(f"{e} (the local stack of profile {profile}; is it up? {up})") from None
    with events:
        if args.command == "history":
            recorded = events.history(args.aggregate_id)
            if args.json:
                print(render.to_json([render.event_record(e) for e in recorded]), file=out)
            else:
                print(render.history_table(recorded), file=out)
        elif args.command == "state":
            version = args.version
            if args.at is not None:
                version = events.version_at(args.aggregate_id, args.at)
            print(render.to_json(render.aggregate_state(events.aggregate(args.aggregate_id, version))), file=out)
        elif args.command == "log":
            recorded = events.notifications(after=args.after, limit=args.limit)
            if args.json:
                print(render.to_json([render.event_record(e, log=True) for e in recorded]), file=out)
            else:
                print(render.log_table(recorded), file=out)
                if len(recorded) == args.limit:
                    print(f"(more may follow: --after {recorded[-1].position})", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    for stream in (sys.stdout, sys.stderr):  # Vietnamese as-is, whatever the locale
        if isinstance(stream, io.TextIOWrapper) and (stream.encoding or "").lower().replace("-", "") != "utf8":
            stream.reconfigure(encoding="utf-8")
    args = parser().parse_args(argv)  # exits 2 on a bad command line
    try:
        run(args)
    except (AuditError, PersistenceError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
