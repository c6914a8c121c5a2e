"""What the seed commands share: their command line (the flags of every motcua tool:
kernel.cli_flags), the administrator's token and the run against identity's gRPC API (one
channel, TLS with --tls-ca; counts printed; exit codes 0 done, 1 refused or failed records,
2 bad file or flag)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import grpc

from motcua.identity.v1 import identity_service_pb2 as pb, identity_service_pb2_grpc
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel import cli_flags

DEFAULT_ADDR = "127.0.0.1:15051"  # identity in `make run`'s stack

Metadata = tuple[tuple[str, str], ...]


def seed_parser(prog: str, description: str, what: str, dev_token_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("file", type=Path, help=f"JSON list of {what}")
    cli_flags.add_addr(parser, "MOTCUA_IDENTITY_ADDR", DEFAULT_ADDR, "the identity service")
    cli_flags.add_token(parser, "an administrator's")
    parser.add_argument("--dev-token", action="store_true", help=dev_token_help)
    cli_flags.add_tls(parser)
    cli_flags.add_version(parser, "motcua-identity")
    return parser


def administrator_token(args: argparse.Namespace, stub: identity_service_pb2_grpc.IdentityServiceStub,
                        agency_id: str, caller: str,
                        roles: tuple[Role.ValueType, ...] = (Role.ROLE_ADMINISTRATOR,)) -> str:
    """--token (or MOTCUA_TOKEN), else with --dev-token a development token of ``roles`` (an
    administrator) at agency_id."""
    given = cli_flags.token(args)
    if given:
        return given
    if not args.dev_token:
        raise SystemExit("no token: pass --token (or set MOTCUA_TOKEN), or --dev-token where development tokens are on")
    return stub.IssueDevelopmentToken(pb.IssueDevelopmentTokenRequest(
        roles=list(roles), agency_id=agency_id, display_name=caller)).access_token


def run_seed(args: argparse.Namespace, agency_id: str, caller: str,
             seed: Callable[[identity_service_pb2_grpc.IdentityServiceStub, Metadata], dict[str, int]],
             roles: tuple[Role.ValueType, ...] = (Role.ROLE_ADMINISTRATOR,)) -> int:
    """Calls seed(stub, metadata) as the administrator; prints its counts; the exit code."""
    try:
        channel = cli_flags.grpc_channel(args)
    except cli_flags.FlagError as e:
        print(f"{e}", file=sys.stderr)
        return 2
    with channel:
        stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
        try:
            metadata = (("authorization", f"Bearer {administrator_token(args, stub, agency_id, caller, roles)}"),)
            counts = seed(stub, metadata)
        except grpc.RpcError as e:
            print(f"identity at {args.addr}: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
        except cli_flags.FlagError as e:
            print(f"{e}", file=sys.stderr)
            return 2
    print(", ".join(f"{n} {what}" for what, n in counts.items()))
    return 1 if counts["failed"] else 0
