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
service that finds it empty beside a log with notifications rebuilds it at start
(the kernel's ``ProjectingRecorder`` does both, and the writing).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Composed, Identifier

from motcua.kernel.metrics import NOTIFICATIONS
from motcua.kernel.readmodel import ProjectingRecorder, Statement

from .domain import IN_APP, Notification
from .views import InboxEntry, NotificationView

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
    "sent_by",
)

CREATED = get_topic(Notification.Created)
READ = get_topic(Notification.Read)


class InboxRecorder(ProjectingRecorder):
    """The service's process recorder, which also keeps the inbox table."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.inbox_table_name = f"{self.table_prefix}_inbox"
        self.check_identifier_length(self.inbox_table_name + "_recipient_idx")
        self._inbox = self.table("inbox")
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
        # Added later: tables created before it get the column (rows of earlier notifications: '').
        self.sql_create_statements.append(
            SQL("ALTER TABLE {inbox} ADD COLUMN IF NOT EXISTS sent_by text NOT NULL DEFAULT ''").format(
                inbox=self._inbox
            )
        )
        # Newest first per recipient, and everything after a position for the stream.
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {index} ON {inbox} (recipient_account_id, position DESC)").format(
                index=Identifier(self.inbox_table_name + "_recipient_idx"), inbox=self._inbox
            )
        )
        self._insert_row = SQL(
            "INSERT INTO {inbox} (position, {columns}) VALUES (%(position)s, {values}) "
            "ON CONFLICT (notification_id) DO NOTHING"
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
        self.projections = {CREATED: self._created, READ: self._read}

    def read_model_tables(self) -> list[Identifier]:
        return [self._inbox]

    def _created(self, event: Any, position: int) -> Iterator[Statement]:
        # Counted where every new notification passes once, whichever path made it (an API send,
        # a dossier event): by channel and the state it starts in.
        NOTIFICATIONS.add(1, {"channel": str(event.channel), "state": str(event.state)})
        yield self._insert_row, {
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
            "sent_by": getattr(event, "sent_by", ""),  # events recorded before the field have none
        }

    def _read(self, event: Any, position: int) -> Iterator[Statement]:
        yield self._mark_read, {
            "notification_id": event.originator_id,
            "read_time": event.read_time,
            "version": event.originator_version,
        }

    # --- reading --------------------------------------------------------------------------------

    def inbox_page(self, recipient: UUID, channel: str | None, before: int | None, limit: int) -> list[InboxEntry]:
        """Up to ``limit`` notifications of a recipient, newest first, older than position
        ``before``."""
        query = self._select + SQL(" WHERE recipient_account_id = %(recipient)s")
        if channel is not None:
            query += SQL(" AND channel = %(channel)s")
        if before is not None:
            query += SQL(" AND position < %(before)s")
        query += SQL(" ORDER BY position DESC LIMIT %(limit)s")
        return self._entries(query, {"recipient": recipient, "channel": channel, "before": before, "limit": limit})

    def unread_in_app(self, recipient: UUID, up_to: int, limit: int) -> list[InboxEntry]:
        """The newest ``limit`` unread in-app notifications at or before position ``up_to``, oldest
        first."""
        query = self._select + SQL(
            " WHERE recipient_account_id = %(recipient)s AND channel = %(channel)s AND read_time IS NULL"
            " AND position <= %(up_to)s ORDER BY position DESC LIMIT %(limit)s"
        )
        entries = self._entries(query, {"recipient": recipient, "channel": IN_APP, "up_to": up_to, "limit": limit})
        return entries[::-1]

    def in_app_arrivals(self, recipients: Sequence[UUID], after: int, up_to: int) -> list[InboxEntry]:
        """In-app notifications of these recipients created after position ``after``, up to
        ``up_to``, in order."""
        query = self._select + SQL(
            " WHERE recipient_account_id = ANY(%(recipients)s) AND channel = %(channel)s"
            " AND position > %(after)s AND position <= %(up_to)s ORDER BY position"
        )
        return self._entries(query, {"recipients": list(recipients), "channel": IN_APP, "after": after, "up_to": up_to})

    def _entries(self, query: Composed, params: dict[str, Any]) -> list[InboxEntry]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, params)
            return [InboxEntry(row["position"], NotificationView.from_row(row)) for row in curs.fetchall()]
