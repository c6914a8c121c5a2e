"""Seeds accounts with passwords and role grants from a JSON file, over gRPC, as an
administrator would create them; running it again changes nothing.

    python -m motcua.identity.seed_accounts infra/local/seed/accounts.dev.json \\
        [--addr 127.0.0.1:15051] [--token JWT | --dev-token]

The file is a list of {"kind" (citizen, business, officer), "display_name", "password",
"login", "personal_id_number", "tax_code", "phone", "email", "agency_id", "unit",
"grants": [{"role", "agency_id"}]}. An account that exists already (same login, personal
id number or tax code) keeps its password; its missing grants are added. For development
and demonstrations: the passwords are in the file.

The caller must be an administrator of the agencies named, and a credential officer for
citizens and businesses (`--token` or MOTCUA_TOKEN, or `--dev-token` for a development token
of the province's administrator and credential officer, where those are on).
Exit code 0 when every account exists with its grants afterwards, 1 otherwise, 2 for a bad
command line or file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import grpc

from motcua.identity.v1 import account_pb2, identity_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.role_protos import role_enum

from .convert import ACCOUNT_KINDS
from .seeding import run_seed, seed_parser

PROVINCE = "000.00.00.H56"  # the sample tree's root, whose administrator a development token is for
PROFILE_FIELDS = ("display_name", "login", "personal_id_number", "tax_code", "phone", "email", "agency_id", "unit")


class BadFile(Exception):
    pass


def read(path: Path) -> list[dict[str, Any]]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise BadFile("the file must hold a JSON list")
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kind") not in ACCOUNT_KINDS or not entry.get("display_name"):
            raise BadFile(f"every account needs a kind ({', '.join(ACCOUNT_KINDS)}) and a display_name: {entry!r}")
        for grant in entry.get("grants", []):
            role_enum(grant.get("role", ""))  # ValueError for an unknown role
    return entries


def _same_person(account: account_pb2.Account, entry: dict[str, Any]) -> bool:
    return any(entry.get(key) and getattr(account, key) == entry[key]
               for key in ("login", "personal_id_number", "tax_code"))


def _existing(stub: Any, entry: dict[str, Any], metadata: tuple) -> account_pb2.Account:
    request = pb.ListAccountsRequest(kind=ACCOUNT_KINDS[entry["kind"]], agency_id=entry.get("agency_id", ""),
                                     page_size=100)
    while True:
        page = stub.ListAccounts(request, metadata=metadata)
        for account in page.accounts:
            if _same_person(account, entry):
                return account
        if not page.next_page_token:
            raise LookupError(f"{_name(entry)} exists but cannot be found among the accounts listed")
        request.page_token = page.next_page_token


def _name(entry: dict[str, Any]) -> str:
    return entry.get("login") or entry.get("personal_id_number") or entry.get("tax_code") or entry["display_name"]


def seed(stub: Any, entries: list[dict[str, Any]], metadata: tuple) -> dict[str, int]:
    counts = {"created": 0, "unchanged": 0, "granted": 0, "failed": 0}
    for entry in entries:
        request = pb.CreateAccountRequest(kind=ACCOUNT_KINDS[entry["kind"]], password=entry.get("password", ""),
                                          **{key: entry[key] for key in PROFILE_FIELDS if entry.get(key)})
        try:
            try:
                account = stub.CreateAccount(request, metadata=metadata).account
                counts["created"] += 1
                print(f"created   {_name(entry)}  {entry['display_name']}")
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
                account = _existing(stub, entry, metadata)
                counts["unchanged"] += 1
                print(f"exists    {_name(entry)}  {account.display_name}")
            held = {(g.role, g.agency_id) for g in account.grants}
            for grant in entry.get("grants", []):
                role = role_enum(grant["role"])
                if (role, grant["agency_id"]) in held:
                    continue
                stub.GrantRole(pb.GrantRoleRequest(account_id=account.account_id, role=role,
                                                   agency_id=grant["agency_id"]), metadata=metadata)
                counts["granted"] += 1
                print(f"granted   {_name(entry)}  {grant['role']} in {grant['agency_id']}")
        except (grpc.RpcError, LookupError) as e:
            counts["failed"] += 1
            reason = f"{e.code().name}: {e.details()}" if isinstance(e, grpc.RpcError) else str(e)
            print(f"FAILED    {_name(entry)}  {reason}", file=sys.stderr)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = seed_parser("python -m motcua.identity.seed_accounts", __doc__.split("\n\n")[0], "accounts",
                         "get a development token of the province's administrator")
    args = parser.parse_args(argv)
    try:
        entries = read(args.file)
    except (OSError, ValueError, BadFile) as e:
        print(f"{args.file}: {e}", file=sys.stderr)
        return 2
    # Citizens and businesses are opened by a credential officer, officers by their administrator.
    return run_seed(args, PROVINCE, "seed_accounts", lambda stub, metadata: seed(stub, entries, metadata),
                    roles=(Role.ROLE_ADMINISTRATOR, Role.ROLE_CREDENTIAL_OFFICER))


if __name__ == "__main__":
    sys.exit(main())
