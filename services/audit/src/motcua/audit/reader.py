"""Reads one service's event log straight from its PostgreSQL database, read-only.

No service application is constructed: constructing one would create its
tables. The reader uses eventsourcing's PostgreSQL recorder only to select
(``select_events``, ``select_notifications``), decodes with the kernel's
``EventMapper`` (which hands back the ``_meta`` stored beside each event), and
rebuilds aggregates with eventsourcing's ``Repository`` from events alone.
Every session is read-only at the database (``default_transaction_read_only``):
a write, had one slipped in, would fail rather than change the log.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    EventStore,
    JSONTranscoder,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import Environment

from motcua.kernel.eventstore import META_KEY, EventMapper, ProjectingRepository
from motcua.kernel.legacy_cipher import LegacyStoreCipher

# The eventsourcing application name of each service: its events are in the table
# "<name>_events" of the database "motcua_<service>". The one place this is written down
# (tests check it against the applications' own `name`).
APPLICATION_NAMES: dict[str, str] = {
    "identity": "identity",
    "procedures": "procedures",
    "dossiers": "dossiers",
    "signing": "signing",
    "notifications": "notifications",
}

CONNECT_TIMEOUT = 10  # seconds
READ_ONLY = "-c default_transaction_read_only=on"

# Event attributes that are the envelope rather than the event's data.
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", META_KEY})


class AuditError(Exception):
    """Something the auditor asked for cannot be answered; the message says why."""


class UnknownAggregate(AuditError):
    pass


class Unreachable(AuditError):
    """The server or the database cannot be reached."""


@dataclass(frozen=True)
class Recorded:
    """One recorded event as the auditor sees it."""

    aggregate_id: UUID
    version: int
    type: str  # e.g. "Procedure.Renamed"
    topic: str
    when: datetime | None
    actor: str | None
    agency_id: str | None
    traceparent: str | None
    data: dict[str, Any] = field(default_factory=dict)
    position: int | None = None  # in the service's notification log (log only)
    problem: str | None = None  # set when the event could not be decoded into its class


def table_name(service: str) -> str:
    """As eventsourcing's PostgresFactory names an application's events table."""
    return f"{APPLICATION_NAMES[service].lower()}_events"


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds, e.g. 2025-06-01T08:00:00.123456Z."""
    return utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


class _ReadOnlyDatastore(PostgresDatastore):
    """eventsourcing's datastore whose every connection refuses writes."""

    def after_connect_func(self) -> Callable[[psycopg.Connection[Any]], None]:
        configure = super().after_connect_func()

        def after_connect(conn: psycopg.Connection[Any]) -> None:
            configure(conn)
            conn.execute("SET default_transaction_read_only = on")

        return after_connect


def _transcoder() -> JSONTranscoder:
    # The transcodings every ServiceApplication registers (eventsourcing's defaults).
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())
    return transcoder


class _ConnectionInfo(TypedDict):
    host: str
    port: str
    dbname: str
    user: str
    password: str


class EventLog:
    """The event log of one service, opened read-only.

    ``store_env`` holds the POSTGRES_* settings as ``Settings.eventstore_env`` gives them
    (and CIPHER_KEY for the events a store-wide key encrypted).
    Raises AuditError when the server cannot be reached or the database holds no event
    log of the service.
    """

    def __init__(self, service: str, store_env: Mapping[str, str]) -> None:
        if service not in APPLICATION_NAMES:
            raise AuditError(f"unknown service {service!r} (one of {', '.join(APPLICATION_NAMES)})")
        self.service = service
        # The service's domain declares the old topics of classes it moved (kernel.topics):
        # imported before any event is decoded, so that those events resolve too.
        importlib.import_module(f"motcua.{service}.domain")
        self.table = table_name(service)
        self.schema = store_env.get("POSTGRES_SCHEMA") or "public"
        self.dbname = store_env["POSTGRES_DBNAME"]
        self.where = f"database {self.dbname} on {store_env['POSTGRES_HOST']}:{store_env['POSTGRES_PORT']}"
        conninfo: _ConnectionInfo = {
            "host": store_env["POSTGRES_HOST"],
            "port": store_env["POSTGRES_PORT"],
            "dbname": self.dbname,
            "user": store_env["POSTGRES_USER"],
            "password": store_env.get("POSTGRES_PASSWORD", ""),
        }
        self._check_log_exists(conninfo)
        # One connection; the recorder's constructor only reads (type lookups), and
        # create_table() is never called.
        self.datastore = _ReadOnlyDatastore(
            **conninfo, connect_timeout=CONNECT_TIMEOUT, pool_size=1, max_overflow=0, schema=self.schema
        )
        try:
            self.recorder = PostgresApplicationRecorder(self.datastore, events_table_name=self.table)
            # Events a store-wide key encrypted (identity's, before per-account keys) are read
            # with that key as CIPHER_KEY; the others as they are.
            cipher = LegacyStoreCipher(Environment(env={"CIPHER_KEY": store_env["CIPHER_KEY"]})) \
                if store_env.get("CIPHER_KEY") else None
            self.mapper = EventMapper(transcoder=_transcoder(), cipher=cipher)
            # Events only, no snapshots: the state an auditor sees is what the events say.
            self.repository: Repository[UUID] = ProjectingRepository(event_store=EventStore(self.mapper, self.recorder))
        except Exception:
            self.datastore.close()
            raise

    def _check_log_exists(self, conninfo: _ConnectionInfo) -> None:
        try:
            with psycopg.connect(**conninfo, connect_timeout=CONNECT_TIMEOUT, options=READ_ONLY) as conn:
                row = conn.execute(
                    "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s",
                    (self.schema, self.table),
                ).fetchone()
        except psycopg.Error as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise Unreachable(f"cannot read {self.where}: {reason}") from None
        if row is None:
            raise AuditError(
                f"no event log for service {self.service} in {self.where} "
                f"(no table {self.schema}.{self.table}; has the service ever run against it?)"
            )

    def close(self) -> None:
        self.datastore.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -----------------------------------------------------------------------

    def history(self, aggregate_id: UUID) -> list[Recorded]:
        """Every event of the aggregate, in version order."""
        stored = self.recorder.select_events(aggregate_id)
        if not stored:
            raise self._unknown(aggregate_id)
        return [self.decode(s) for s in stored]

    def current_version(self, aggregate_id: UUID) -> int:
        last = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        if not last:
            raise self._unknown(aggregate_id)
        return last[0].originator_version

    def version_at(self, aggregate_id: UUID, moment: datetime) -> int:
        """The version of the last event recorded at or before the moment."""
        moment = utc(moment)
        events = self.history(aggregate_id)
        earlier = [e for e in events if e.when is not None and e.when <= moment]
        if not earlier:
            first = iso_utc(events[0].when) if events[0].when else "an unknown time"
            raise AuditError(
                f"aggregate {aggregate_id} did not exist yet at {iso_utc(moment)}: "
                f"its first event was recorded at {first}"
            )
        return earlier[-1].version

    def aggregate(self, aggregate_id: UUID, version: int | None = None) -> Any:
        """The aggregate rebuilt from its events up to the version (default: all of them)."""
        current = self.current_version(aggregate_id)
        if version is not None and version > current:
            raise AuditError(f"aggregate {aggregate_id} has {current} version(s); there is no version {version}")
        try:
            return self.repository.get(aggregate_id, version=version or current)
        except AggregateNotFoundError:
            raise AuditError(f"aggregate {aggregate_id} has no state at version {version or current}") from None
        except Exception as e:
            raise AuditError(f"cannot replay aggregate {aggregate_id}: {e}") from e

    def notifications(self, after: int = 0, limit: int = 100) -> list[Recorded]:
        """The notification log after a position: every event the service recorded, in order."""
        notifications = self.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)
        return [self.decode(n, position=n.id) for n in notifications]

    def decode(self, stored: StoredEvent, position: int | None = None) -> Recorded:
        """The event with its metadata; an event whose class cannot be loaded is shown raw."""
        problem = None
        try:
            event, meta = self.mapper.decode(stored)
            state = dict(vars(event))
        except Exception as e:  # a topic no longer resolvable, a failing upcaster...
            problem = f"not decoded: {e}"
            try:
                state = self.mapper.transcoder.decode(stored.state)
            except Exception:
                state = {"state": stored.state.decode("utf-8", "replace")}
            meta = state.pop(META_KEY, None) or {}
        when = state.get("timestamp")
        if isinstance(when, str):
            try:
                when = datetime.fromisoformat(when)
            except ValueError:
                when = None
        return Recorded(
            # The events tables key aggregates by uuid (the recorder's originator_id_type).
            aggregate_id=UUID(str(stored.originator_id)),
            version=stored.originator_version,
            type=stored.topic.partition(":")[2] or stored.topic,
            topic=stored.topic,
            when=utc(when) if isinstance(when, datetime) else None,
            actor=meta.get("actor"),
            agency_id=meta.get("agency_id"),
            traceparent=meta.get("traceparent"),
            data={k: v for k, v in state.items() if k not in _ENVELOPE},
            position=position,
            problem=problem,
        )

    def _unknown(self, aggregate_id: UUID) -> UnknownAggregate:
        return UnknownAggregate(f"no events of aggregate {aggregate_id} in the {self.service} event log ({self.where})")
