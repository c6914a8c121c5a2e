"""motcua-audit: what a service recorded, who did it and when, read through the auditor API
(the default) or, for offline use, straight from its event log.

    motcua-audit history <service> <aggregate> [--format FORMAT | --json]
    motcua-audit state <service> <aggregate> [--at TIME | --version N]
    motcua-audit log <service> [--after POSITION] [--limit N] [--format FORMAT | --json]
    motcua-audit events <service> [--dossier CODE] [--aggregate ID] [--actor A] [--type T]
                 [--agency EID] [--since TIME] [--until TIME] [--trace ID] [--format FORMAT]
    motcua-audit trace <trace-id> [--format FORMAT]
    motcua-audit timeline --dossier CODE -o FILE.html
    motcua-audit chain <service> [--json]
    motcua-audit verify --live --service <service> [--witness SERVICE]... [--trust PEM]
    motcua-audit export --service <service>|all [--after POSITION] [--until POSITION]
                        [--witness SERVICE]... -o BUNDLE
    motcua-audit verify BUNDLE [--trust PEM]

The API (the default): `history`, `state`, `log`, `events`, `trace` and `timeline` ask the
gateway at --api URL (default: MOTCUA_API_URL, else http://localhost:8080, the gateway of
`make run`), with the bearer token of an auditor or administrator (--token, --token-file,
MOTCUA_TOKEN or the file MOTCUA_TOKEN_FILE names; --tls-ca PEM or MOTCUA_TLS_CA checks an HTTPS
gateway against a private CA): no database credentials, and only the events of the token's
agency subtrees. An <aggregate> is a UUID, or for dossiers a dossier's code. `chain` shows the
service's sealed chain head, its unsealed tail and its latest signed checkpoints. `trace` asks every
service for the events of one trace and merges them by time; `timeline` writes a static HTML
page of one dossier's events across services (its own, and those of the traces it took part
in). FORMAT is table (default), json, csv or ndjson.

The database (--db, also spelt --direct; offline use): `history`, `state` and `log` read the
service's PostgreSQL database read-only, with the variables the services use (POSTGRES_HOST,
POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DBNAME, default motcua_<service>), or
a local stack with --profile run|test (which implies --db); with --db and no POSTGRES_HOST, the
stack of `make run`. POSTGRES_HOST set without --api or MOTCUA_API_URL also means the database:
the services' own settings name one. `verify --live` and `export` always read the database:
they check the raw stored rows against their seals, which the API does not hand out.

Exit codes: 0 done, 1 cannot answer (unknown aggregate, refused, no event log, server
unreachable...), 2 bad command line.

`verify --live` recomputes the service's hash chain (docs/audit-chain.md) from its events
table and compares it with the seals in motcua_chain. Exit codes: 0 every sealed record
verifies, 1 the chain is broken (the first broken position and what happened there are
printed), 2 bad command line or the database cannot be read. It then checks the service's signed
checkpoints, kept in its own database and, with --witness, in other services' databases: each
signature (against the audit certificates' trust root with --trust) and the digest each
checkpoint signed against the recomputed chain (`rewritten`: the log was rewritten together with
its chain; `bad signature`; exit 1).

`export` writes the sealed positions of a range of one or more services' logs, with their
seals, to one file (a tar archive; gzip when its name ends in .gz); `verify BUNDLE` checks it
offline with nothing but the file, with the same report and exit codes (2: not a readable
bundle). The format is in docs/audit-chain.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TextIO
from uuid import UUID

import psycopg
from eventsourcing.persistence import PersistenceError
from psycopg import sql

from motcua.kernel import cli_flags
from motcua.kernel.config import ConfigError, Settings
from motcua.kernel.sealer import CHAIN_TABLE

from . import bundle, chain_check, checkpoint_check, render
from .api_client import AuditApi, trace_id_of
from .reader import APPLICATION_NAMES, CONNECT_TIMEOUT, READ_ONLY, AuditError, EventLog, Unreachable, table_name

PROG = "motcua-audit"
PROFILE_NAMES = ("run", "test")
# A dossier's code (`<agency>-<yymmdd>-<number>`): the API finds the dossier by it.
DOSSIER_CODE = re.compile(r"^[0-9A-Za-z.]+-[0-9]{6}-[0-9]+$")


def _aggregate_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid aggregate id {text!r}: expected a UUID") from None


def _aggregate(text: str) -> UUID | str:
    """An aggregate's UUID, or a dossier's code (resolved by the API)."""
    try:
        return UUID(text)
    except ValueError:
        if DOSSIER_CODE.match(text.strip()):
            return text.strip()
        raise argparse.ArgumentTypeError(
            f"invalid aggregate {text!r}: expected a UUID, or a dossier's code such as 000.00.10.H56-261121-0001"
        ) from None


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
        help="read the database of the local stack of this profile (make run: run; the test session: test) "
             "instead of the POSTGRES_* environment variables",
    )
    connection.add_argument("--db", "--direct", dest="db", action="store_true", default=argparse.SUPPRESS,
                            help="read the service's database directly instead of the API (offline use)")
    main = argparse.ArgumentParser(
        prog=PROG,
        description="Read a motcua service's event log, read-only: what was recorded, by whom, when. Through "
                    "the auditor API by default; --db reads the databases directly.",
        epilog=f"API: --api URL (default {cli_flags.API_URL_ENV}, else {cli_flags.DEFAULT_API_URL}: the gateway of "
               "`make run`) with an auditor's or administrator's token. Database (--db, --profile, or "
               "POSTGRES_HOST set without --api/MOTCUA_API_URL): POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, "
               "POSTGRES_PASSWORD, POSTGRES_DBNAME (default motcua_<service>), as the services read them; with "
               "none set, the stack of `make run`. verify --live and export always read the database.",
    )
    main.add_argument("--profile", choices=PROFILE_NAMES, default=None,
                      help="read the database of the local stack of this profile (implies --db; also accepted "
                           "after the command)")
    main.add_argument("--db", "--direct", dest="db", action="store_true", default=False,
                      help="read the services' databases directly instead of the API (offline use; also accepted "
                           "after the command)")
    cli_flags.add_api(main, default=None)
    cli_flags.add_token(main, "an auditor's or administrator's")
    cli_flags.add_tls(main)
    cli_flags.add_version(main, "motcua-audit")
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
    history.add_argument("aggregate_id", type=_aggregate, metavar="AGGREGATE",
                         help="a UUID, or through the API a dossier's code")
    history.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    history.add_argument("--format", choices=render.FORMATS, default=None,
                         help="through the API: the output format (default table)")

    state = commands.add_parser(
        "state", parents=[connection], help="an aggregate's state (JSON), now or as of a time or version"
    )
    state.add_argument("service", **service)
    state.add_argument("aggregate_id", type=_aggregate, metavar="AGGREGATE",
                       help="a UUID, or through the API a dossier's code")
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
    log.add_argument("--format", choices=render.FORMATS, default=None,
                     help="through the API: the output format (default table)")

    verify = commands.add_parser(
        "verify", parents=[connection],
        help="check a hash chain: an exported bundle offline, or a service's database with --live "
             "(always the database: the raw rows and their seals; exit 0 intact, 1 broken, 2 usage, unreadable "
             "bundle or connection)",
    )
    verify.add_argument("bundle", nargs="?", type=Path, metavar="BUNDLE",
                        help="a bundle written by `export`: checked with nothing but the file")
    verify.add_argument("--live", action="store_true",
                        help="read the service's database directly instead of a bundle")
    verify.add_argument("--service", **service)
    verify.add_argument("--witness", action="append", default=[], choices=list(APPLICATION_NAMES),
                        metavar="SERVICE", help="with --live: also check the service's checkpoints kept in this "
                                                "service's database (repeatable)")
    verify.add_argument("--trust", type=Path, metavar="PEM",
                        help="the audit key's trust roots (PEM certificates): every checkpoint's certificate must "
                             "chain to one of them (without it, signatures are checked against the certificates "
                             "the checkpoints carry)")

    export = commands.add_parser(
        "export", parents=[connection],
        help="write a range of event logs with their seals to one file (a bundle) that `verify BUNDLE` "
             "checks offline (always from the databases: the raw rows and their seals)",
    )
    export.add_argument("--service", action="append", required=True, choices=[*APPLICATION_NAMES, "all"],
                        metavar="SERVICE", help="a service to export (repeatable), or all")
    export.add_argument("--after", type=_count(0), default=0, metavar="POSITION",
                        help="start after this position (default 0: the beginning)")
    export.add_argument("--until", type=_count(1), default=None, metavar="POSITION",
                        help="end at this position (default: the last sealed one)")
    export.add_argument("--witness", action="append", default=[], choices=list(APPLICATION_NAMES),
                        metavar="SERVICE", help="also export the checkpoints kept in this service's database "
                                                "(repeatable)")
    export.add_argument("--output", "-o", type=Path, required=True, metavar="FILE",
                        help="the bundle to write: a tar archive, gzip-compressed if FILE ends in .gz")
    events = commands.add_parser("events", help="through the API: a service's events, filtered")
    events.add_argument("service", **service)
    events.add_argument("--dossier", default="", metavar="CODE", help="the dossier with this code (dossiers)")
    events.add_argument("--aggregate", type=_aggregate_id, default=None, metavar="ID", help="one aggregate's events")
    events.add_argument("--actor", default="", help="recorded by this actor (token subject)")
    events.add_argument("--type", default="", metavar="TYPE", help="of this type, e.g. Dossier.Received")
    cli_flags.add_agency(events, "recorded by actors of this agency")
    events.add_argument("--since", type=_moment, default=None, metavar="TIME", help="recorded at or after")
    events.add_argument("--until", type=_moment, default=None, metavar="TIME", help="recorded before")
    events.add_argument("--trace", default="", metavar="TRACE_ID", help="recorded in this trace")
    events.add_argument("--limit", type=_count(1), default=None, metavar="N", help="at most N events")
    events.add_argument("--format", choices=render.FORMATS, default="table")

    trace = commands.add_parser("trace", help="through the API: one trace's events across every service, by time")
    trace.add_argument("trace_id", metavar="TRACE_ID", help="32 hexadecimal digits")
    trace.add_argument("--format", choices=render.FORMATS, default="table")

    timeline = commands.add_parser("timeline", help="through the API: an HTML page of one dossier across services")
    timeline.add_argument("--dossier", required=True, metavar="CODE", help="the dossier's code")
    timeline.add_argument("--output", "-o", type=Path, required=True, metavar="FILE.html")

    chain = commands.add_parser("chain", help="through the API: the service's chain head, unsealed tail and latest "
                                              "signed checkpoints (verify --live checks them)")
    chain.add_argument("service", **service)
    chain.add_argument("--json", action="store_true", help="the API's JSON instead of lines")
    return main


API_COMMANDS = ("events", "trace", "timeline", "chain")  # the API only
DATABASE_COMMANDS = ("verify", "export")  # the database only: the raw rows and their seals


def reads_database(args: argparse.Namespace, environ: Mapping[str, str]) -> bool:
    """Whether the command reads the database rather than the API (see the module's docstring)."""
    if args.command in DATABASE_COMMANDS or args.db or args.profile is not None:
        return True
    return not args.api and bool(environ.get("POSTGRES_HOST")) and args.command not in API_COMMANDS


def _rfc3339(moment: datetime | None) -> str:
    return render.when(moment) or ""


def _api(args: argparse.Namespace) -> AuditApi:
    try:
        return AuditApi(args.api or cli_flags.DEFAULT_API_URL, cli_flags.token(args), cli_flags.ssl_context(args))
    except cli_flags.FlagError as e:
        raise UsageError(str(e)) from None


def run_api(args: argparse.Namespace, out: TextIO) -> None:
    """The commands through the API (see the module's docstring)."""
    api = _api(args)
    if args.command == "history":
        code = args.aggregate_id if isinstance(args.aggregate_id, str) else ""
        found = list(api.events(args.service, dossier_code=code, aggregate_id="" if code else str(args.aggregate_id)))
        if not found:
            raise AuditError(f"no events of aggregate {args.aggregate_id} visible in the {args.service} log")
        print(render.events_output(found, args.format or ("json" if args.json else "table")), file=out)
    elif args.command == "state":
        state = api.state(args.service, str(args.aggregate_id), version=args.version or 0,
                          read_time=_rfc3339(args.at) if args.at is not None else "")
        print(render.to_json(state), file=out)
    elif args.command == "log":
        found = list(api.events(args.service, args.limit, after_position=str(args.after) if args.after else ""))
        print(render.events_output(found, args.format or ("json" if args.json else "table")), file=out)
        if len(found) == args.limit:
            print(f"(more may follow: --after {found[-1]['position']})", file=sys.stderr)
    elif args.command == "events":
        found = list(api.events(
            args.service, args.limit, dossier_code=args.dossier,
            aggregate_id=str(args.aggregate) if args.aggregate else "", actor=args.actor, event_type=args.type,
            agency_id=args.agency, start_time=_rfc3339(args.since), end_time=_rfc3339(args.until),
            trace_id=args.trace))
        print(render.events_output(found, args.format), file=out)
    elif args.command == "trace":
        print(render.events_output(trace_events(api, [args.trace_id.lower()]), args.format), file=out)
    elif args.command == "chain":
        status = api.chain(args.service)
        if args.json:
            print(render.to_json(status), file=out)
        else:
            print(f"{args.service}: sealed up to position {status.get('sealed_position', '0')} "
                  f"(digest {status.get('sealed_digest') or '-'}), last position {status.get('last_position', '0')}, "
                  f"{status.get('unsealed_events', '0')} not sealed yet", file=out)
            for c in status.get("latest_checkpoints", []):
                stamped = ", timestamped" if c.get("timestamped") else ""
                print(f"  checkpoint at {c.get('position')}: {c.get('digest')} signed {c.get('sign_time', '-')} "
                      f"by key {c.get('key_id', '')[:16]}…{stamped}", file=out)
    elif args.command == "timeline":
        own = list(api.events("dossiers", dossier_code=args.dossier))
        traces = sorted({t for t in (trace_id_of(e["traceparent"]) for e in own) if t})
        merged = {(e["service"], e["position"]): e for e in [*own, *trace_events(api, traces)]}
        ordered = sorted(merged.values(), key=lambda e: (e["record_time"], e["service"], e["position"]))
        page = render.timeline_html(f"Hồ sơ {args.dossier}", ordered, render.when(datetime.now(UTC)) or "")
        args.output.write_text(page, encoding="utf-8")
        print(f"wrote {args.output} ({len(ordered)} events from {len({e['service'] for e in ordered})} services)",
              file=out)


class UsageError(AuditError):
    """A flag cannot be used (exit 2, as for a bad command line)."""


def trace_events(api: AuditApi, trace_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every service's events of these traces, merged by time. A service that cannot answer is
    named on stderr; the others still count."""
    found: list[dict[str, Any]] = []
    for service in APPLICATION_NAMES:
        for trace_id in trace_ids:
            try:
                found += api.events(service, trace_id=trace_id)
            except AuditError as e:
                print(f"{PROG}: warning: {service}: {e}", file=sys.stderr)
                break
    return sorted(found, key=lambda e: (e["record_time"], e["service"], e["position"]))


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
    if not reads_database(args, os.environ):
        run_api(args, out)
        return
    if args.command in API_COMMANDS:
        raise UsageError(f"{args.command} reads through the auditor API: drop --db/--profile")
    if args.command in ("history", "state") and not isinstance(args.aggregate_id, UUID):
        raise UsageError(f"a dossier's code is found through the API; with the database give the dossier's id "
                         f"(not {args.aggregate_id})")
    profile = local_profile(args.profile, os.environ)
    if args.command == "verify":
        try:
            roots = _trust_roots(args.trust)
            if args.bundle is not None:
                sys.exit(verify_bundle(args.bundle, out, roots))
            env = store_env(args.service, profile, os.environ)
            witnesses = {w: witness_env(w, profile) for w in dict.fromkeys(args.witness) if w != args.service}
        except AuditError as e:
            print(f"{PROG}: error: {e}", file=sys.stderr)
            sys.exit(2)
        sys.exit(verify_live(args.service, env, out, witnesses, roots))
    if args.command == "export":
        sys.exit(export(args, profile, out))
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
            if args.json or args.format == "json":
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
            if args.json or args.format == "json":
                print(render.to_json([render.event_record(e, log=True) for e in recorded]), file=out)
            else:
                print(render.log_table(recorded), file=out)
                if len(recorded) == args.limit:
                    print(f"(more may follow: --after {recorded[-1].position})", file=sys.stderr)


def _connect(env: Mapping[str, str]) -> psycopg.Connection[Any]:
    """A read-only session on a database (raises psycopg.Error)."""
    return psycopg.connect(
        host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"], password=env.get("POSTGRES_PASSWORD", ""),
        connect_timeout=CONNECT_TIMEOUT, options=READ_ONLY,
    )


@contextlib.contextmanager
def _snapshot(env: Mapping[str, str], service: str) -> Iterator[psycopg.Connection[Any]]:
    """A read-only, repeatable-read session on the service's database, its log and chain tables
    checked: the log and the seals are read as one snapshot, whatever a sealer appends meanwhile.
    Raises AuditError with what is wrong."""
    where = f"database {env['POSTGRES_DBNAME']} on {env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}"
    schema = env.get("POSTGRES_SCHEMA") or "public"
    try:
        with psycopg.connect(
            host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"], password=env.get("POSTGRES_PASSWORD", ""),
            connect_timeout=CONNECT_TIMEOUT, options=READ_ONLY,
        ) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            missing = [t for t in (table_name(service), CHAIN_TABLE) if conn.execute(
                "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s", (schema, t)
            ).fetchone() is None]
            if missing:
                raise AuditError(f"no table {', '.join(missing)} in {where}")
            yield conn
    except psycopg.Error as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise AuditError(f"cannot read {where}: {reason}") from None


def witness_env(service: str, profile: str | None) -> dict[str, str]:
    """The settings to read a witness's database with: as the service's, in its own database."""
    return store_env(service, profile, {k: v for k, v in os.environ.items() if k != "POSTGRES_DBNAME"})


def _trust_roots(path: Path | None) -> list[Any] | None:
    if path is None:
        return None
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as e:
        raise AuditError(f"cannot read trust roots from {path}: {e}") from None


def witnessed_checkpoints(service: str, database: str, witnesses: Mapping[str, Mapping[str, str]],
                          after: int = 0, until: int | None = None) -> list[checkpoint_check.Checkpoint]:
    """The checkpoints of the service's log kept in the witnesses' databases."""
    found = []
    for witness_env_ in witnesses.values():
        where = witness_env_["POSTGRES_DBNAME"]
        try:
            with _connect(witness_env_) as conn:
                found += checkpoint_check.read(conn, service, database, where,
                                               witness_env_.get("POSTGRES_SCHEMA") or "public", after, until)
        except psycopg.Error as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise AuditError(f"cannot read the checkpoints kept in {where}: {reason}") from None
    return found


def verify_live(service: str, env: Mapping[str, str], out: TextIO,
                witnesses: Mapping[str, Mapping[str, str]] | None = None, roots: list[Any] | None = None) -> int:
    """Checks the service's chain, then its checkpoints; prints the outcome; returns the exit
    code."""
    schema = env.get("POSTGRES_SCHEMA") or "public"
    database = env["POSTGRES_DBNAME"]
    try:
        # The witnesses first: a checkpoint they hold is of a position the snapshot below reaches.
        checkpoints = witnessed_checkpoints(service, database, witnesses or {})
        with _snapshot(env, service) as conn, _progress(service, _last_seal(conn)) as progress:
            checkpoints += checkpoint_check.read(conn, service, database, database, schema)
            digests = {c.position: b"" for c in checkpoints}
            outcome = chain_check.verify(conn, table_name(service), schema, progress, digests)
    except AuditError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return _report_checkpoints(service, outcome, digests, checkpoints, roots, out)


def _report_checkpoints(service: str, outcome: chain_check.Outcome, digests: dict[int, bytes],
                        checkpoints: list[checkpoint_check.Checkpoint], roots: list[Any] | None, out: TextIO,
                        span: str = "") -> int:
    if outcome.broken is not None:
        return _report(service, outcome, out, span)
    summary, broken = checkpoint_check.check(outcome, digests, checkpoints, roots)
    if broken is not None:
        print(f"BROKEN {service} at position {broken.position}: {broken.kind}: {broken.detail} "
              f"({outcome.verified} records agree with their seals; {summary.checked} checkpoints verified "
              "before it)", file=out)
        return 1
    code = _report(service, outcome, out, span)
    if checkpoints:
        print(checkpoint_check.report_line(service, summary), file=out)
    else:
        print(f"{PROG}: no signed checkpoints of {service} found: a log rewritten with its chain would go "
              "unnoticed", file=sys.stderr)
    return code


def _report(service: str, outcome: chain_check.Outcome, out: TextIO, span: str = "") -> int:
    if outcome.broken is not None:
        print(f"BROKEN {service} at position {outcome.broken.position}: {outcome.broken.kind}: "
              f"{outcome.broken.detail} ({outcome.verified} records verified before it)", file=out)
        return 1
    tail = f", {outcome.unsealed} newer not sealed yet" if outcome.unsealed else ""
    print(f"OK {service}: {outcome.verified} records verified, sealed up to position {outcome.head}{span}{tail}",
          file=out)
    return 0


def verify_bundle(path: Path, out: TextIO, roots: list[Any] | None = None) -> int:
    """Checks every log of an exported bundle, offline; prints one line per service; returns
    the exit code (1 if any log is broken)."""
    bars: list[Callable[[int], None]] = []

    def progress(service: str, first: int, last: int) -> Callable[[int], None] | None:
        bar = _progress_bar(service, last, first)
        bars.extend([bar] if bar is not None else [])
        return bar

    try:
        checked = bundle.check_bundle(path, progress)
    except bundle.BundleError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    finally:
        for bar in bars:
            bar(-1)
    codes = [_report_checkpoints(c.service, c.outcome, c.digests, c.checkpoints, roots, out,
                                 f" (bundle: positions {c.first}-{c.last})" if c.first else "")
             for c in checked]
    return max(codes, default=0)


def export(args: argparse.Namespace, profile: str | None, out: TextIO) -> int:
    """Writes the bundle; prints what each service's log gave; returns the exit code."""
    services = list(APPLICATION_NAMES) if "all" in args.service else list(dict.fromkeys(args.service))
    try:
        envs = {service: store_env(service, profile, os.environ) for service in services}
        witnesses = {w: witness_env(w, profile) for w in dict.fromkeys(args.witness)}
    except AuditError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2

    def exporter(service: str) -> Callable[[IO[bytes]], tuple[bundle.Exported, dict[str, Any]]]:
        def write(to: IO[bytes]) -> tuple[bundle.Exported, dict[str, Any]]:
            env = envs[service]
            database = env["POSTGRES_DBNAME"]
            others = {w: e for w, e in witnesses.items() if w != service}
            checkpoints = witnessed_checkpoints(service, database, others, args.after, args.until)
            schema = env.get("POSTGRES_SCHEMA") or "public"
            with _snapshot(env, service) as conn, _progress(service, _last_seal(conn)) as progress:
                checkpoints += checkpoint_check.read(conn, service, database, database, schema, args.after,
                                                     args.until)
                return bundle.export_log(conn, service, table_name(service), to, args.after, args.until,
                                         schema, progress, database, checkpoints)

        return write

    try:
        exported = bundle.write_bundle(args.output, [(service, exporter(service)) for service in services])
    except AuditError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: error: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 2
    for log in exported:
        span = f"positions {log.first}-{log.last}" if log.records else "no positions in the range"
        tail = f"; {log.unsealed} newer not sealed yet, left out" if log.unsealed else ""
        signed = f", {log.checkpoints} signed checkpoints" if log.checkpoints else ""
        print(f"exported {log.service}: {log.records} positions, {span}{signed}{tail}", file=out)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)", file=out)
    return 0


def _last_seal(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(
        sql.Identifier(CHAIN_TABLE))).fetchone()
    return row[0] if row else 0


@contextlib.contextmanager
def _progress(service: str, last: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar by position on a terminal; nothing otherwise (pipes, logs, tests)."""
    bar = _progress_bar(service, last)
    try:
        yield bar
    finally:
        if bar is not None:
            bar(-1)


def _progress_bar(service: str, last: int, first: int = 0) -> Callable[[int], None] | None:
    """A callback told each position reached (-1: done, close the bar), or None off a terminal."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=max(last - first, 0), unit=" id", desc=service, file=sys.stderr)

    def advance(position: int) -> None:
        if position < 0:
            bar.close()
        elif position - first - bar.n >= 1000 or position == last:  # redrawing per record would cost more
            bar.update(position - first - bar.n)

    return advance


def main(argv: Sequence[str] | None = None) -> None:
    for stream in (sys.stdout, sys.stderr):  # Vietnamese as-is, whatever the locale
        if isinstance(stream, io.TextIOWrapper) and (stream.encoding or "").lower().replace("-", "") != "utf8":
            stream.reconfigure(encoding="utf-8")
    command_line = parser()
    args = command_line.parse_args(argv)  # exits 2 on a bad command line
    if args.command == "verify":
        if (args.bundle is None) == (not args.live):
            command_line.error("verify takes either BUNDLE or --live --service SERVICE")
        if args.live and args.service is None:
            command_line.error("verify --live needs --service SERVICE")
        if args.bundle is not None and args.service is not None:
            command_line.error("--service goes with --live: a bundle names its services")
        if args.bundle is not None and args.witness:
            command_line.error("--witness goes with --live: a bundle holds the checkpoints it was exported with")
    try:
        run(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(2)
    except (AuditError, PersistenceError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
