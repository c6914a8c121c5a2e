"""Read models kept in the transaction of the events they derive from.

A service that must list or search without replaying aggregates keeps tables derived
from its events. ``ProjectingRecorder`` is the service's PostgreSQL process recorder
that also writes those tables, in the same transaction that appends the events (and,
for a consumed integration event, records the consumed position): the tables are never
behind the log nor ahead of it, whichever replica or path wrote the events (gRPC
commands, group commit, the consumer's batches).

A subclass names its tables (``read_model_tables``), the statements creating them
(appended to ``sql_create_statements``), and turns each stored event whose topic it
projects into SQL statements (``projections``). The tables are disposable:
``rebuild`` truncates and derives them again from the log, under the events table's
lock, and ``rebuild_if_missing`` does so at start when they are empty beside a log
that has projected events.

Two more things ride on the events' transaction. Rows a service keeps beside its events
(``write_beside_events``: e.g. a new data subject's key, kernel.subject_keys) are written in
it, so a command costs one commit, not one for them and one for its events. And effects
outside the database that a projection causes (``after_commit``: e.g. counting new
notifications in a metric) run once it has committed: a consumed batch that rolls back and
is applied again message by message does not cause them twice.

This uses a hook of eventsourcing's PostgreSQL recorder (``_fetch_ids_after_insert_events``,
which runs inside the insert's transaction once the events have their positions), selected
through its documented ``PROCESS_RECORDER_TOPIC`` setting; eventsourcing is pinned by uv.lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    Mapper,
    Notification as LogEntry,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.utils import Environment, EnvType, get_topic, retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from . import topics
from .eventstore import EventMapper, ServiceApplication

log = logging.getLogger(__name__)

# One SQL statement and its parameters.
Statement = tuple[Composed, dict[str, Any]]
# Turns one decoded domain event and its log position into statements.
Projection = Callable[[Any, int], Iterable[Statement]]


_MAX_RENDERED = 256


def _text(statement: Any) -> Any:
    """A composed statement rendered once (its identifiers quoted); anything else as it is."""
    return SQL(statement.as_string()) if isinstance(statement, Composed) else statement


class BesideEvents(Protocol):
    """Rows written in the transaction of the events that need them (``write_beside_events``)."""

    def statements_for(self, stored_events: Sequence[StoredEvent]) -> list[Statement]:
        """What to write with these events (before them, in their transaction)."""
        ...

    def written(self, stored_events: Sequence[StoredEvent], committed: bool) -> None:
        """The transaction of these events committed (or rolled back: their rows are not there)."""
        ...


class ProjectingRecorder(PostgresProcessRecorder):
    """A process recorder that keeps read-model tables in the events' transactions."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        if datastore.enable_db_functions:
            # That insert path bypasses the hook below: the read model would fall behind.
            raise ProgrammingError("read models need POSTGRES_ENABLE_DB_FUNCTIONS off")
        self.table_prefix = self.events_table_name.removesuffix("_events")
        self._decode: Callable[[StoredEvent], Any] | None = None
        self._select_events_of: Any = None  # rendered at its first use
        # Topic of a domain event class -> how it changes the tables.
        self.projections: dict[str, Projection] = {}
        # The same projections under the old topics of moved classes (kernel.topics), for
        # events stored before the move; rebuilt when either side changes.
        self._aliases: dict[str, Projection] = {}
        self._aliases_of: tuple[int, tuple[str, ...]] | None = None
        self._beside: list[BesideEvents] = []
        self._mapper: Any = None
        # Statements run on every write and read, rendered to text once: psycopg renders a
        # composed statement (identifiers quoted one by one) again at each execution, which cost
        # a tenth of a millisecond or more per statement, several times per command.
        self.insert_events_statement = _text(self.insert_events_statement)
        self.lock_table_statements = [_text(s) for s in self.lock_table_statements]
        if hasattr(self, "insert_tracking_statement"):
            self.insert_tracking_statement = _text(self.insert_tracking_statement)
        self._notify_statement = _text(SQL("NOTIFY {0}").format(Identifier(self.channel_name)))
        self._select_events_statements: dict[tuple[bool, bool, bool, bool], SQL] = {}
        self._projection_statements: dict[int, tuple[Composed, SQL]] = {}
        # The effects awaiting the commit of the transaction this thread is writing (None: none
        # is being written, e.g. a rebuild, which re-derives rows and causes no new effects).
        self._writing = threading.local()

    def table(self, suffix: str) -> Identifier:
        """A read-model table of this service: ``<service>_<suffix>`` in the events' schema."""
        self.check_identifier_length(f"{self.table_prefix}_{suffix}")
        return Identifier(self.datastore.schema, f"{self.table_prefix}_{suffix}")

    def read_model_tables(self) -> list[Identifier]:
        """The tables ``rebuild`` truncates and ``rebuild_if_missing`` finds empty."""
        raise NotImplementedError

    def bind(self, mapper: Mapper[UUID]) -> None:
        """Gives the recorder the application's mapper, to read the events it stores."""
        self._decode = mapper.to_domain_event
        if isinstance(mapper, EventMapper):
            # The events this service writes are projected from the domain events they came from.
            mapper.mapped = {}
            self._mapper = mapper
            self._decode = mapper.domain_event_of

    def write_beside_events(self, writer: BesideEvents) -> None:
        """Writes ``writer``'s rows in the transactions of the events they go with."""
        self._beside.append(writer)

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Runs ``effect`` once the transaction being written commits, never if it rolls back (for
        projections; dropped outside a write, e.g. in a rebuild)."""
        effects = getattr(self._writing, "effects", None)
        if effects is not None:
            effects.append(effect)

    # --- writing, inside the events' transaction ---------------------------------------------

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        committed = False
        ids: Sequence[int] | None = None
        try:
            ids = super().insert_events(stored_events, **kwargs)
            committed = True
        finally:
            effects = getattr(self._writing, "effects", None) or []
            self._writing.effects = None
            for writer in self._beside:
                writer.written(stored_events, committed)
            if committed and self._mapper is not None:
                self._mapper.written(stored_events)
        for effect in effects:
            try:
                effect()
            except Exception:  # an effect (a metric) never fails the committed write
                log.exception("an effect after commit failed")
        return ids

    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # Each attempt (eventsourcing retries a lost connection) starts with no effects.
        self._writing.effects = []
        super()._insert_events(curs, stored_events, **kwargs)
        for writer in self._beside:
            for statement, params in writer.statements_for(stored_events):
                curs.execute(self._rendered(statement), params)

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            statements = self._statements(zip(ids, stored_events, strict=True))
            if statements:
                with curs.connection.cursor() as projecting:
                    for statement, params in statements:
                        projecting.execute(statement, params)
        return ids

    def _statements(self, positioned: Iterable[tuple[int, StoredEvent]]) -> list[Statement]:
        statements: list[Statement] = []
        for position, stored in positioned:
            project = self.projections.get(stored.topic) or self._projections_of_old_topics().get(stored.topic)
            if project is not None:
                if self._decode is None:
                    raise ProgrammingError(f"{type(self).__name__}.bind(mapper) was not called")
                statements.extend((self._rendered(statement), params)
                                  for statement, params in project(self._decode(stored), position))
        return statements

    def _rendered(self, statement: Any) -> Any:
        """A projection's statement as text, rendered at its first use (projections keep theirs
        as attributes: a few objects, kept by identity with the object itself)."""
        if not isinstance(statement, Composed):
            return statement
        known = self._projection_statements.get(id(statement))
        if known is not None and known[0] is statement:
            return known[1]
        if len(self._projection_statements) >= _MAX_RENDERED:
            self._projection_statements.clear()  # statements composed per call: not worth keeping
        text = _text(statement)
        self._projection_statements[id(statement)] = (statement, text)
        return text

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        curs.execute(self._notify_statement)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events(self, originator_id: UUID | str, *, gt: int | None = None, lte: int | None = None,
                      desc: bool = False, limit: int | None = None) -> Sequence[StoredEvent]:
        # eventsourcing's own, with its statement rendered once per shape (it composes it at
        # every call, and every aggregate read calls it).
        shape = (gt is not None, lte is not None, desc, limit is not None)
        statement = self._select_events_statements.get(shape)
        if statement is None:
            composed = self.select_events_statement
            if gt is not None:
                composed += SQL(" AND originator_version > %s")
            if lte is not None:
                composed += SQL(" AND originator_version <= %s")
            composed += SQL(" ORDER BY originator_version DESC" if desc else " ORDER BY originator_version ASC")
            if limit is not None:
                composed += SQL(" LIMIT %s")
            statement = self._select_events_statements[shape] = _text(composed)
        params = [originator_id, *(p for p in (gt, lte, limit) if p is not None)]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return [StoredEvent(originator_id=row["originator_id"], originator_version=row["originator_version"],
                                topic=row["topic"], state=bytes(row["state"])) for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """The events of each of these originators (those that have some), in one query: the
        aggregates a batch of consumed messages is about, read together rather than one by one."""
        statement = self._select_events_of
        if statement is None:
            statement = self._select_events_of = _text(SQL(
                "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
                "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
            ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)))
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [list(originator_ids)])
            for row in curs.fetchall():
                found.setdefault(row["originator_id"], []).append(StoredEvent(
                    originator_id=row["originator_id"], originator_version=row["originator_version"],
                    topic=row["topic"], state=bytes(row["state"])))
        return found

    def _projections_of_old_topics(self) -> dict[str, Projection]:
        key = (topics.generation(), tuple(self.projections))
        if self._aliases_of != key:
            self._aliases = {
                old: project for topic, project in self.projections.items() for old in topics.old_topics(topic)
            }
            self._aliases_of = key
        return self._aliases

    # --- rebuilding from the log ----------------------------------------------------------------

    def rebuild(self, batch_size: int = 1000) -> int:
        """Derives the tables again from the log; returns how many events it applied.

        Holds the events table's EXCLUSIVE lock meanwhile (as every writer does), so
        no event is appended between the replay and the commit.
        """
        applied = 0
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            for table in self.read_model_tables():
                curs.execute(SQL("TRUNCATE {table}").format(table=table))
            position = 0
            while True:
                entries = self._select_projected(curs, position, batch_size)
                if not entries:
                    break
                # Pipeline mode: a batch's statements go out without waiting for each answer
                # (one round trip per statement was most of the rebuild's time).
                with curs.connection.pipeline():
                    for statement, params in self._statements((e.id, e) for e in entries):
                        curs.execute(statement, params)
                applied += len(entries)
                position = entries[-1].id
        log.info("read model rebuilt", extra={"events": applied, "tables": self.table_prefix})
        return applied

    def rebuild_if_missing(self) -> bool:
        """Rebuilds the tables when all are empty while the log has projected events (e.g. new
        tables)."""
        with self.datastore.transaction(commit=False) as curs:
            for table in self.read_model_tables():
                curs.execute(SQL("SELECT EXISTS (SELECT 1 FROM {table}) AS filled").format(table=table))
                row = curs.fetchone()
                assert row is not None  # EXISTS answers one row
                if row["filled"]:
                    return False
            if not self._select_projected(curs, 0, 1):
                return False
        self.rebuild()
        return True

    def _select_projected(self, curs: Cursor[DictRow], after: int, limit: int) -> list[LogEntry]:
        curs.execute(
            SQL(
                "SELECT notification_id AS id, originator_id, originator_version, topic, state FROM {events} "
                "WHERE notification_id > %s AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"
            ).format(events=Identifier(self.datastore.schema, self.events_table_name)),
            (after, [*self.projections, *self._projections_of_old_topics()], limit),
        )
        return [
            LogEntry(
                id=row["id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in curs.fetchall()
        ]

    # --- reading ----------------------------------------------------------------------------

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def query(self, statement: Composed, params: dict[str, Any]) -> list[DictRow]:
        """Rows of a read-only query, on a pooled connection (retried as eventsourcing retries
        its own reads: a connection the server dropped is replaced by the next attempt)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._rendered(statement), params)
            return curs.fetchall()


class ReadModelApplication(ServiceApplication):
    """A service application whose recorder keeps read models (``recorder_class``)."""

    recorder_class: type[ProjectingRecorder]

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        environment = super().construct_env(name, env)
        environment["PROCESS_RECORDER_TOPIC"] = get_topic(self.recorder_class)
        return environment

    def construct_recorder(self) -> Any:
        recorder = super().construct_recorder()
        if not isinstance(recorder, self.recorder_class):
            raise TypeError(f"the {self.name} service's read models need PostgreSQL; got {type(recorder).__name__}")
        recorder.bind(self.mapper)
        return recorder
