"""The inbox hub: pushes new in-app notifications to the StreamInbox calls of this process.

One hub per process, shared by every open stream:

- one dedicated PostgreSQL connection LISTENs on the event store's channel, which
  the recorder NOTIFYs in every transaction that appends events, whichever
  replica appended them (the consumer of any replica, a gRPC command);
- on a notification, or every ``poll_interval`` seconds when none comes (the
  fallback if a NOTIFY is lost, e.g. while the connection was being re-opened),
  it reads the inbox read model for in-app notifications of the recipients that
  have a stream open here, after the last position it handled and up to the
  log's current end, and hands each to those recipients' streams;
- streams never touch the database while they wait: they block on their own
  subscription (a queue with a condition), woken by the hub, by the client
  cancelling (gRPC callback) or by the server shutting down.

Positions are the event log's notification ids, which become visible in
increasing order (see ``readmodel``): a stream registered when the hub had
handled everything up to P gets the unread notifications up to P from the read
model, then every later one from the hub, none twice and none missed.

Shutdown: the runtime drains in-flight calls before anything else stops, and a
stream would hold the drain for the whole grace period. The runtime calls
``shutdown`` as shutdown begins (``Service.on_shutdown``): every stream ends with
UNAVAILABLE, so clients reconnect to another replica at once.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Sequence
from uuid import UUID

from psycopg.sql import SQL, Identifier

from motcua.kernel.eventstore import dedicated_connection
from motcua.kernel.supervision import keep_running

from .application import NotificationsApplication
from .views import InboxEntry

log = logging.getLogger(__name__)

# Why a subscription ended.
CANCELLED = "cancelled"  # by the client (or its deadline)
SHUTDOWN = "shutdown"  # the server is shutting down
OVERFLOW = "overflow"  # the client does not read fast enough


class InboxClosed(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InboxUnavailable(Exception):
    """The hub is shut down (the server is stopping)."""


class InboxFull(Exception):
    """This process already serves as many streams as it may."""


class TooManyStreams(InboxFull):
    """The caller already holds as many streams of this process as one caller may."""


class InboxSubscription:
    """One open stream's mailbox: the hub puts arrivals in, the stream takes them out."""

    def __init__(self, account_id: UUID, after: int, max_pending: int, holder: str = "") -> None:
        self.account_id = account_id
        self.holder = holder or str(account_id)  # who opened it (an overseer may follow others' inboxes)
        self.after = after  # the hub had handled every position up to here when it registered
        self.max_pending = max_pending
        self.closed: str | None = None
        self._pending: collections.deque[InboxEntry] = collections.deque()
        self._condition = threading.Condition()

    def deliver(self, notifications: Sequence[InboxEntry]) -> None:
        with self._condition:
            if self.closed is not None:
                return
            if len(self._pending) + len(notifications) > self.max_pending:
                self.closed = OVERFLOW
                self._pending.clear()
            else:
                self._pending.extend(notifications)
            self._condition.notify_all()

    def close(self, reason: str) -> None:
        """Ends the subscription (the first reason given wins). Never blocks for long."""
        with self._condition:
            if self.closed is None:
                self.closed = reason
            self._condition.notify_all()

    def take(self, timeout: float) -> list[InboxEntry]:
        """The arrivals so far, waiting up to ``timeout`` for one; [] after the timeout.

        Raises InboxClosed once closed; on shutdown, what had arrived is handed out first.
        """
        with self._condition:
            self._condition.wait_for(lambda: self._pending or self.closed is not None, timeout)
            if self.closed in (CANCELLED, OVERFLOW) or (self.closed is not None and not self._pending):
                raise InboxClosed(self.closed)
            taken = list(self._pending)
            self._pending.clear()
            return taken


class InboxHub:
    def __init__(
        self,
        center: NotificationsApplication,
        *,
        poll_interval: float = 1.0,
        max_streams: int = 16,
        max_streams_per_holder: int = 3,
        max_pending: int = 1000,
    ) -> None:
        self.center = center
        self.poll_interval = poll_interval
        self.max_streams = max_streams
        self.max_streams_per_holder = max_streams_per_holder
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._subscribers: dict[UUID, set[InboxSubscription]] = {}
        self._count = 0
        self._held: collections.Counter[str] = collections.Counter()  # open streams by holder
        self._position = 0  # every arrival up to here was handed to the streams open then
        self._stop = threading.Event()
        self._closed = False
        self._threads: list[threading.Thread] = []

    # --- streams ------------------------------------------------------------------------------

    def subscribe(self, account_id: UUID, holder: str = "") -> InboxSubscription:
        """A live subscription to ``account_id``'s inbox, opened by ``holder`` (the caller;
        by default the account itself). Refused (TooManyStreams) when the holder has
        ``max_streams_per_holder`` open already: without that, one account could hold every
        stream this process serves and lock everybody else out."""
        holder = holder or str(account_id)
        with self._lock:
            if self._closed:
                raise InboxUnavailable("the server is shutting down")
            if self._held[holder] >= self.max_streams_per_holder:
                raise TooManyStreams(
                    f"this account holds {self._held[holder]} open inbox streams already, "
                    f"the most one account may hold ({self.max_streams_per_holder}); close one first"
                )
            if self._count >= self.max_streams:
                raise InboxFull(f"this replica serves {self.max_streams} inbox streams already")
            if self._count == 0:
                # Nobody listened since the last position handled: start from the end of the log.
                self._position = self.center.recorder.max_notification_id() or 0
            subscription = InboxSubscription(account_id, self._position, self.max_pending, holder)
            self._subscribers.setdefault(account_id, set()).add(subscription)
            self._count += 1
            self._held[holder] += 1
            self._start()
        return subscription

    def unsubscribe(self, subscription: InboxSubscription) -> None:
        subscription.close(CANCELLED)
        with self._lock:
            subscriptions = self._subscribers.get(subscription.account_id)
            if subscriptions is not None and subscription in subscriptions:
                subscriptions.discard(subscription)
                self._count -= 1
                self._held[subscription.holder] -= 1
                if not self._held[subscription.holder]:
                    del self._held[subscription.holder]
                if not subscriptions:
                    del self._subscribers[subscription.account_id]

    def backlog(self, subscription: InboxSubscription, limit: int, resume_after: int = 0) -> list[InboxEntry]:
        """What the stream starts with, up to its registration position: the unread in-app
        notifications, or, when it resumes a broken stream, every one after the position it
        had reached (the newest ``limit`` of them: a client gone for long reads the rest by
        listing)."""
        if resume_after:
            return self.center.in_app_after(subscription.account_id, resume_after, subscription.after, limit)
        return self.center.unread_in_app(subscription.account_id, subscription.after, limit)

    def shutdown(self) -> None:
        """Ends every stream (UNAVAILABLE) and refuses new ones; the listener stops."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            subscriptions = [s for group in self._subscribers.values() for s in group]
        for subscription in subscriptions:
            subscription.close(SHUTDOWN)
        self._stop.set()
        log.info("inbox hub shut down", extra={"streams_closed": len(subscriptions)})

    # --- background work -------------------------------------------------------------------------

    def _start(self) -> None:
        """Starts the listener with the first stream. Called under the lock."""
        if self._threads:
            return
        thread = threading.Thread(
            target=keep_running, args=(self._stop, self._listen, "inbox listener"), name="inbox-listener", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def _listen(self, stop: threading.Event) -> None:
        with dedicated_connection(self.center.settings, "inbox") as conn:
            conn.execute(SQL("LISTEN {}").format(Identifier(self.center.recorder.channel_name)))
            while not stop.is_set():
                self._poll()  # first: whatever arrived while not listening
                for _ in conn.notifies(timeout=self.poll_interval, stop_after=1):
                    pass

    def _poll(self) -> None:
        with self._lock:
            if not self._subscribers:
                return
            up_to = self.center.recorder.max_notification_id() or 0
            if up_to <= self._position:
                return
            arrivals: dict[UUID, list[InboxEntry]] = {}
            for entry in self.center.recorder.in_app_arrivals(list(self._subscribers), self._position, up_to):
                arrivals.setdefault(entry.notification.recipient_account_id, []).append(entry)  # type: ignore[arg-type]
            for account_id, notifications in arrivals.items():
                for subscription in self._subscribers.get(account_id, ()):
                    subscription.deliver(notifications)
            self._position = up_to
