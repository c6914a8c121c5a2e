"""Seeds the agency tree from a JSON file, over gRPC; running it again changes nothing.

    python -m motcua.identity.seed_agencies infra/local/seed/agencies.sample.json \\
        [--addr 127.0.0.1:15051] [--token JWT | --dev-token] [--valid-from 2025-07-01]

The file is a list of {"eid", "name", "kind", "parent"} (kind: province, department,
service_center, district, commune; parent: an eid or null), optionally with "valid_from"
(YYYY-MM-DD). Parents are created before their children. An agency that exists already
is left as it is (reported when its name, kind or parent differ from the file).

The caller must be an administrator of the tree's root: `--token` (or MOTCUA_TOKEN), or
`--dev-token` to get a development token for one from the identity service itself (only
where development tokens are on, as with `make run`). Exit code 0 when every agency exists
afterwards, 1 otherwise, 2 for a bad command line or file.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import grpc
from google.type import date_pb2

from motcua.identity.v1 import identity_service_pb2 as pb

from .convert import AGENCY_KINDS
from .seeding import run_seed, seed_parser


class BadFile(Exception):
    pass


def ordered(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents before children; BadFile for unknown kinds, unknown parents or cycles."""
    by_eid: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("eid") or not entry.get("name"):
            raise BadFile(f"every agency needs an eid and a name: {entry!r}")
        if entry.get("kind") not in AGENCY_KINDS:
            raise BadFile(f"{entry['eid']}: kind must be one of {', '.join(AGENCY_KINDS)}")
        by_eid[entry["eid"]] = entry
    result: list[dict[str, Any]] = []
    placed: set[str] = set()

    def place(eid: str, trail: tuple[str, ...]) -> None:
        if eid in placed:
            return
        if eid in trail:
            raise BadFile(f"the parents of {eid} form a cycle")
        parent = by_eid[eid].get("parent")
        if parent:
            if parent not in by_eid:
                raise BadFile(f"{eid}: parent {parent} is not in the file")
            place(parent, (*trail, eid))
        placed.add(eid)
        result.append(by_eid[eid])

    for eid in by_eid:
        place(eid, ())
    return result


def _date(text: str | None) -> date_pb2.Date | None:
    if not text:
        return None
    day = date.fromisoformat(text)
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def seed(stub: Any, entries: list[dict[str, Any]], metadata: tuple, valid_from: str | None = None) -> dict[str, int]:
    counts = {"created": 0, "unchanged": 0, "different": 0, "failed": 0}
    for entry in ordered(entries):
        eid, parent = entry["eid"], entry.get("parent") or ""
        request = pb.CreateAgencyRequest(
            agency_id=eid,
            name=entry["name"],
            kind=AGENCY_KINDS[entry["kind"]],
            parent_agency_id=parent,
            valid_from=_date(entry.get("valid_from") or valid_from),
        )
        try:
            stub.CreateAgency(request, metadata=metadata)
            counts["created"] += 1
            print(f"created   {eid}  {entry['name']}")
            continue
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                counts["failed"] += 1
                print(f"FAILED    {eid}  {e.code().name}: {e.details()}", file=sys.stderr)
                continue
        existing = stub.GetAgency(pb.GetAgencyRequest(agency_id=eid), metadata=metadata).agency
        same = (existing.name, existing.kind, existing.parent_agency_id) == (entry["name"], request.kind, parent)
        counts["unchanged" if same else "different"] += 1
        print(f"{'exists' if same else 'DIFFERS':9} {eid}  {existing.name}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = seed_parser("motcua-seed-agencies", __doc__.split("\n\n")[0], "agencies",
                         "get a development token for the root's administrator")
    parser.add_argument("--valid-from", help="first day in force of agencies whose entry has none (default: today)")
    args = parser.parse_args(argv)
    try:
        entries = json.loads(args.file.read_text(encoding="utf-8"))
        if not isinstance(entries, list):
            raise BadFile("the file must hold a JSON list")
        roots = [e["eid"] for e in ordered(entries) if not e.get("parent")]
        if args.valid_from:
            date.fromisoformat(args.valid_from)
    except (OSError, ValueError, BadFile) as e:
        print(f"{args.file}: {e}", file=sys.stderr)
        return 2
    if len(roots) != 1:
        print(f"{args.file}: needs exactly one root agency, found {len(roots)}", file=sys.stderr)
        return 2
    return run_seed(args, roots[0], "seed_agencies",
                    lambda stub, metadata: seed(stub, entries, metadata, args.valid_from))


if __name__ == "__main__":
    sys.exit(main())
