"""The e-mail sending section of `make bench` (alone: `make bench BENCH_ARGS="--only sending"`;
also part of `--only notifications`).

e-mails delivered/s, sender alone
    N notifications (an administrator's, e-mail template, one address each) are queued
    through an API process (``MOTCUA_NOTIFY_ROLE=api``, which sends nothing); then
    ``MOTCUA_BENCH_SENDERS`` sender processes (``MOTCUA_NOTIFY_ROLE=sender``, as the chart
    deploys them) start and hand them to a local SMTP server (aiosmtpd, in this process):
    (N - 1) / seconds from the first e-mail received to the last. The accepting side is
    measured apart (tests/perf/notifications.py); here only the sending counts.

CPU ms per e-mail
    The sender processes', PostgreSQL's and this process's (the SMTP server; the bench
    itself is idle meanwhile) CPU seconds (/proc) between the first e-mail received and the
    last, divided by the e-mails in between.

Target (issue 15): 300 e-mails/s to a local SMTP server. Printed beside, never asserted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

EMAILS_TARGET = 300
# MOTCUA_BENCH_SENDERS: sender processes (1); MOTCUA_BENCH_EMAILS: e-mails queued (1,000 with
# --quick, else 5,000).
SENDER_PROCESSES = int(os.environ.get("MOTCUA_BENCH_SENDERS", "1") or 1)
EMAILS = int(os.environ.get("MOTCUA_BENCH_EMAILS", "0") or 0)


def run_sending(stack, emails: int, callers: int, step: Callable[[str], None]) -> dict:
    from motcua.notifications.v1 import notification_service_pb2 as pb
    from tests.perf.stack import CpuMeter, on_threads
    from tests.support.notices import administrator_stub, result_email_template
    from tests.support.smtp_sink import SmtpSink

    emails = EMAILS or emails
    sink = SmtpSink()
    received: list[float] = []
    meter: CpuMeter | None = None
    meter_pids: dict[str, int] = {}
    keep = sink._received

    def timed(recipients: list[str], content: bytes) -> None:
        nonlocal meter
        received.append(time.time())
        if meter is None and meter_pids:
            meter = CpuMeter(dict(meter_pids)).start()
            step("sending: the first e-mail arrived")
        keep(recipients, b"")  # the count, not the bytes

    sink._received = timed  # type: ignore[method-assign]
    sink.start()
    smtp = {"MOTCUA_SMTP_HOST": "127.0.0.1", "MOTCUA_SMTP_PORT": str(sink.port), "MOTCUA_SMTP_STARTTLS": "false"}
    api = stack.service("notifications", MOTCUA_NOTIFY_ROLE="api", **smtp).start()
    senders = []
    try:
        stub = administrator_stub(stack.identity.addr, api.addr)
        template_id = result_email_template(stub, "gui_thu")
        step(f"sending: queueing {emails:,} e-mail notifications (API process only, nothing sent)")
        per_caller = -(-emails // callers)

        def caller(n: int) -> None:
            for i in range(per_caller):
                stub.SendNotification(pb.SendNotificationRequest(template_id=template_id,
                                                                 address=f"nguoi.nhan.{n}.{i}@example.vn",
                                                                 parameters={"ma": f"H56-{n}-{i}"}))

        on_threads(caller, callers)
        queued = per_caller * callers
        meter_pids.update({"postgres": stack.postgres.pid, "smtp sink": os.getpid()})
        step(f"sending: {SENDER_PROCESSES} sender process(es) handing {queued:,} e-mails to the SMTP server")
        for n in range(SENDER_PROCESSES):
            process = stack.service("notifications", MOTCUA_NOTIFY_ROLE="sender", MOTCUA_NOTIFY_POLL_INTERVAL="0.05",
                                    **smtp)
            senders.append(process.start(wait=False))
            meter_pids[f"sender {n + 1}" if SENDER_PROCESSES > 1 else "sender"] = process.pid
        wait_until = time.time() + 600
        while len(received) < queued and time.time() < wait_until:
            time.sleep(0.1)
        cpu = meter.stop() if meter is not None else {}
        seconds = max(received) - min(received) if len(received) > 1 else 0.0
        between = max(len(received) - 1, 1)
        return {
            "queued": queued,
            "emails": len(received),
            "sender_processes": SENDER_PROCESSES,
            "emails_per_s": round(between / seconds, 1) if seconds else None,
            "cpu_ms_per_email": {name: round(1000 * s / between, 2)
                                 for name, s in (meter.cpu_seconds.items() if meter is not None else ())},
            "cpu_percent": cpu,
            "target": EMAILS_TARGET,
        }
    finally:
        for process in senders:
            process.terminate()
        api.terminate()
        sink.stop()


def print_sending(r: dict) -> None:
    print(f"\ne-mail sending ({r['sender_processes']} sender process(es), {r['queued']:,} queued beforehand)")
    value = r["emails_per_s"]
    below = "" if value is not None and value >= EMAILS_TARGET else "  MISSES TARGET"
    shown = "n/a" if value is None else f"{value:,.0f}"
    print(f"  {'e-mails delivered to SMTP':30}{shown:>10} /s  target >= {EMAILS_TARGET:,}{below}")
    print(f"  {r['emails']:,} of {r['queued']:,} received; CPU per e-mail: "
          + ", ".join(f"{name} {ms:.2f} ms" for name, ms in r["cpu_ms_per_email"].items()))
