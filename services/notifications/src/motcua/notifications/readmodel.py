"""The inbox read model: one row per notification, written in the transaction of its events.

ListNotifications must page through a recipient's notifications, newest first,
without replaying anything. The rows of table ``<service>_inbox`` are derived
from the Notification events and written by the event store's own recorder,
in the same PostgreSQL transaction that appends those events (and, for a
consumed integration event, records the consumed position). So the table is
never behind the log and never ahead of it, whichever replica or path wrote the
events: the consumer's batches, a gRPC command, group commit.

Each row carries the log position (notification id in the events table) of
the event that created the notification. Events are appended under the events
table's EXCLUSIVE lock, so positions become visible in increasing order: the
inbox stream (``inbox``) follows new rows by position without missing one.

The table is disposable: ``rebuild`` derives it again from the log, and a
service that finds it empty beside a log with notifications rebuilds it at start.

This uses two hooks of eventsourcing's PostgreSQL recorder (``_insert_events``'
sibling ``_fetch_ids_after_insert_events``, which runs inside the insert's
transaction once the events have their positions), selected through its
documented ``PROCESS_RECORDER_TOPIC`` setting; eventsourcing is pinned by uv.lock.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence
from uuid import UUID

from eventsourcing.persistence import Mapper, ProgrammingError, StoredEvent
from eventsourcing.persistence import Notification as LogEntry
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from .domain import IN_APP, Notification
from .views import InboxEntry, NotificationView

log = logging.getLogger(__name__)

_COLUMNS = (
    "notification_id",
    "recipient_account_id",
    "channel",
    "template_id",
    "template_key",
    "template_version",
    "subject",
    "body",
    "dossier_id",
    "state",
    "attempt_count",
    "create_time",
    "read_time",
    "version",
)

CREATED = get_topic(Notification.Created)
READ = get_topic(Notification.Read)
PROJECTED_TOPICS = (CREATED, READ)

Statement = tuple[Composed, dict[str, Any]]


class InboxRecorder(PostgresProcessRecorder):
    """The service's process recorder, which also keeps the inbox table."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        if datastore.enable_db_functions:
            # That insert path bypasses the hook below: the inbox would fall behind.
            raise ProgrammingError("the inbox read model needs POSTGRES_ENABLE_DB_FUNCTIONS off")
        self.inbox_table_name = self.events_table_name.removesuffix("_events") + "_inbox"
        self.check_identifier_length(self.inbox_table_name + "_recipient_idx")
        self._decode: Callable[[StoredEvent], Any] | None = None
        self._inbox = Identifier(self.datastore.schema, self.inbox_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {inbox} ("
                "notification_id uuid PRIMARY KEY, "
                "position bigint NOT NULL, "
                "recipient_account_id uuid, "
                "channel text NOT NULL, "
                "template_id uuid NOT NULL, "
                "template_key text NOT NULL, "
                "template_version bigint NOT NULL, "
                "subject text NOT NULL, "
                "body text NOT NULL, "
                "dossier_id uuid, "
                "state text NOT NULL, "
                "attempt_count integer NOT NULL, "
                "create_time timestamptz NOT NULL, "
                "read_time timestamptz, "
                "version bigint NOT NULL)"
            ).format(inbox=self._inbox)
        )
        # Newest first per recipient, and everything after a position for the stream.
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {index} ON {inbox} (recipient_account_id, position DESC)").format(
                index=Identifier(self.inbox_table_name + "_recipient_idx"), inbox=self._inbox
            )
        )
        self._insert_row = SQL(
            "INSERT INTO {inbox} (position, {columns}) VALUES (%(position)s, {values}) ON CONFLICT (notification_id) DO NOTHING"
        ).format(
            inbox=self._inbox,
            columns=SQL(", ").join(map(Identifier, _COLUMNS)),
            values=SQL(", ").join(SQL("%({})s").format(SQL(c)) for c in _COLUMNS),
        )
        self._mark_read = SQL(
            "UPDATE {inbox} SET read_time = %(read_time)s, version = %(version)s "
            "WHERE notification_id = %(notification_id)s AND version < %(version)s"
        ).format(inbox=self._inbox)
        self._select = SQL("SELECT position, {columns} FROM {inbox}").format(
            columns=SQL(", ").join(map(Identifier, _COLUMNS)), inbox=self._inbox
        )
        self._projections: dict[str, Callable[[Any, int], Statement]] = {
            CREATED: self._created,
            READ: self._read,
        }

    def bind(self, mapper: Mapper[UUID]) -> None:
        """Gives the recorder the application's mapper, to read the events it stores."""
        self._decode = mapper.to_domain_event

    # --- writing, inside the events' transaction ---------------------------------------------

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

    def _statements(self, positioned: Any) -> list[Statement]:
        statements = []
        for position, stored in positioned:
            project = self._projections.get(stored.topic)
            if project is not None:
                if self._decode is None:
                    raise ProgrammingError("InboxRecorder.bind(mapper) was not called")
                statements.append(project(self._decode(stored), position))
        return statements

    def _created(self, event: Any, position: int) -> Statement:
        return self._insert_row, {
            "position": position,
            "notification_id": event.originator_id,
            "recipient_account_id": event.recipient_account_id,
            "channel": event.channel,
            "template_id": event.template_id,
            "template_key": event.template_key,
            "template_version": event.template_version,
            "subject": event.subject,
            "body": event.body,
            "dossier_id": event.dossier_id,
            "state": event.state,
            "attempt_count": 0,
            "create_time": event.timestamp,
            "read_time": None,
            "version": event.originator_version,
        }

    def _read(self, event: Any, position: int) -> Statement:
        return self._mark_read, {
            "notification_id": event.originator_id,
            "read_time": event.read_time,
            "version": event.originator_version,
        }

    # --- rebuilding from the log ----------------------------------------------------------------

    def rebuild_inbox(self, batch_size: int = 1000) -> int:
        """Derives the table again from the log; returns how many events it applied.

        Holds the events table's EXCLUSIVE lock meanwhile (as every writer does), so
        no event is appended between the replay and the commit.
        """
        applied = 0
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            curs.execute(SQL("TRUNCATE {inbox}").format(inbox=self._inbox))
            position = 0
            while True:
                notifications = self._select_projected(curs, position, batch_size)
                if not notifications:
                    break
                for statement, params in self._statements((n.id, n) for n in notifications):
                    curs.execute(statement, params)
                applied += len(notifications)
                position = notifications[-1].id
        log.info("inbox read model rebuilt", extra={"events": applied, "table": self.inbox_table_name})
        return applied

    def rebuild_inbox_if_missing(self) -> bool:
        """Rebuilds the table when it is empty while the log has notifications (e.g. a new table)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT EXISTS (SELECT 1 FROM {inbox}) AS filled").format(inbox=self._inbox))
            if curs.fetchone()["filled"]:  # type: ignore[index]
                return False
            if not self._select_projected(curs, 0, 1):
                return False
        self.rebuild_inbox()
        return True

    def _select_projected(self, curs: Cursor[DictRow], after: int, limit: int) -> list[LogEntry]:
        curs.execute(
            SQL(
                "SELECT notification_id AS id, originator_id, originator_version, topic, state FROM {events} "
                "WHERE notification_id > %s AND topic = ANY(%s) ORDER BY notification_id LIMIT %s"
            ).format(events=Identifier(self.datastore.schema, self.events_table_name)),
            (after, list(PROJECTED_TOPICS), limit),
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

    # --- reading --------------------------------------------------------------------------------

    def inbox_page(self, recipient: UUID, channel: str | None, before: int | None, limit: int) -> list[InboxEntry]:
        """Up to ``limit`` notifications of a recipient, newest first, older than position ``before``."""
        query = self._select + SQL(" WHERE recipient_account_id = %(recipient)s")
        if channel is not None:
            query += SQL(" AND channel = %(channel)s")
        if before is not None:
            query += SQL(" AND position < %(before)s")
        query += SQL(" ORDER BY position DESC LIMIT %(limit)s")
        return self._entries(query, {"recipient": recipient, "channel": channel, "before": before, "limit": limit})

    def unread_in_app(self, recipient: UUID, up_to: int, limit: int) -> list[InboxEntry]:
        """The newest ``limit`` unread in-app notifications at or before position ``up_to``, oldest first."""
        query = self._select + SQL(
            " WHERE recipient_account_id = %(recipient)s AND channel = %(channel)s AND read_time IS NULL"
            " AND position <= %(up_to)s ORDER BY position DESC LIMIT %(limit)s"
        )
        entries = self._entries(query, {"recipient": recipient, "channel": IN_APP, "up_to": up_to, "limit": limit})
        return entries[::-1]

    def in_app_arrivals(self, recipients: Sequence[UUID], after: int, up_to: int) -> list[InboxEntry]:
        """In-app notifications of these recipients created after position ``after``, up to ``up_to``, in order."""
        query = self._select + SQL(
            " WHERE recipient_account_id = ANY(%(recipients)s) AND channel = %(channel)s"
            " AND position > %(after)s AND position <= %(up_to)s ORDER BY position"
        )
        return self._entries(query, {"recipients": list(recipients), "channel": IN_APP, "after": after, "up_to": up_to})

    def _entries(self, query: Composed, params: dict[str, Any]) -> list[InboxEntry]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, params)
            return [InboxEntry(row["position"], NotificationView.from_row(row)) for row in curs.fetchall()]
