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
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Composed, Identifier

from motcua.kernel.metrics import NOTIFICATIONS
from motcua.kernel.readmodel import ProjectingRecorder, Statement

from .domain import BOUNCED, DELIVERED, FAILED, IN_APP, QUEUED, SENDING, SENT, Notification
from .personal_data import InboxText
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
    "provider",
    "provider_id",
    "last_error",
    "next_attempt_time",
    "text_sealed",
)

CREATED = get_topic(Notification.Created)
READ = get_topic(Notification.Read)
ATTEMPT_STARTED = get_topic(Notification.AttemptStarted)
ATTEMPT_FAILED = get_topic(Notification.AttemptFailed)
PROVIDER_ACCEPTED = get_topic(Notification.ProviderAccepted)
CONFIRMATION_OVERDUE = get_topic(Notification.ConfirmationOverdue)
GAVE_UP = get_topic(Notification.GaveUp)
DELIVERY_REPORTED = get_topic(Notification.DeliveryReported)

# How long an attempt holds its notification by default (MOTCUA_NOTIFY_ATTEMPT_LEASE): a sender
# that dies mid-attempt leaves it "sending"; after this long the next leader tries again (the
# SMS and Zalo providers recognise the repeated request by the notification id; an e-mail the
# SMTP server had taken goes out again: see delivery.py).
ATTEMPT_LEASE = timedelta(minutes=2)


class InboxRecorder(ProjectingRecorder):
    """The service's process recorder, which also keeps the inbox table."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.inbox_table_name = f"{self.table_prefix}_inbox"
        self.attempt_lease = ATTEMPT_LEASE
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
        # Added with the delivery life cycle: what the sender worker and the receipts need.
        self.sql_create_statements.append(
            SQL("ALTER TABLE {inbox} ADD COLUMN IF NOT EXISTS provider text NOT NULL DEFAULT '', "
                "ADD COLUMN IF NOT EXISTS provider_id text NOT NULL DEFAULT '', "
                "ADD COLUMN IF NOT EXISTS last_error text NOT NULL DEFAULT '', "
                "ADD COLUMN IF NOT EXISTS next_attempt_time timestamptz, "
                "ADD COLUMN IF NOT EXISTS confirm_by timestamptz").format(inbox=self._inbox)
        )
        # Added with the sealed inbox: rows written before it keep their text as written (false).
        self.sql_create_statements.append(
            SQL("ALTER TABLE {inbox} ADD COLUMN IF NOT EXISTS text_sealed boolean NOT NULL DEFAULT false").format(
                inbox=self._inbox)
        )
        # Seals and opens the rows' subject and body (personal_data.seal_personal_data sets it).
        self.inbox_text: InboxText | None = None
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {index} ON {inbox} (confirm_by) WHERE confirm_by IS NOT NULL").format(
                index=Identifier(self.inbox_table_name + "_confirm_idx"), inbox=self._inbox)
        )
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {index} ON {inbox} (next_attempt_time) "
                "WHERE next_attempt_time IS NOT NULL").format(
                index=Identifier(self.inbox_table_name + "_due_idx"), inbox=self._inbox)
        )
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {index} ON {inbox} (provider, provider_id) "
                "WHERE provider_id <> ''").format(
                index=Identifier(self.inbox_table_name + "_provider_idx"), inbox=self._inbox)
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
        self._delivery = SQL(
            "UPDATE {inbox} SET state = %(state)s, attempt_count = COALESCE(%(attempt)s, attempt_count), "
            "next_attempt_time = %(next_attempt_time)s, provider = COALESCE(%(provider)s, provider), "
            "provider_id = COALESCE(%(provider_id)s, provider_id), last_error = COALESCE(%(error)s, last_error), "
            "confirm_by = %(confirm_by)s, version = %(version)s "
            "WHERE notification_id = %(notification_id)s AND version < %(version)s"
        ).format(inbox=self._inbox)
        self._due = SQL(
            "SELECT notification_id FROM {inbox} WHERE next_attempt_time <= %(now)s AND channel = ANY(%(channels)s) "
            "ORDER BY next_attempt_time LIMIT %(limit)s"
        ).format(inbox=self._inbox)
        self._unconfirmed = SQL(
            "SELECT notification_id FROM {inbox} WHERE confirm_by <= %(now)s ORDER BY confirm_by LIMIT %(limit)s"
        ).format(inbox=self._inbox)
        self._overdue = SQL(
            "UPDATE {inbox} SET confirm_by = NULL, last_error = %(error)s, version = %(version)s "
            "WHERE notification_id = %(notification_id)s AND version < %(version)s"
        ).format(inbox=self._inbox)
        self.projections = {
            CREATED: self._created,
            READ: self._read,
            ATTEMPT_STARTED: self._attempt_started,
            ATTEMPT_FAILED: self._attempt_failed,
            PROVIDER_ACCEPTED: self._provider_accepted,
            GAVE_UP: self._gave_up,
            CONFIRMATION_OVERDUE: self._confirmation_overdue,
            DELIVERY_REPORTED: self._delivery_reported,
        }

    def read_model_tables(self) -> list[Identifier]:
        return [self._inbox]

    def _created(self, event: Any, position: int) -> Iterator[Statement]:
        # Counted where every new notification passes once, whichever path made it (an API send,
        # a dossier event): by channel and the state it starts in; once committed (a consumed
        # batch that rolls back is applied again message by message, and would count twice).
        labels = {"channel": str(event.channel), "state": str(event.state)}
        self.after_commit(lambda: NOTIFICATIONS.add(1, labels))
        subject, body, sealed = (event.subject, event.body, False) if self.inbox_text is None else \
            self.inbox_text.seal(event.originator_id, {"recipient_account_id": event.recipient_account_id,
                                                       "dossier_id": event.dossier_id}, event.subject, event.body)
        yield self._insert_row, {
            "position": position,
            "notification_id": event.originator_id,
            "recipient_account_id": event.recipient_account_id,
            "channel": event.channel,
            "template_id": event.template_id,
            "template_key": event.template_key,
            "template_version": event.template_version,
            "subject": subject,
            "body": body,
            "text_sealed": sealed,
            "dossier_id": event.dossier_id,
            "state": event.state,
            "attempt_count": 0,
            "create_time": event.timestamp,
            "read_time": None,
            "version": event.originator_version,
            "sent_by": getattr(event, "sent_by", ""),  # events recorded before the field have none
            "provider": "",
            "provider_id": "",
            "last_error": "",
            # Due at once, when a channel with a provider is to send it.
            "next_attempt_time": (getattr(event, "not_before", None) or event.timestamp)
            if event.channel != IN_APP and event.state == QUEUED else None,
        }

    @staticmethod
    def _change(event: Any, state: str, *, attempt: int | None = None, next_attempt_time: datetime | None = None,
                provider: str | None = None, provider_id: str | None = None,
                error: str | None = None, confirm_by: datetime | None = None) -> dict[str, Any]:
        return {"notification_id": event.originator_id, "version": event.originator_version, "state": state,
                "attempt": attempt, "next_attempt_time": next_attempt_time, "provider": provider,
                "provider_id": provider_id, "error": error, "confirm_by": confirm_by}

    def _attempt_started(self, event: Any, position: int) -> Iterator[Statement]:
        yield self._delivery, self._change(event, SENDING, attempt=event.attempt,
                                           next_attempt_time=event.timestamp + self.attempt_lease)

    def _attempt_failed(self, event: Any, position: int) -> Iterator[Statement]:
        yield self._delivery, self._change(event, QUEUED, next_attempt_time=event.next_attempt_time, error=event.error)

    def _provider_accepted(self, event: Any, position: int) -> Iterator[Statement]:
        yield self._delivery, self._change(event, SENT, provider=event.provider, provider_id=event.provider_id,
                                           confirm_by=getattr(event, "confirm_by", None))

    def _confirmation_overdue(self, event: Any, position: int) -> Iterator[Statement]:
        yield self._overdue, {"notification_id": event.originator_id, "version": event.originator_version,
                              "error": event.error}

    def _gave_up(self, event: Any, position: int) -> Iterator[Statement]:
        yield self._delivery, self._change(event, BOUNCED if event.bounced else FAILED, error=event.error)

    def _delivery_reported(self, event: Any, position: int) -> Iterator[Statement]:
        state = DELIVERED if event.delivered else BOUNCED if event.bounced else FAILED
        yield self._delivery, self._change(event, state, error=event.error or None)

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

    def latest_in_app_after(self, recipient: UUID, after: int, up_to: int, limit: int) -> list[InboxEntry]:
        """The newest ``limit`` in-app notifications of a recipient after position ``after``, up
        to ``up_to``, oldest first (what a resumed stream missed)."""
        query = self._select + SQL(
            " WHERE recipient_account_id = %(recipient)s AND channel = %(channel)s"
            " AND position > %(after)s AND position <= %(up_to)s ORDER BY position DESC LIMIT %(limit)s"
        )
        entries = self._entries(query, {"recipient": recipient, "channel": IN_APP, "after": after, "up_to": up_to,
                                        "limit": limit})
        return entries[::-1]

    def due_for_sending(self, now: datetime, channels: Sequence[str], limit: int) -> list[UUID]:
        """Notifications of these channels whose (next) attempt is due, the longest waiting
        first."""
        rows = self.query(self._due, {"now": now, "channels": list(channels), "limit": limit})
        return [row["notification_id"] for row in rows]

    def unconfirmed(self, now: datetime, limit: int) -> list[UUID]:
        """Sent notifications whose receipt should have come by now."""
        return [row["notification_id"] for row in self.query(self._unconfirmed, {"now": now, "limit": limit})]

    def existing(self, notification_ids: Sequence[UUID]) -> set[UUID]:
        """Which of the notifications exist: one query for a batch of sends that may repeat
        earlier ones (the rows commit with their events, so a row is there when the events are)."""
        if not notification_ids:
            return set()
        rows = self.query(
            SQL("SELECT notification_id FROM {inbox} WHERE notification_id = ANY(%(ids)s)").format(inbox=self._inbox),
            {"ids": list(notification_ids)},
        )
        return {row["notification_id"] for row in rows}

    def by_provider_id(self, provider: str, provider_id: str) -> UUID | None:
        """The notification a provider knows by ``provider_id`` (its receipts name it so)."""
        rows = self.query(
            SQL("SELECT notification_id FROM {inbox} WHERE provider = %(provider)s AND provider_id = %(id)s").format(
                inbox=self._inbox),
            {"provider": provider, "id": provider_id},
        )
        return rows[0]["notification_id"] if rows else None

    def by_state(self, dossier_id: UUID | None, state: str | None, limit: int) -> list[NotificationView]:
        """Notifications of a dossier and/or in a state (e.g. the dead letters: failed), newest
        first."""
        query = self._select + SQL(" WHERE TRUE")
        if dossier_id is not None:
            query += SQL(" AND dossier_id = %(dossier)s")
        if state is not None:
            query += SQL(" AND state = %(state)s")
        query += SQL(" ORDER BY position DESC LIMIT %(limit)s")
        return [e.notification for e in self._entries(query, {"dossier": dossier_id, "state": state, "limit": limit})]

    def search(self, recipient: UUID | None, state: str | None, before: int | None,
               limit: int) -> list[InboxEntry]:
        """Notifications of a recipient and/or in a state, newest first, positioned before
        ``before`` when given (the operators' lists)."""
        query = self._select + SQL(" WHERE TRUE")
        if recipient is not None:
            query += SQL(" AND recipient_account_id = %(recipient)s")
        if state is not None:
            query += SQL(" AND state = %(state)s")
        if before is not None:
            query += SQL(" AND position < %(before)s")
        query += SQL(" ORDER BY position DESC LIMIT %(limit)s")
        return self._entries(query, {"recipient": recipient, "state": state, "before": before, "limit": limit})

    def provider_health(self, since: datetime) -> list[dict[str, Any]]:
        """Per channel other than the inbox, the notifications created since ``since`` by state,
        and the latest error among them."""
        query = SQL(
            "SELECT channel, count(*) AS total, "
            "count(*) FILTER (WHERE state = 'sent') AS sent, "
            "count(*) FILTER (WHERE state = 'delivered') AS delivered, "
            "count(*) FILTER (WHERE state IN ('failed', 'bounced')) AS failed, "
            "count(*) FILTER (WHERE state IN ('queued', 'sending')) AS pending, "
            "(array_agg(last_error ORDER BY position DESC) FILTER (WHERE last_error <> ''))[1] AS last_error "
            "FROM {inbox} WHERE channel <> 'in_app' AND create_time >= %(since)s GROUP BY channel ORDER BY channel"
        ).format(inbox=self._inbox)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, {"since": since})
            return [dict(row) for row in curs.fetchall()]

    def _entries(self, query: Composed, params: dict[str, Any]) -> list[InboxEntry]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, params)
            return [InboxEntry(row["position"], NotificationView.from_row(self._opened(row)))
                    for row in curs.fetchall()]

    def _opened(self, row: dict[str, Any]) -> dict[str, Any]:
        if not row["text_sealed"]:
            return row
        if self.inbox_text is None:
            raise RuntimeError("the inbox holds sealed text and no key store opens it")
        row["subject"], row["body"] = self.inbox_text.open(row)
        return row
