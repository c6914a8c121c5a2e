"""The notifications section of `make bench`
(alone: `make bench BENCH_ARGS="--only notifications"`).

notifications accepted/s
    ``SendNotification`` calls (an administrator's, e-mail template, one address each) from K
    concurrent callers over one gRPC channel for a fixed time: each call renders the
    template and commits the queued notification (its event and read-model row).
e-mails delivered/s
    The same notifications handed to a local SMTP server (aiosmtpd, started here) by the
    service's sender worker: e-mails the server received / seconds from the first accepted
    call to the last e-mail received (each one: an AttemptStarted commit, an SMTP transaction
    on a kept-open connection, a ProviderAccepted commit).
queued -> handed to SMTP
    Per e-mail: the SMTP server's receive time minus the caller's acknowledgement time of its
    SendNotification (same machine, same clock); p50 / p99 over the run.

Targets (issue 15): 1,000 notifications accepted/s; 300 e-mails/s to a local SMTP server;
p99 event-to-send at most 1 s. Printed beside, never asserted.

accepted alone: single calls, SendNotifications (N per call), from dossier events
    A notifications service of its own with no e-mail provider (its sender has nothing to do):
    single calls as above; batches of N notices per SendNotifications call; DossierReceived
    events produced to Kafka, each queuing the applicant's in-app notice through the consumer
    (run_acceptance). Each with the CPU ms of the service and PostgreSQL per notice accepted.

CPU ms per notification
    The notifications process's and PostgreSQL's CPU seconds (/proc) from the first call to
    the last e-mail received, divided by the e-mails received: what a notification costs,
    accepted and sent, a figure the other load on a shared machine changes far less than a rate.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

TARGETS = {"accepted_per_s": 1000, "emails_per_s": 300, "p99_ms": 1000}


def run_notifications(stack, seconds: float, callers: int, step: Callable[[str], None]) -> dict:
    from motcua.notifications.v1 import notification_service_pb2 as pb
    from tests.perf.stack import CpuMeter, on_threads
    from tests.support.notices import administrator_stub, result_email_template
    from tests.support.smtp_sink import SmtpSink

    sink = SmtpSink()
    received_at: dict[str, float] = {}
    keep = sink._received

    def timed(recipients: list[str], content: bytes) -> None:
        for recipient in recipients:
            received_at[recipient] = time.time()
        keep(recipients, b"")  # the count, not the bytes

    sink._received = timed  # type: ignore[method-assign]
    sink.start()
    process = stack.service("notifications", MOTCUA_SMTP_HOST="127.0.0.1", MOTCUA_SMTP_PORT=str(sink.port),
                            MOTCUA_SMTP_STARTTLS="false", MOTCUA_NOTIFY_POLL_INTERVAL="0.05").start()
    try:
        stub = administrator_stub(stack.identity.addr, process.addr)
        template_id = result_email_template(stub, "do_hieu_nang")
        step(f"notifications: {callers} callers sending e-mail notifications for {seconds:g} s")
        acknowledged: dict[str, float] = {}
        errors: list[str] = []
        lock = threading.Lock()
        deadline = time.time() + seconds

        def caller(n: int) -> None:
            i = 0
            while time.time() < deadline:
                address = f"nguoi.nhan.{n}.{i}@example.vn"
                try:
                    stub.SendNotification(pb.SendNotificationRequest(template_id=template_id, address=address,
                                                                     parameters={"ma": f"H56-{n}-{i}"}))
                except Exception as e:  # noqa: BLE001 - counted and shown
                    errors.append(type(e).__name__)
                else:
                    with lock:
                        acknowledged[address] = time.time()
                i += 1

        meter = CpuMeter({"notifications": process.pid, "postgres": stack.postgres.pid}).start()
        started = time.time()
        on_threads(caller, callers)
        accept_seconds = time.time() - started
        step(f"notifications: waiting for {len(acknowledged):,} e-mails at the SMTP server")
        wait_until = time.time() + 300
        while len(received_at) < len(acknowledged) and time.time() < wait_until:
            time.sleep(0.2)
        meter.stop()
        delivered = [a for a in acknowledged if a in received_at]
        last = max((received_at[a] for a in delivered), default=started)
        lags = sorted((received_at[a] - acknowledged[a]) * 1000 for a in delivered)
        return {
            "callers": callers,
            "accepted": len(acknowledged),
            "accepted_per_s": round(len(acknowledged) / accept_seconds, 1),
            "emails": len(delivered),
            "emails_per_s": round(len(delivered) / max(last - started, 1e-9), 1),
            "lag_ms_p50": round(statistics.median(lags), 1) if lags else None,
            "lag_ms_p99": round(lags[int(len(lags) * 0.99) - 1], 1) if len(lags) >= 100 else None,
            "errors": len(errors),
            "cpu_ms_per_notification": {name: round(1000 * seconds / max(len(delivered), 1), 2)
                                        for name, seconds in meter.cpu_seconds.items()},
            "targets": TARGETS,
        }
    finally:
        process.terminate()
        sink.stop()


def print_notifications(r: dict) -> None:
    print(f"\nnotifications ({r['callers']} callers, e-mail to a local SMTP server)")
    rows = (("notifications accepted", r["accepted_per_s"], "/s", TARGETS["accepted_per_s"], True),
            ("e-mails delivered to SMTP", r["emails_per_s"], "/s", TARGETS["emails_per_s"], True),
            ("queued -> SMTP, p99", r["lag_ms_p99"], "ms", TARGETS["p99_ms"], False))
    for label, value, unit, target, at_least in rows:
        below = "" if value is None or (value >= target if at_least else value <= target) else "  MISSES TARGET"
        shown = "n/a" if value is None else f"{value:,.0f}"
        print(f"  {label:30}{shown:>10} {unit:3} target {'>=' if at_least else '<='} {target:,}{below}")
    print(f"  queued -> SMTP p50 {r['lag_ms_p50']} ms; {r['accepted']:,} accepted, {r['emails']:,} received, "
          f"{r['errors']} errors")
    cpu = r.get("cpu_ms_per_notification") or {}
    print("  CPU per notification (accepted and sent): "
          + ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu.items()))


# --- acceptance alone: single calls, batches, dossier events -----------------------------------

BATCH_SIZE = 100  # notifications per SendNotifications call
BATCH_CALLERS = 4


def run_acceptance(stack, seconds: float, callers: int, events: int, step: Callable[[str], None]) -> dict:
    """Notifications accepted/s three ways, by a notifications service of its own (its own
    database) with no e-mail provider configured, so that its sender has nothing to send and
    the CPU measured is the accepting's alone (the e-mails are the phase above's):

    - single calls: ``callers`` threads calling SendNotification, one e-mail notice per call;
    - batches: BATCH_CALLERS threads calling SendNotifications with BATCH_SIZE notices each;
    - dossier events: ``events`` DossierReceived events produced to Kafka (faster than they are
      consumed), each queuing the applicant's in-app notice through the consumer (a polled batch
      of events commits in one transaction); from the first event sent to the last notice
      committed (counted in the inbox table).
    """
    import psycopg

    from motcua.notifications.v1 import notification_service_pb2 as pb
    from tests.perf.stack import CpuMeter, repeated_calls
    from tests.support.dossier_events import DossierEvents
    from tests.support.notices import administrator_stub, result_email_template

    database = f"motcua_notifications_bench{uuid.uuid4().hex[:6]}"
    stack.postgres.create_database(database)
    process = stack.service("notifications", POSTGRES_DBNAME=database).start()
    pids = {"notifications": process.pid, "postgres": stack.postgres.pid}
    results: dict = {"callers": callers, "batch_size": BATCH_SIZE, "batch_callers": BATCH_CALLERS,
                     "targets": TARGETS}
    try:
        stub = administrator_stub(stack.identity.addr, process.addr)
        template_id = result_email_template(stub, "do_chap_nhan")

        def notice(n: int, i: int) -> pb.SendNotificationRequest:
            return pb.SendNotificationRequest(template_id=template_id, address=f"nguoi.nhan.{n}.{i}@example.vn",
                                              parameters={"ma": f"H56-{n}-{i}"})

        def timed(label: str, threads: int, call: Callable[[int, int], int]) -> dict:
            step(f"notifications (pid {process.pid}): {label} for {seconds:g} s")
            meter = CpuMeter(pids).start()
            done, elapsed, errors = repeated_calls(call, threads, seconds)
            meter.stop()
            return _accepted(done, elapsed, meter, errors)

        def one(n: int, i: int) -> int:
            stub.SendNotification(notice(n, i))
            return 1

        results["single"] = timed(f"{callers} callers, SendNotification one notice per call", callers, one)
        results["batch"] = timed(
            f"{BATCH_CALLERS} callers, SendNotifications {BATCH_SIZE} notices per call", BATCH_CALLERS,
            lambda n, i: len(stub.SendNotifications(pb.SendNotificationsRequest(notifications=[
                notice(1000 + n, i * BATCH_SIZE + k) for k in range(BATCH_SIZE)])).notifications))

        # Produced while the service runs: a restarted one would first catch up its chain sealer and
        # audit indexer on the phases above, work that is theirs. The producer (crc32c in C) goes
        # several times faster than the consumer, so the rate is the consumer's.
        producer = DossierEvents(stack.kafka.bootstrap)
        appointed = datetime.now(UTC) + timedelta(days=5)
        messages = [producer.received(str(uuid.uuid4()), appointed, code=f"000.00.12.H56-260105-{n:05d}")
                    for n in range(events)]
        step(f"notifications (pid {process.pid}): {events:,} DossierReceived events to Kafka, notices by the consumer")
        with psycopg.connect(stack.postgres.dsn(database), autocommit=True) as conn:
            def received() -> int:
                (count,) = conn.execute(SQL_COUNT_RECEIVED).fetchone() or (0,)
                return count

            before = received()
            meter = CpuMeter(pids).start()
            started = time.time()
            producer.send(*messages)
            sent = time.time() - started
            queued, wait_until = 0, time.time() + 300
            while queued < events and time.time() < wait_until:
                time.sleep(0.05)
                queued = received() - before
            elapsed = time.time() - started
            meter.stop()
        producer.close()
        results["events"] = {**_accepted(queued, elapsed, meter, []), "events": events,
                             "produced_per_s": round(events / max(sent, 1e-9), 1)}
        return results
    finally:
        process.terminate()


# The in-app notices of received dossiers (the consumer's), in the inbox table of the service.
SQL_COUNT_RECEIVED = "SELECT count(*) FROM notifications_inbox WHERE template_key = 'dossier_received'"


def _accepted(count: int, seconds: float, meter, errors: list[str]) -> dict:
    return {
        "accepted": count,
        "accepted_per_s": round(count / max(seconds, 1e-9), 1),
        "errors": len(errors),
        "cpu_ms_per_notification": {name: round(1000 * cpu / max(count, 1), 2)
                                    for name, cpu in meter.cpu_seconds.items()},
    }


def print_acceptance(r: dict) -> None:
    print("\nnotifications accepted (a service of its own, no e-mail provider: accepting alone)")
    target = TARGETS["accepted_per_s"]
    rows = (("single calls (SendNotification)", r["single"]),
            (f"SendNotifications ({r['batch_size']} per call)", r["batch"]),
            ("from dossier events (consumer)", r["events"]))
    for label, row in rows:
        below = "" if row["accepted_per_s"] >= target else "  MISSES TARGET"
        cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in row["cpu_ms_per_notification"].items())
        print(f"  {label:34}{row['accepted_per_s']:>10,.0f} /s  target >= {target:,}{below}"
              f"  CPU ms/notice: {cpu}; {row['accepted']:,} accepted, {row['errors']} errors")
    print(f"  (events produced at {r['events']['produced_per_s']:,.0f}/s)")
