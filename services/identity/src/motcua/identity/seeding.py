"""What the seed commands share: their command line, the administrator's token and the run
against identity's gRPC API (one channel; counts printed; exit codes 0 done, 1 refused or
failed records, 2 bad file)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import grpc

from motcua.identity.v1 import identity_service_pb2 as pb, identity_service_pb2_grpc
from motcua.identity.v1.role_pb2 import Role

DEFAULT_ADDR = "127.0.0.1:15051"  # identity in `make run`'s stack

Metadata = tuple[tuple[str, str], ...]


def seed_parser(prog: str, description: str, what: str, dev_token_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("file", type=Path, help=f"JSON list of {what}")
    parser.add_argument("--addr", default=os.environ.get("MOTCUA_IDENTITY_ADDR", DEFAULT_ADDR),
                        help=f"identity's gRPC address (default: MOTCUA_IDENTITY_ADDR or {DEFAULT_ADDR})")
    parser.add_argument("--token", default=os.environ.get("MOTCUA_TOKEN", ""), help="an administrator's access token")
    parser.add_argument("--dev-token", action="store_true", help=dev_token_help)
    return parser


def administrator_token(args: argparse.Namespace, stub: identity_service_pb2_grpc.IdentityServiceStub,
                        agency_id: str, caller: str,
                        roles: tuple[Role.ValueType, ...] = (Role.ROLE_ADMINISTRATOR,)) -> str:
    """--token (or MOTCUA_TOKEN), else with --dev-token a development token of ``roles`` (an
    administrator) at agency_id."""
    if args.token:
        return args.token
    if not args.dev_token:
        raise SystemExit("no token: pass --token (or set MOTCUA_TOKEN), or --dev-token where development tokens are on")
    return stub.IssueDevelopmentToken(pb.IssueDevelopmentTokenRequest(
        roles=list(roles), agency_id=agency_id, display_name=caller)).access_token


def run_seed(args: argparse.Namespace, agency_id: str, caller: str,
             seed: Callable[[identity_service_pb2_grpc.IdentityServiceStub, Metadata], dict[str, int]],
             roles: tuple[Role.ValueType, ...] = (Role.ROLE_ADMINISTRATOR,)) -> int:
    """Calls seed(stub, metadata) as the administrator; prints its counts; the exit code."""
    with grpc.insecure_channel(args.addr) as channel:
        stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
        try:
            metadata = (("authorization", f"Bearer {administrator_token(args, stub, agency_id, caller, roles)}"),)
            counts = seed(stub, metadata)
        except grpc.RpcError as e:
            print(f"identity at {args.addr}: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
    print(", ".join(f"{n} {what}" for what, n in counts.items()))
    return 1 if counts["failed"] else 0
