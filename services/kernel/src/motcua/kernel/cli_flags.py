"""The flags every motcua command-line tool spells the same way (motcua-audit,
motcua-seed-agencies, motcua-import-procedures, motcua-calendar-import, and the deployment's
motcua-migrate, motcua-deploy and walk-through, each taking those that name something it talks to):

* ``--addr HOST:PORT``: a service's gRPC address (each tool names its own environment variable
  and default: the stack of `make run`);
* ``--api URL``: the gateway's REST (``MOTCUA_API_URL``; default the gateway of `make run`);
* ``--agency EID``: an agency's electronic identifier;
* ``--token TOKEN`` / ``--token-file FILE``: the caller's bearer token (else ``MOTCUA_TOKEN``,
  else the file named by ``MOTCUA_TOKEN_FILE``): a file keeps the token out of the process
  list and the shell's history;
* ``--tls-ca PEM`` (``MOTCUA_TLS_CA``): the CA certificates that the server's certificate
  must chain to; given, gRPC channels are TLS channels and HTTPS is checked against them;
* ``--version``.

Older spellings a tool had (``--target``, ``--agency-id``) stay accepted, hidden from --help,
so that scripts written against them keep working.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import ssl
from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc

from .grpc_client import channel as traced_channel

API_URL_ENV = "MOTCUA_API_URL"
DEFAULT_API_URL = "http://localhost:8080"  # the gateway of `make run`
TOKEN_ENV = "MOTCUA_TOKEN"
TOKEN_FILE_ENV = "MOTCUA_TOKEN_FILE"
TLS_CA_ENV = "MOTCUA_TLS_CA"


class FlagError(Exception):
    """A flag's value cannot be used; the message says why (the tools exit 2 on it)."""


def add_version(parser: argparse.ArgumentParser, distribution: str) -> None:
    """``--version``: the installed distribution's version."""
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    parser.add_argument("--version", action="version", version=f"%(prog)s {version}")


def add_addr(parser: argparse.ArgumentParser, env: str, default: str, what: str,
             old_spellings: Sequence[str] = ()) -> None:
    """``--addr``: the gRPC address of ``what`` (default: the variable ``env``, else
    ``default``)."""
    parser.add_argument("--addr", default=os.environ.get(env) or default, metavar="HOST:PORT",
                        help=f"the gRPC address of {what} (default: {env} or {default})")
    for spelling in old_spellings:
        parser.add_argument(spelling, dest="addr", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_api(parser: argparse.ArgumentParser, default: str | None = DEFAULT_API_URL) -> None:
    """``--api``: the gateway's URL (default: MOTCUA_API_URL, else ``default``)."""
    shown = f"{API_URL_ENV} or {default}" if default else API_URL_ENV
    parser.add_argument("--api", metavar="URL", default=os.environ.get(API_URL_ENV) or default,
                        help=f"the gateway's URL (default: {shown})")


def add_agency(parser: argparse.ArgumentParser, help: str, default: str | None = "",
               old_spellings: Sequence[str] = ()) -> None:
    """``--agency EID``."""
    parser.add_argument("--agency", default=default, metavar="EID", help=help)
    for spelling in old_spellings:
        parser.add_argument(spelling, dest="agency", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_token(parser: argparse.ArgumentParser, whose: str = "the caller's") -> None:
    """``--token`` and ``--token-file`` (read with ``token``)."""
    parser.add_argument("--token", default=None, metavar="TOKEN",
                        help=f"{whose} bearer token (default: {TOKEN_ENV})")
    parser.add_argument("--token-file", type=Path, default=None, metavar="FILE",
                        help=f"read the bearer token from this file instead (default: {TOKEN_FILE_ENV})")


def token(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> str:
    """The bearer token: --token, --token-file, MOTCUA_TOKEN, the file MOTCUA_TOKEN_FILE names, in
    that order; "" when none is given. Raises FlagError for a file that cannot be read."""
    environ = os.environ if environ is None else environ
    if getattr(args, "token", None):
        return str(args.token).strip()
    path = getattr(args, "token_file", None)
    if path is None and environ.get(TOKEN_ENV):
        return environ[TOKEN_ENV].strip()
    if path is None and environ.get(TOKEN_FILE_ENV):
        path = Path(environ[TOKEN_FILE_ENV])
    if path is None:
        return ""
    try:
        found = Path(path).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise FlagError(f"cannot read the token file {path}: {e.strerror or e}") from None
    if not found:
        raise FlagError(f"the token file {path} is empty")
    return found


def add_tls(parser: argparse.ArgumentParser) -> None:
    """``--tls-ca``: TLS to the server, checked against these CA certificates."""
    parser.add_argument("--tls-ca", type=Path, default=os.environ.get(TLS_CA_ENV) or None, metavar="PEM",
                        help=f"connect with TLS, the server's certificate checked against these CA certificates "
                             f"(default: {TLS_CA_ENV}; unset: plain connections, as in `make run`)")


def _ca_bytes(path: Path) -> bytes:
    try:
        pem = Path(path).read_bytes()
    except OSError as e:
        raise FlagError(f"cannot read the CA certificates {path}: {e.strerror or e}") from None
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise FlagError(f"{path} holds no PEM certificate")
    return pem


def grpc_credentials(args: argparse.Namespace) -> grpc.ChannelCredentials | None:
    """TLS credentials when --tls-ca is given, else None (a plain channel)."""
    ca = getattr(args, "tls_ca", None)
    return grpc.ssl_channel_credentials(root_certificates=_ca_bytes(ca)) if ca else None


def grpc_channel(args: argparse.Namespace, target: str | None = None) -> grpc.Channel:
    """A (traced) channel to --addr (or ``target``): TLS with --tls-ca, plain otherwise."""
    address = target or args.addr
    return traced_channel(address, credentials=grpc_credentials(args))


def ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    """For HTTPS: the system's trust store, or --tls-ca's certificates when given."""
    ca = getattr(args, "tls_ca", None)
    if not ca:
        return None
    return ssl.create_default_context(cadata=_ca_bytes(ca).decode("ascii", "replace"))
