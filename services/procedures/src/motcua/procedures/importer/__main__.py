"""motcua-import-procedures FILE [--agency EID] [--dry-run] [--addr HOST:PORT] [--tls-ca PEM]
                             [--token TOKEN | --token-file FILE]"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from motcua.kernel import cli_flags
from motcua.procedures.v1 import procedure_service_pb2_grpc

from .records import load
from .sync import CREATED, FAILED, INVALID, UNCHANGED, UPDATED, WOULD, Importer

ORDER = (CREATED, WOULD[CREATED], UPDATED, WOULD[UPDATED], UNCHANGED, INVALID, FAILED)
DEFAULT_TARGET = "127.0.0.1:15052"  # the procedures service of `make run`


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="motcua-import-procedures",
        description="Import procedures from the national procedures database's JSON into the catalog.",
    )
    parser.add_argument("file", type=Path, help="JSON array of procedure records")
    cli_flags.add_agency(parser, "electronic identifier of the agency for records that name none, e.g. "
                                 "000.00.01.H56")
    parser.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    cli_flags.add_addr(parser, "MOTCUA_PROCEDURES_ADDR", DEFAULT_TARGET, "the procedures service",
                       old_spellings=("--target",))
    cli_flags.add_token(parser, "a procedure manager's")
    cli_flags.add_tls(parser)
    parser.add_argument("--quiet", action="store_true", help="print only the summary and the records that failed")
    cli_flags.add_version(parser, "motcua-procedures")
    args = parser.parse_args(argv)

    try:
        records = load(json.loads(args.file.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        parser.error(f"cannot read {args.file}: {e}")
    try:
        token = cli_flags.token(args)
        grpc_channel = cli_flags.grpc_channel(args)
    except cli_flags.FlagError as e:
        parser.error(str(e))
    metadata = [("authorization", f"Bearer {token}")] if token else []

    counts: Counter[str] = Counter()
    with grpc_channel:
        importer = Importer(
            procedure_service_pb2_grpc.ProcedureServiceStub(grpc_channel), args.agency, args.dry_run, metadata
        )
        # A progress bar on a terminal (stderr) for large files; nothing when piped.
        for index, record in enumerate(tqdm(records, desc="procedures", unit="record", file=sys.stderr, disable=None)):
            outcome = importer.import_record(index, record)
            counts[outcome.action] += 1
            if not args.quiet or outcome.action in (INVALID, FAILED):
                version = f" (version {outcome.version_number})" if outcome.version_number else ""
                detail = f": {outcome.detail}" if outcome.detail else ""
                tqdm.write(
                    f"#{index + 1} {outcome.action} {outcome.code} {outcome.name}{version}{detail}", file=sys.stdout
                )
    summary = ", ".join(f"{counts[action]} {action}" for action in ORDER if counts[action])
    print(f"{len(records)} records{' (dry run)' if args.dry_run else ''}: {summary or 'nothing to do'}")
    return 1 if counts[INVALID] or counts[FAILED] else 0


if __name__ == "__main__":
    sys.exit(main())
