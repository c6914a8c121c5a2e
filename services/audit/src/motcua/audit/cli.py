"""motcua-audit: what a service recorded, who did it and when, read from its event log.

    motcua-audit history <service> <aggregate-id> [--json]
    motcua-audit state <service> <aggregate-id> [--at TIME | --version N]
    motcua-audit log <service> [--after POSITION] [--limit N] [--json]
    motcua-audit verify --live --service <service>

Connects to the service's PostgreSQL database with the variables the services use
(POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DBNAME,
default motcua_<service>), or to a local stack with --profile run|test; without either,
to the stack of `make run`. Reads only. Exit codes: 0 done, 1 cannot answer (unknown
aggregate, no event log, server unreachable...), 2 bad command line.

`verify --live` recomputes the service's hash chain (docs/audit-chain.md) from its events
table and compares it with the seals in motcua_chain. Exit codes: 0 every sealed record
verifies, 1 the chain is broken (the first broken position and what happened there are
printed), 2 bad command line or the database cannot be read.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO
from uuid import UUID

import psycopg
from eventsourcing.persistence import PersistenceError
from psycopg import sql

from motcua.kernel.config import ConfigError, Settings
from motcua.kernel.sealer import CHAIN_TABLE

from . import chain_check, render
from .reader import APPLICATION_NAMES, CONNECT_TIMEOUT, READ_ONLY, AuditError, EventLog, Unreachable, table_name

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

    verify = commands.add_parser(
        "verify", parents=[connection],
        help="recompute a service's hash chain from its events and compare it with the stored seals "
             "(exit 0 intact, 1 broken, 2 usage or connection)",
    )
    verify.add_argument("--live", action="store_true", required=True,
                        help="read the service's database directly (the only mode so far)")
    verify.add_argument("--service", required=True, **service)
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
    if args.command == "verify":
        try:
            env = store_env(args.service, profile, os.environ)
        except AuditError as e:
            print(f"{PROG}: error: {e}", file=sys.stderr)
            sys.exit(2)
        sys.exit(verify_live(args.service, env, out))
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


def verify_live(service: str, env: Mapping[str, str], out: TextIO) -> int:
    """Checks the service's chain; prints the outcome; returns the exit code."""
    where = f"database {env['POSTGRES_DBNAME']} on {env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}"
    schema = env.get("POSTGRES_SCHEMA") or "public"
    try:
        with psycopg.connect(
            host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"], password=env.get("POSTGRES_PASSWORD", ""),
            connect_timeout=CONNECT_TIMEOUT, options=READ_ONLY,
        ) as conn:
            # One snapshot for the log and the chain: a sealer appending meanwhile changes nothing.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            missing = [t for t in (table_name(service), CHAIN_TABLE) if conn.execute(
                "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s", (schema, t)
            ).fetchone() is None]
            if missing:
                print(f"{PROG}: error: no table {', '.join(missing)} in {where}", file=sys.stderr)
                return 2
            with _progress(conn, service) as progress:
                outcome = chain_check.verify(conn, table_name(service), schema, progress)
    except psycopg.Error as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"{PROG}: error: cannot read {where}: {reason}", file=sys.stderr)
        return 2
    if outcome.broken is not None:
        print(f"BROKEN {service} at position {outcome.broken.position}: {outcome.broken.kind}: "
              f"{outcome.broken.detail} ({outcome.verified} records verified before it)", file=out)
        return 1
    tail = f", {outcome.unsealed} newer not sealed yet" if outcome.unsealed else ""
    print(f"OK {service}: {outcome.verified} records verified, sealed up to position {outcome.head}{tail}",
          file=out)
    return 0


@contextlib.contextmanager
def _progress(conn: psycopg.Connection[Any], service: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar by notification id on a terminal; nothing otherwise (pipes, logs, tests)."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    row = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(
        sql.Identifier(CHAIN_TABLE))).fetchone()
    with tqdm(total=row[0] if row else 0, unit=" id", desc=f"verifying {service}", file=sys.stderr) as bar:
        def advance(position: int) -> None:
            if position - bar.n >= 1000 or position == bar.total:  # redrawing per record would cost more
                bar.update(position - bar.n)

        yield advance


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
