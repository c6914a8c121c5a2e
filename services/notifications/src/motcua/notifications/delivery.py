"""The sender: hands queued notifications to their channel's provider, one replica at a time.

The leader (kernel's ``SingleLeaderWorker``) reads the read model for notifications whose
attempt is due: at once when any replica commits events (it LISTENs, on the connection that
holds its lock, on the event store's channel, which every transaction appending events
NOTIFYs), else every ``poll_interval`` seconds (the fallback for a NOTIFY lost while the
connection was re-opened, and for attempts that come due with time). It works in turns; in
each one it

1. claims the notifications found due: reads them all at once and records an
   ``AttemptStarted`` for each, all in one transaction (each is "sending" now, leased for
   ``MOTCUA_NOTIFY_ATTEMPT_LEASE``), and hands them to its threads;
2. each thread calls the channel's adapter for one, paced by the provider's rate limit (one
   SMTP connection kept open per thread: several transactions under way at once);
3. at the next turn, records what came of the calls that ended meanwhile, all in one
   transaction: ``ProviderAccepted`` with the provider's id; ``AttemptFailed`` with the next
   attempt's time for a transient failure (exponential backoff with full jitter, at least
   what the provider asked for); ``GaveUp`` for a permanent failure or after the last
   attempt: a dead letter, listed by state for operators.

So a notification costs a share of two commits, not two commits, whatever the load.

When the sender dies (or its database connection fails) between a provider's acceptance and
the commit recording it, the notification stays "sending" until its lease passes; then a
sender tries again. The SMS and Zalo providers recognise the repeated request by the
notification id and do not send it twice. An SMTP server does not: that e-mail goes out a
second time (with the same text, a new Message-ID), as it did when each notice was recorded
alone; the batch widens that window only to the calls that ended in the turn the crash cut
short, never to notices whose acceptance was recorded, nor to those not yet handed to the
server (they are sent once, after the lease). The log shows it: an ``AttemptStarted`` with no
outcome, then the next attempt's.

Several sender processes (``MOTCUA_NOTIFY_ROLE=sender``) may run: one leads, the others wait
to take over; the lease and the leader's lock keep two of them from sending a notice at once.

A notification exists once per cause (its id follows from the integration event's id), so
a redelivered event never queues, hence never sends, a second one.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Identifier

from motcua.kernel.errors import VersionConflict
from motcua.kernel.leadership import SingleLeaderWorker
from motcua.kernel.supervision import WorkerHealth

from .adapters import Channel, Outgoing, PermanentFailure, TransientFailure
from .application import NotificationsApplication
from .domain import BOUNCED, FAILED, SENDING, SMS, ZALO, Notification

# Channels whose providers report delivery (receipts); e-mail's "accepted" is all SMTP says.
CONFIRMED_CHANNELS = (SMS, ZALO)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 2.0  # seconds before the second attempt, at most (then doubling)
    max_delay: float = 600.0

    def delay(self, attempt: int, retry_after: float | None = None, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first): full jitter
        over an exponentially growing window, so that a provider's outage does not end in a
        synchronised burst; never less than the provider's Retry-After."""
        window = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return max(rand() * window, retry_after or 0.0)


class RateLimiter:
    """A token bucket per provider: at most ``rate`` sends a second, bursts of ``rate``."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()  # shared by the sender threads
        self.rate = rate
        self.clock = clock
        self.tokens = max(rate, 1.0)
        self.updated = clock()

    def wait_time(self) -> float:
        """Takes a token; seconds to wait first (0 when one was there)."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass
class Attempt:
    """One notification's attempt: claimed (its AttemptStarted recorded), then handed to the
    provider, which sets ``outcome``; recorded afterwards with the other attempts that ended
    meanwhile. ``message`` is None when there was nothing to send (no contact point: the
    notification was given up as it was claimed)."""

    notification: Notification
    number: int
    message: Outgoing | None
    # (method of Notification, its keyword arguments): applied when recorded, so that a
    # recording that meets a concurrent change can apply it again to the notification re-read.
    outcome: tuple[str, dict[str, Any]] | None = None


class Sender:
    """Sends notifications: the steps above, without the polling (for the worker and tests).

    In three steps, so that the worker records many notifications' life-cycle events in one
    transaction each: ``claim`` (AttemptStarted, a batch at once), ``deliver`` (one provider
    call, on any thread; records nothing), ``record`` (the outcomes of a batch at once).
    """

    def __init__(self, app: NotificationsApplication, channels: Mapping[str, Channel], policy: RetryPolicy,
                 rates: Mapping[str, float] | None = None, confirm_within: float = 0) -> None:
        self.app = app
        # Seconds a receipt may take on the channels whose providers send receipts (SMS, Zalo);
        # 0: wait for ever (no fallback on silence).
        self.confirm_within = confirm_within
        self.channels = dict(channels)
        self.policy = policy
        self.limiters = {name: RateLimiter(rate) for name, rate in (rates or {}).items() if rate > 0}

    def send(self, notification_id: UUID, stop: threading.Event | None = None) -> str | None:
        """Makes one attempt if one is due; the notification's state after it (None: nothing
        to do)."""
        claimed = self.claim([notification_id])
        if not claimed:
            return None
        (attempt,) = claimed
        if attempt.message is None:
            return attempt.notification.state
        if self.deliver(attempt, stop) is None:
            return None  # stopping: the lease brings it back
        return self.record([attempt])[0]

    def claim(self, notification_ids: Sequence[UUID]) -> list[Attempt]:
        """Starts an attempt at each pending notification of ``notification_ids``, all recorded
        in one transaction (when another leader changed one meanwhile, each alone, that one
        left out). A notification without a contact point is given up at once (and its notice
        falls back to the next channel): returned with no message."""
        attempts: list[Attempt] = []
        found = self.app.find_many(Notification, notification_ids)
        for notification_id in notification_ids:
            notification = found.get(notification_id)
            if notification is None or not notification.is_pending or notification.channel not in self.channels:
                continue
            address = self.app.address_of(notification)
            number = notification.start_attempt()
            if not address:
                notification.give_up(f"no {notification.channel} contact point for the recipient")
                attempts.append(Attempt(notification, number, None))
                continue
            attempts.append(Attempt(notification, number, Outgoing(
                notification_id=notification.id,
                address=address,
                subject=notification.subject,
                body=notification.body,
                template_key=notification.template_key,
                template_version=notification.template_version,
                parameters=notification.parameters,
            )))
        if not attempts:
            return []
        try:
            self.app.save(*(a.notification for a in attempts))
        except VersionConflict:
            if len(notification_ids) == 1:
                return []  # changed meanwhile (another leader, briefly): the next poll sees it
            return [a for n in notification_ids for a in self.claim([n])]
        for attempt in attempts:
            if attempt.message is None:
                self.app.fall_back(attempt.notification)
        return attempts

    def deliver(self, attempt: Attempt, stop: threading.Event | None = None) -> Attempt | None:
        """Hands the claimed notification to its provider, paced by the provider's rate limit;
        the attempt with its outcome set (None: stopping while waiting for the rate limit)."""
        assert attempt.message is not None
        notification = attempt.notification
        limiter = self.limiters.get(notification.channel)
        if limiter is not None:
            pause = limiter.wait_time()
            if pause and (stop or threading.Event()).wait(pause):
                return None
        channel = self.channels[notification.channel]
        try:
            provider_id = channel.send(attempt.message)
        except TransientFailure as e:
            if attempt.number >= self.policy.max_attempts:
                attempt.outcome = ("give_up", {"error": f"{e.reason} (attempt {attempt.number} of "
                                                        f"{self.policy.max_attempts}: giving up)"})
            else:
                wait = self.policy.delay(attempt.number, e.retry_after)
                attempt.outcome = ("attempt_failed", {"error": e.reason,
                                                      "next_attempt_time": datetime.now(UTC) + timedelta(seconds=wait)})
        except PermanentFailure as e:
            attempt.outcome = ("give_up", {"error": e.reason, "bounced": e.bounced})
        else:
            confirm_by = None
            if self.confirm_within and notification.channel in CONFIRMED_CHANNELS:
                confirm_by = datetime.now(UTC) + timedelta(seconds=self.confirm_within)
            attempt.outcome = ("provider_accepted", {"provider": channel.name, "provider_id": provider_id,
                                                     "confirm_by": confirm_by})
        return attempt

    def record(self, attempts: Sequence[Attempt]) -> list[str | None]:
        """The outcomes of delivered attempts, recorded in one transaction; each notification's
        state after it, in order (None: changed meanwhile, left as it was)."""
        for attempt in attempts:
            self._apply(attempt.notification, attempt)
        try:
            self.app.save(*(a.notification for a in attempts))
            recorded: list[Notification | None] = [a.notification for a in attempts]
        except VersionConflict:
            recorded = [self._record_alone(a) for a in attempts]
        states: list[str | None] = []
        for attempt, notification in zip(attempts, recorded, strict=True):
            states.append(None if notification is None else notification.state)
            if notification is None:
                continue
            if notification.state in (FAILED, BOUNCED):
                # A dead letter: operators find it by this line, and by the dossier's notices.
                log.warning("notification given up", extra={
                    "notification_id": str(notification.id), "channel": notification.channel,
                    "state": notification.state, "attempts": attempt.number, "error": notification.last_error})
                self.app.fall_back(notification)
            log.info("notification attempt", extra={"notification_id": str(notification.id),
                                                     "channel": notification.channel, "attempt": attempt.number,
                                                     "state": notification.state})
        return states

    @staticmethod
    def _apply(notification: Notification, attempt: Attempt) -> None:
        assert attempt.outcome is not None
        method, arguments = attempt.outcome
        getattr(notification, method)(**arguments)

    def _record_alone(self, attempt: Attempt) -> Notification | None:
        """The attempt's outcome applied to the notification as stored now and saved, if it is
        still this attempt's (another change meanwhile, e.g. an operator's, is kept)."""
        notification = self.app.find(Notification, attempt.notification.id)
        if notification is None or notification.state != SENDING or notification.attempt_count != attempt.number:
            return None
        self._apply(notification, attempt)
        try:
            self.app.save(notification)
        except VersionConflict:
            return None
        return notification

    def overdue(self, notification_id: UUID) -> bool:
        """A sent notification whose receipt did not come in time: recorded, and the notice
        goes out on the next channel. False when a receipt came meanwhile."""
        notification = self.app.find(Notification, notification_id)
        if notification is None or not notification.confirmation_overdue(f"{self.confirm_within:g} s"):
            return False
        try:
            self.app.save(notification)
        except VersionConflict:
            return False  # the receipt came meanwhile
        log.warning("no delivery receipt in time: falling back", extra={"notification_id": str(notification.id),
                                                                         "channel": notification.channel})
        self.app.fall_back(notification)
        return True

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()


_STOP_CHECK_SECONDS = 0.5
_MIN_READ_GAP_SECONDS = 0.025


class DeliveryWorker(SingleLeaderWorker):
    """Polls for due and unconfirmed notifications; ``threads`` send at once (each provider
    call waits on the network, each record on a durable commit)."""

    def __init__(self, sender: Sender, poll_interval: float = 0.5, batch: int = 100, threads: int = 8) -> None:
        super().__init__(sender.app.settings, "notification sender", f"{sender.app.settings.service}:sender",
                         WorkerHealth("notification sender"))
        self.sender = sender
        self.poll_interval = poll_interval
        self.batch = batch
        self.threads = threads

    def lead(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        conn.execute(SQL("LISTEN {}").format(Identifier(self.sender.app.recorder.channel_name)))
        with ThreadPoolExecutor(self.threads, thread_name_prefix="notification-sender") as pool:
            self._lead(pool, stop, conn)

    def _wait_for_news(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        """Until a transaction appends events (a notification queued, by any replica), the
        poll interval passes or the worker stops; the NOTIFYs that came meanwhile (the
        sender's own commits among them) are all answered by the one read that follows."""
        deadline = time.monotonic() + self.poll_interval
        while not stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
            # In slices: a stop is noticed within one (a long poll interval holds no shutdown).
            if any(True for _ in conn.notifies(timeout=min(remaining, _STOP_CHECK_SECONDS), stop_after=1)):
                break
        for _ in conn.notifies(timeout=0):
            pass

    def _lead(self, pool: ThreadPoolExecutor, stop: threading.Event, conn: psycopg.Connection) -> None:
        channels = list(self.sender.channels)
        checked_receipts = float("-inf")
        # Continuous: up to ``batch`` notifications handed to the threads at a time, more read as
        # soon as some are done; a slow provider call holds up its own thread only, never the
        # notices queued after it (as waiting for a whole batch read at once did). The attempts
        # that start, and those that ended, since the last turn are each recorded in one
        # transaction: two commits a turn, however many notices it sends.
        in_flight: dict[UUID, Future[Attempt | None]] = {}
        try:
            while not stop.is_set():
                self.health.working()
                self._record_ended(in_flight)
                read_at = time.monotonic()
                room = self.batch - len(in_flight)
                due: list[UUID] = []
                if room > 0:
                    # Those in flight may still read as due (their claim met a conflict): skipped.
                    found = self.sender.app.recorder.due_for_sending(datetime.now(UTC), channels,
                                                                     self.batch + len(in_flight))
                    due = [n for n in found if n not in in_flight][:room]
                    for attempt in self.sender.claim(due) if due else ():
                        if attempt.message is not None:
                            in_flight[attempt.notification.id] = pool.submit(self.sender.deliver, attempt, stop)
                if stop.is_set():
                    break
                unconfirmed: list[UUID] = []
                # Receipts come due with time, not with commits: looked for once a poll interval
                # (or at once again while a full batch of them was found).
                if time.monotonic() - checked_receipts >= self.poll_interval:
                    unconfirmed = self.sender.app.recorder.unconfirmed(datetime.now(UTC), self.batch)
                    checked_receipts = time.monotonic() if len(unconfirmed) < self.batch else float("-inf")
                for notification_id in unconfirmed:
                    if stop.is_set():
                        break
                    self.sender.overdue(notification_id)
                if in_flight:
                    # Until a send ends (its outcome to record; its thread free for the next);
                    # notices queued meanwhile are read then, a few ms later at most.
                    wait([*in_flight.values()], timeout=self.poll_interval, return_when=FIRST_COMPLETED)
                elif len(due) < room and len(unconfirmed) < self.batch:
                    # Nothing more due now: until news (a notification queued), the poll
                    # interval, or the stop.
                    self._wait_for_news(conn, stop)
                # Sends end by the hundred a second under load: one turn per gap at most gathers
                # them (and the notices queued meanwhile) into one commit each, for a few ms of
                # latency.
                if (pause := read_at + _MIN_READ_GAP_SECONDS - time.monotonic()) > 0:
                    stop.wait(pause)
        finally:
            # Stopping (or failing): the attempts under way end and what they sent is recorded
            # (a stopped one's lease brings it back later).
            wait([*in_flight.values()])
            self._record_ended(in_flight)

    def _record_ended(self, in_flight: dict[UUID, Future[Attempt | None]]) -> None:
        """Records the outcomes of the sends that ended, in one transaction; a send's unexpected
        failure then ends the lead (its notification comes back when its lease has passed)."""
        ended: list[Attempt] = []
        failure: BaseException | None = None
        for notification_id in [n for n, future in in_flight.items() if future.done()]:
            future = in_flight.pop(notification_id)
            if (error := future.exception()) is not None:
                failure = failure or error
            elif (attempt := future.result()) is not None:
                ended.append(attempt)
        if ended:
            self.sender.record(ended)
        if failure is not None:
            raise failure
