"""motcua-migrate: what a deployment needs before the services start, done once by a privileged
hand (the chart's pre-install/pre-upgrade Job) so that the services themselves need no more
rights than using their own databases.

- PostgreSQL, as an administrator (MOTCUA_ADMIN_POSTGRES_USER / MOTCUA_ADMIN_POSTGRES_PASSWORD):
  the services' login role (POSTGRES_USER / POSTGRES_PASSWORD) without SUPERUSER, CREATEDB,
  CREATEROLE or REPLICATION, and one database per service (motcua_<service>) owned by it. Owning
  its databases, the role creates the event store's tables at the first start, as the services
  do in development, and can touch no other database: CONNECT is revoked from PUBLIC.
- Kafka: every topic the services publish to or consume from, with the partitions the services
  are configured with (MOTCUA_TOPIC_PARTITIONS), through the same ensure_topics the services use.

Idempotent: run again, it changes nothing but the role's password (so rotating the Secret and
upgrading the release applies the new password).

Of the flags the motcua tools share (cli_flags) it takes --version: it reaches PostgreSQL and
Kafka through the same variables as the services (POSTGRES_HOST, KAFKA_BOOTSTRAP_SERVERS, the
Kafka TLS and SASL settings), so that the Job and the services cannot disagree on where they are.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import psycopg
from psycopg import sql

from . import cli_flags
from .checkpoints import CHECKPOINTS_TOPIC, HEADS_TOPIC
from .config import ConfigError, KafkaSettings, events_topic
from .kafka import ensure_topics

log = logging.getLogger("motcua.migrate")

SERVICES = ("identity", "procedures", "dossiers", "signing", "notifications")

T = TypeVar("T")


class ProvisionError(Exception):
    """A setting is missing or wrong; the message says which."""


def topics(services: Sequence[str]) -> list[str]:
    """Every topic of the platform: each service's events and dead letters, the audit chain's."""
    names = [events_topic(s) for s in services] + [f"motcua.{s}.deadletter.v1" for s in services]
    return [*names, HEADS_TOPIC, CHECKPOINTS_TOPIC]


def database_name(service: str, env: Mapping[str, str]) -> str:
    return env.get(f"MOTCUA_{service.upper()}_DBNAME") or f"motcua_{service}"


def provision_postgresql(env: Mapping[str, str], services: Sequence[str]) -> None:
    role, password = _required(env, "POSTGRES_USER"), _required(env, "POSTGRES_PASSWORD")
    admin = _required(env, "MOTCUA_ADMIN_POSTGRES_USER")
    conninfo = psycopg.conninfo.make_conninfo(
        host=_required(env, "POSTGRES_HOST"), port=env.get("POSTGRES_PORT", "5432"), user=admin,
        password=env.get("MOTCUA_ADMIN_POSTGRES_PASSWORD", ""),
        dbname=env.get("MOTCUA_ADMIN_POSTGRES_DBNAME", "postgres"), connect_timeout=10)
    if role == admin:
        raise ProvisionError("POSTGRES_USER must not be the administrator: the services would run with every right")
    with _retrying("PostgreSQL", lambda: psycopg.connect(conninfo, autocommit=True)) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(sql.SQL(
            "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}"
        ).format(sql.SQL(verb), sql.Identifier(role), sql.Literal(password)))
        log.info("role %s %s", role, "password updated" if exists else "created")
        for service in services:
            name = database_name(service, env)
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(name), sql.Identifier(role)))
                log.info("database %s created, owned by %s", name, role)
            else:
                conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(name),
                                                                            sql.Identifier(role)))
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))


def provision_kafka(env: Mapping[str, str], services: Sequence[str]) -> None:
    _required(env, "KAFKA_BOOTSTRAP_SERVERS")
    try:  # the services' own Kafka settings (TLS, SASL, replication), so the topics are theirs
        kafka = KafkaSettings.from_env(env)
    except ConfigError as e:
        raise ProvisionError(str(e)) from None
    partitions = int(env.get("MOTCUA_TOPIC_PARTITIONS", "3"))
    names = topics(services)
    _retrying("Kafka", lambda: ensure_topics(kafka, names, partitions))
    log.info("topics ready (%d partitions each when created): %s", partitions, ", ".join(names))


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ProvisionError(f"{name} is not set")
    return value


def _retrying(what: str, attempt: Callable[[], T], timeout: float = 180.0) -> T:
    # Installed together with the release, PostgreSQL or Kafka may still be starting.
    deadline = time.monotonic() + timeout
    while True:
        try:
            return attempt()
        except Exception as e:
            if time.monotonic() > deadline:
                raise
            log.warning("waiting for %s: %s", what, e)
            time.sleep(3)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua-migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", default=",".join(SERVICES),
                        help="comma-separated services whose databases to create (default: all)")
    parser.add_argument("--skip-postgresql", action="store_true", help="leave the role and databases alone")
    parser.add_argument("--skip-kafka", action="store_true", help="leave the topics alone")
    cli_flags.add_version(parser, "motcua-kernel")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    services = [s.strip() for s in args.services.split(",") if s.strip()]
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        print(f"motcua-migrate: unknown services {unknown}; known: {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    try:
        if not args.skip_postgresql:
            provision_postgresql(os.environ, services)
        if not args.skip_kafka:
            provision_kafka(os.environ, services)
    except ProvisionError as e:
        print(f"motcua-migrate: {e}", file=sys.stderr)
        return 2
    done = [what for what, skipped in (("databases", args.skip_postgresql), ("topics", args.skip_kafka)) if not skipped]
    print(f"motcua-migrate: {' and '.join(done) or 'nothing'} ready for {', '.join(services)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
