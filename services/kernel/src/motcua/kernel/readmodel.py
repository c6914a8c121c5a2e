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
from dataclasses import dataclass
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

# One SQL statement and its parameters: composed, or already rendered to text.
Statement = tuple[Composed | SQL, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Computed:
    """A column's new value computed from the row's present ones: ``sql`` (an expression over
    the row's columns and ``params``) where one statement writes the row, ``fold`` (the same, of
    the row as a dict) where a rebuild folds the events into rows in memory. Both read the row
    as it was before the change, as SQL's SET does."""

    sql: str
    params: dict[str, Any]
    fold: Callable[[dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class RowChange:
    """A projection's change to one row of a read-model table, found by its primary ``key``
    (column -> value): ``values`` (column -> value, or ``Computed``) set on it; with ``insert``,
    the row is inserted with them, and when it exists already, left alone (``upsert`` False) or
    given them. Where events are written, it is one statement, its SQL built once per shape;
    a rebuild folds the changes into rows in memory and writes each row once (``RowFolder``)."""

    table: Identifier
    key: dict[str, Any]
    values: dict[str, Any]
    insert: bool = False
    upsert: bool = False


@dataclass(frozen=True, slots=True)
class RowsChange:
    """A change to every row of ``table`` whose ``column`` equals ``value`` (rare: e.g. masking an
    erased person's rows); ``values`` as in ``RowChange``."""

    table: Identifier
    column: str
    value: Any
    values: dict[str, Any]


# What a projection turns an event into: statements, or changes to rows.
Change = Statement | RowChange | RowsChange
# Turns one decoded domain event and its log position into statements or row changes.
Projection = Callable[[Any, int], Iterable[Change]]


_MAX_RENDERED = 256


def _text(statement: Any) -> Any:
    """A composed statement rendered once (its identifiers quoted); anything else as it is."""
    return SQL(statement.as_string()) if isinstance(statement, Composed) else statement


def execute_in_order(cursor: Cursor[Any], statements: Sequence[Statement]) -> None:
    """Runs the statements in their order, each run of the same statement as one ``executemany``:
    psycopg then parses and adapts the statement once for the run rather than once per row (two
    rows per notice queued: its inbox row, its recipient's key)."""
    start = 0
    while start < len(statements):
        statement = statements[start][0]
        end = start + 1
        while end < len(statements) and statements[end][0] is statement:
            end += 1
        if end - start == 1:
            cursor.execute(statement, statements[start][1])
        else:
            cursor.executemany(statement, [params for _, params in statements[start:end]])
        start = end


_change_statements: dict[tuple[Any, ...], SQL] = {}
_table_names: dict[int, tuple[Identifier, str]] = {}


def _table_name(table: Identifier) -> str:
    """A table's quoted name, rendered once per Identifier (tables are kept as attributes)."""
    known = _table_names.get(id(table))
    if known is None or known[0] is not table:
        if len(_table_names) >= _MAX_RENDERED:
            _table_names.clear()
        known = _table_names[id(table)] = (table, table.as_string())
    return known[1]


def _assignments(values: dict[str, Any], params: dict[str, Any]) -> tuple[tuple[str, str | None], ...]:
    """The SET list's shape (column, expression or None for a parameter); fills ``params``."""
    shape: list[tuple[str, str | None]] = []
    for column, value in values.items():
        if type(value) is Computed:
            shape.append((column, value.sql))
            params.update(value.params)
        else:
            shape.append((column, None))
            params[column] = value
    return tuple(shape)


def _set_list(shape: tuple[tuple[str, str | None], ...]) -> str:
    return ", ".join(f"{Identifier(c).as_string()} = {expression or f'%({c})s'}" for c, expression in shape)


def change_statement(change: RowChange | RowsChange) -> tuple[SQL, dict[str, Any]]:
    """The one statement of a change where events are written, its SQL built once per shape."""
    table = _table_name(change.table)
    if type(change) is RowsChange:
        params = {"_where": change.value}
        shape: tuple[Any, ...] = ("where", table, change.column, _assignments(change.values, params))
        text = _change_statements.get(shape)
        if text is None:
            text = _change_statements[shape] = SQL(
                f"UPDATE {table} SET {_set_list(shape[3])} WHERE {Identifier(change.column).as_string()} = %(_where)s")
        return text, params
    assert isinstance(change, RowChange)
    params = {f"_key_{k}": v for k, v in change.key.items()}
    shape = (change.insert, change.upsert, table, tuple(change.key), _assignments(change.values, params))
    text = _change_statements.get(shape)
    if text is None:
        keys = [Identifier(k).as_string() for k in change.key]
        if change.insert:
            if any(expression for _, expression in shape[4]):
                raise ProgrammingError("an inserted row's values are values, not computed")
            columns = ", ".join([*keys, *(Identifier(c).as_string() for c, _ in shape[4])])
            placeholders = ", ".join([*(f"%(_key_{k})s" for k in change.key), *(f"%({c})s" for c, _ in shape[4])])
            quoted = [Identifier(c).as_string() for c, _ in shape[4]]
            conflict = (f"DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in quoted)}"
                        if change.upsert and quoted else "DO NOTHING")
            sql_text = (f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
                        f"ON CONFLICT ({', '.join(keys)}) {conflict}")
        else:
            where = " AND ".join(f"{k} = %(_key_{name})s" for k, name in zip(keys, change.key, strict=True))
            sql_text = f"UPDATE {table} SET {_set_list(shape[4])} WHERE {where}"
        if len(_change_statements) >= _MAX_RENDERED:
            _change_statements.clear()  # shapes made per call: not worth keeping
        text = _change_statements[shape] = SQL(sql_text)
    return text, params


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
        # The stored events as four arrays sent in binary, rather than eventsourcing's one array
        # of a composite type: psycopg writes the composite values' text (the state's bytes in
        # hex) in Python, a tenth of the accepting path's CPU for a batch of notices.
        self._insert_columns_statement = _text(SQL(
            "INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(table=Identifier(self.datastore.schema, self.events_table_name),
                 id_type=Identifier(self.datastore.originator_id_type.lower())))
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
        execute_in_order(curs, [(self._rendered(statement), params) for writer in self._beside
                                for statement, params in writer.statements_for(stored_events)])

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
                              **kwargs: Any) -> None:
        # eventsourcing's steps (the table lock keeps the positions in commit order), then the
        # rows; RETURNING gives their positions in the arrays' order, as eventsourcing's does.
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self._insert_columns_statement, (
            [e.originator_id for e in stored_events], [e.originator_version for e in stored_events],
            [e.topic for e in stored_events], [e.state for e in stored_events]))

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            statements = self._statements(zip(ids, stored_events, strict=True))
            if statements:
                with curs.connection.cursor() as projecting:
                    execute_in_order(projecting, statements)
        return ids

    def _statements(self, positioned: Iterable[tuple[int, StoredEvent]]) -> list[Statement]:
        statements: list[Statement] = []
        for position, stored in positioned:
            project = self.projections.get(stored.topic) or self._projections_of_old_topics().get(stored.topic)
            if project is not None:
                if self._decode is None:
                    raise ProgrammingError(f"{type(self).__name__}.bind(mapper) was not called")
                for change in project(self._decode(stored), position):
                    if type(change) is tuple:
                        statements.append((self._rendered(change[0]), change[1]))
                    else:
                        statements.append(change_statement(change))  # type: ignore[arg-type]
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

    def rebuild(self, batch_size: int = 5000) -> int:
        """Derives the tables again from the log; returns how many events it applied.

        Holds the events table's EXCLUSIVE lock meanwhile (as every writer does), so
        no event is appended between the replay and the commit. Row changes (``RowChange``) are
        folded into rows in memory and each row is written once, with COPY (``RowFolder``);
        statements run as they come, in the log's order with those rows.
        """
        applied = 0
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            for table in self.read_model_tables():
                curs.execute(SQL("TRUNCATE {table}").format(table=table))
            folder = RowFolder(curs, self._rendered)
            projections = {**self._projections_of_old_topics(), **self.projections}
            position = 0
            while True:
                entries = self._select_projected(curs, position, batch_size)
                if not entries:
                    break
                decode = self._decode
                if decode is None:
                    raise ProgrammingError(f"{type(self).__name__}.bind(mapper) was not called")
                for entry in entries:
                    for change in projections[entry.topic](decode(entry), entry.id):
                        folder.apply(change)
                folder.send_statements()  # a batch's statements at most are held
                applied += len(entries)
                position = entries[-1].id
            folder.flush()
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


# Rows a rebuild holds in memory before writing them out (and reading back those changed later).
ROWS_IN_MEMORY = 100_000


class RowFolder:
    """Applies a rebuild's changes in the log's order: row changes folded into rows in memory
    (each row starts from its table's column defaults, as an INSERT would), statements run on
    the transaction's cursor. Rows are written with COPY when ``ROWS_IN_MEMORY`` are held, before
    a statement (which may read or change them), and at the end; a row changed again after it
    was written is read back first. The tables were truncated: until the first write, a row not
    in memory does not exist."""

    def __init__(self, curs: Cursor[DictRow], render: Callable[[Any], Any]) -> None:
        self.curs = curs
        self.render = render
        # Statements not yet sent: sent together in pipeline mode (which COPY cannot use).
        self.pending: list[Statement] = []
        self.rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
        self.keys: dict[str, tuple[str, ...]] = {}
        self.columns: dict[str, tuple[list[str], dict[str, Any]]] = {}
        self.held = 0
        self.written = False
        # Keys found in no written row (rows are only created in memory, or by statements).
        self.absent: set[tuple[str, tuple[Any, ...]]] = set()

    def apply(self, change: Change) -> None:
        kind = type(change)
        if kind is RowChange or kind is RowsChange:
            if self.pending:
                self._send_pending()
            if kind is RowChange:
                self._change(change)  # type: ignore[arg-type]
            else:
                self._change_all(change)  # type: ignore[arg-type]
        else:
            if self.held:
                self._write_rows()
            statement, params = change  # type: ignore[misc]
            self.pending.append((self.render(statement), params))

    def _send_pending(self) -> None:
        with self.curs.connection.pipeline():
            for statement, params in self.pending:
                self.curs.execute(statement, params)
        self.pending.clear()
        self.written = True  # they may have written rows: those not in memory are read back
        self.absent.clear()

    def send_statements(self) -> None:
        """Sends the statements not sent yet."""
        if self.pending:
            self._send_pending()

    def flush(self) -> None:
        """Sends what is pending: statements, then rows (none are pending together)."""
        self.send_statements()
        self._write_rows()

    def _change(self, change: RowChange) -> None:
        table = _table_name(change.table)
        rows = self.rows.get(table)
        if rows is None:
            rows = self.rows[table] = {}
            self.keys[table] = tuple(change.key)
        key = tuple(change.key.values())
        row = rows.get(key)
        if row is None and self.written and (table, key) not in self.absent:
            row = self._read_back(table, change.key)
            if row is not None:
                rows[key] = row
                self.held += 1
            else:  # e.g. a deadline never started: its later events find no row each time
                self.absent.add((table, key))
        if row is None:
            if change.insert:
                _, defaults = self._columns(table)
                rows[key] = {**defaults, **change.key, **change.values}
                self.absent.discard((table, key))
                self.held += 1
                if self.held >= ROWS_IN_MEMORY:
                    self._write_rows()
            return  # an UPDATE of no row changes nothing
        if change.insert and not change.upsert:
            return  # ON CONFLICT DO NOTHING
        _fold(row, change.values)

    def _change_all(self, change: RowsChange) -> None:
        table = _table_name(change.table)
        if self.written:  # rows written out are changed where they are; those in memory below
            statement, params = change_statement(change)
            self.curs.execute(statement, params)
        for row in self.rows.get(table, {}).values():
            if row.get(change.column) == change.value:
                _fold(row, change.values)

    def _read_back(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        where = " AND ".join(f"{Identifier(k).as_string()} = %s" for k in key)
        self.curs.execute(SQL(f"SELECT * FROM {table} WHERE {where}"), tuple(key.values()))
        found = self.curs.fetchone()
        return dict(found) if found is not None else None

    def _columns(self, table: str) -> tuple[list[str], dict[str, Any]]:
        """The table's columns in order and the defaults of those that have one (evaluated by
        the server, as an INSERT leaving them out would)."""
        known = self.columns.get(table)
        if known is None:
            self.curs.execute(SQL(
                "SELECT a.attname AS name, pg_get_expr(d.adbin, d.adrelid) AS fallback FROM pg_attribute a "
                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"),
                (table,))
            found = self.curs.fetchall()
            columns = [r["name"] for r in found]
            defaults: dict[str, Any] = dict.fromkeys(columns)
            with_default = [(r["name"], r["fallback"]) for r in found if r["fallback"] is not None]
            if with_default:
                # The catalog's own expressions (constants such as '' or 0), evaluated once.
                self.curs.execute(SQL("SELECT " + ", ".join(f"{e} AS {Identifier(n).as_string()}"
                                                            for n, e in with_default)))
                evaluated = self.curs.fetchone()
                assert evaluated is not None  # a SELECT of expressions answers one row
                defaults.update(evaluated)
            known = self.columns[table] = (columns, defaults)
        return known

    def _write_rows(self) -> None:
        """Writes the rows held: with COPY into the tables while none was written before, else
        through a temporary table, replacing the rows written earlier."""
        for table, rows in self.rows.items():
            if not rows:
                continue
            columns, _ = self._columns(table)
            names = ", ".join(Identifier(c).as_string() for c in columns)
            target = table
            if self.written:
                target = "motcua_rebuild_rows"
                self.curs.execute(SQL(f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} (LIKE {table}) "
                                      "ON COMMIT DROP"))
                self.curs.execute(SQL(f"TRUNCATE {target}"))
            with self.curs.copy(SQL(f"COPY {target} ({names}) FROM STDIN")) as copy:
                for row in rows.values():
                    copy.write_row([row[c] for c in columns])
            if self.written:
                keys = ", ".join(Identifier(k).as_string() for k in self.keys[table])
                updates = ", ".join(f"{Identifier(c).as_string()} = EXCLUDED.{Identifier(c).as_string()}"
                                    for c in columns if c not in self.keys[table])
                self.curs.execute(SQL(f"INSERT INTO {table} ({names}) SELECT {names} FROM {target} "
                                      f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"))
                self.curs.execute(SQL(f"DROP TABLE {target}"))
            rows.clear()
        if self.held:
            self.written = True
        self.held = 0


def _fold(row: dict[str, Any], values: dict[str, Any]) -> None:
    """Sets ``values`` on the row, computed ones from the row as it was (as SQL's SET)."""
    computed = {c: v.fold(row) for c, v in values.items() if type(v) is Computed}
    row.update(values)
    row.update(computed)


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
