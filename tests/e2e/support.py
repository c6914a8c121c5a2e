"""Helpers for the end-to-end walk-through: unique test data, the audit CLI, reading a trace."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from tests.gateway.support import Reply
from tests.support.otlp import ReceivedSpan

VN = timezone(timedelta(hours=7))  # Vietnam keeps UTC+7 all year


def unique_procedure_code() -> str:
    return f"1.{random.randrange(10**6):06d}.000.00.00.E{random.randrange(100):02d}"


def unique_agency_id() -> str:
    """An agency id of the form 000.00.00.X00, new for each run."""
    letter = chr(ord("A") + random.randrange(26))
    return f"{random.randrange(1000):03d}.{random.randrange(100):02d}.{random.randrange(100):02d}." \
           f"{letter}{random.randrange(100):02d}"


def ok(reply: Reply) -> dict:
    """The JSON body of a 200 reply; fails with the reply otherwise."""
    assert reply.status == 200, (reply.status, reply.raw.decode("utf-8", "replace"))
    assert isinstance(reply.json, dict), reply.raw
    return reply.json


def retry_while(call: Callable[[], Reply], status: str, timeout: float = 30.0) -> Reply:
    """call() again while it fails with the gRPC status ``status`` (e.g. FAILED_PRECONDITION), for
    at most timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        reply = call()
        failed_with = (reply.json or {}).get("error", {}).get("status") if isinstance(reply.json, dict) else None
        if reply.status == 200 or failed_with != status or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


def appointed_date(dossier: dict) -> str:
    """The dossier's appointed return time as a Vietnamese date (dd/mm/yyyy, Vietnam time)."""
    moment = datetime.fromisoformat(dossier["appointed_return_time"].replace("Z", "+00:00"))
    return moment.astimezone(VN).strftime("%d/%m/%Y")


def audit_history(stack, service: str, aggregate_id: str) -> list[dict]:
    """`motcua-audit history <service> <id> --json` against the session's PostgreSQL."""
    env = {
        **os.environ,
        "POSTGRES_HOST": stack.postgres.host,
        "POSTGRES_PORT": str(stack.profile.pg_port),
        "POSTGRES_USER": stack.postgres.user,
        "POSTGRES_PASSWORD": stack.postgres.password,
    }
    env.pop("POSTGRES_DBNAME", None)
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "motcua-audit"), "history", service, aggregate_id, "--json"],
        env=env, capture_output=True, text=True, encoding="utf-8", timeout=60,
    )
    assert done.returncode == 0, done.stderr
    history = json.loads(done.stdout)
    assert isinstance(history, list), done.stdout
    return history


def describe(spans: list[ReceivedSpan]) -> str:
    return "\n".join(f"  {s.service:14} kind={s.kind} {s.name!r} id={s.span_id} parent={s.parent_span_id}"
                     for s in spans)


def has(spans: list[ReceivedSpan], service: str, name: str) -> bool:
    return any(s.service == service and s.name == name for s in spans)

