"""motcua-audit, run as a real process against the session's PostgreSQL, reads what a real
procedures service recorded: history, state as of a version or a time, the notification log;
errors are messages with exit codes, never tracebacks, and it never writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from motcua.audit.reader import APPLICATION_NAMES, EventLog
from motcua.devstack import SERVICES
from motcua.procedures.v1 import procedure_service_pb2 as pb
from tests.support.auth import AGENCY, default_caller
from tests.support.clients import procedures_stub
from tests.support.procedures import create_request

ORIGINAL_NAME = "Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp"
NEW_NAME = "Cấp lại Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở"


def audit_env(stack, **overrides: str) -> dict[str, str]:
    """The environment a service of the test profile gets, for the auditor."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTGRES_")}
    env |= {
        "POSTGRES_HOST": stack.postgres.host,
        "POSTGRES_PORT": str(stack.postgres.port),
        "POSTGRES_USER": stack.postgres.user,
        "POSTGRES_PASSWORD": stack.postgres.password,
        **overrides,
    }
    return env


def audit(
    stack, *args: str, env: dict[str, str] | None = None, command: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs the CLI; stdout and stderr decoded as UTF-8 (what it promises to write)."""
    result = subprocess.run(
        [*(command or [sys.executable, "-m", "motcua.audit"]), *args],
        env=env if env is not None else audit_env(stack),
        capture_output=True,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    )


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def failed(result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def procedures(stack):
    service = stack.service("procedures").start()
    yield procedures_stub(service.addr)
    assert service.terminate() == 0


@pytest.fixture(scope="module")
def story(procedures):
    """A procedure created, renamed, then published; and a moment between rename and publish."""
    created = procedures.CreateProcedure(create_request(name=ORIGINAL_NAME)).procedure
    renamed = procedures.RenameProcedure(
        pb.RenameProcedureRequest(procedure_id=created.procedure_id, name=NEW_NAME, expected_version=created.version)
    ).procedure
    between = datetime.now(UTC)  # same host clock as the service's event timestamps
    procedures.PublishProcedure(
        pb.PublishProcedureRequest(procedure_id=created.procedure_id, expected_version=renamed.version)
    )
    return {"id": created.procedure_id, "code": created.code, "between": between}


def test_history_lists_every_event_with_who_when_and_what(stack, story):
    events = json.loads(ok(audit(stack, "history", "procedures", story["id"], "--json")))

    assert [e["version"] for e in events] == [1, 2, 3]
    assert [e["type"] for e in events] == ["Procedure.Created", "Procedure.Renamed", "Procedure.Published"]
    assert events[0]["data"]["code"] == story["code"]
    assert events[0]["data"]["content"]["name"] == ORIGINAL_NAME
    assert events[0]["data"]["content"]["agency_id"] == AGENCY
    assert events[0]["data"]["content"]["processing_time"] == {"value": 3, "unit": "working_days"}
    assert events[1]["data"] == {"name": NEW_NAME}
    assert events[2]["data"]["content"]["name"] == NEW_NAME
    assert (events[2]["data"]["number"], events[2]["data"]["superseded"]) == (1, 0)
    assert {e["actor"] for e in events} == {default_caller().account_id}  # from the bearer token
    assert {e["agency_id"] for e in events} == {AGENCY}
    moments = [datetime.fromisoformat(e["when"]) for e in events]
    assert all(m.utcoffset().total_seconds() == 0 for m in moments)
    assert moments == sorted(moments)
    assert moments[1] <= story["between"] < moments[2]
    assert all(e["traceparent"].startswith("00-") for e in events)


def test_history_table_prints_vietnamese_as_is(stack, story):
    result = audit(stack, "history", "procedures", story["id"])
    table = ok(result)

    lines = table.splitlines()
    assert lines[0].split() == ["VERSION", "WHEN", "WHO", "WHAT", "DATA"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    assert "Procedure.Renamed" in lines[2] and f"{default_caller().account_id} ({AGENCY})" in lines[2]
    assert f'"name": "{ORIGINAL_NAME}"' in lines[1]
    assert f'name="{NEW_NAME}"' in lines[2]
    assert "\\u" not in table  # not escaped


def test_state_as_of_version_1_is_the_draft_as_created(stack, story):
    state = json.loads(ok(audit(stack, "state", "procedures", story["id"], "--version", "1")))

    assert state["id"] == story["id"]
    assert state["type"] == "Procedure"
    assert state["version"] == 1
    (version,) = state["attributes"]["versions"]
    assert state["attributes"]["code"] == story["code"]
    assert (version["number"], version["state"], version["effective_from"]) == (1, "draft", None)
    assert version["content"]["name"] == ORIGINAL_NAME


def test_state_at_a_time_between_rename_and_publish_is_the_renamed_draft(stack, story):
    at = story["between"].isoformat()
    state = json.loads(ok(audit(stack, "state", "procedures", story["id"], "--at", at)))

    assert state["version"] == 2
    (version,) = state["attributes"]["versions"]
    assert (version["content"]["name"], version["state"]) == (NEW_NAME, "draft")


def test_current_state_is_published(stack, story):
    state = json.loads(ok(audit(stack, "state", "procedures", story["id"])))

    assert state["version"] == 3
    (version,) = state["attributes"]["versions"]
    assert (version["content"]["name"], version["state"]) == (NEW_NAME, "published")
    assert version["effective_from"] is not None


def test_state_before_the_first_event_is_an_error(stack, story):
    error = failed(audit(stack, "state", "procedures", story["id"], "--at", "2000-01-01T00:00:00Z"), 1)
    assert "did not exist yet" in error and story["id"] in error


def test_state_beyond_the_last_version_is_an_error(stack, story):
    error = failed(audit(stack, "state", "procedures", story["id"], "--version", "4"), 1)
    assert "has 3 version(s)" in error


def test_log_walks_every_event_in_order(stack, story):
    walked, after = [], 0
    while page := json.loads(ok(audit(stack, "log", "procedures", "--after", str(after), "--limit", "500", "--json"))):
        walked += page
        after = page[-1]["position"]

    positions = [e["position"] for e in walked]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    ours = [e for e in walked if e["aggregate_id"] == story["id"]]
    assert [(e["version"], e["type"]) for e in ours] == [
        (1, "Procedure.Created"), (2, "Procedure.Renamed"), (3, "Procedure.Published"),
    ]
    assert {e["actor"] for e in ours} == {default_caller().account_id}
    # Its code's index was recorded in the same transaction as the creation.
    assert any(e["type"] == "ProcedureCode.Registered" and e["data"]["code"] == story["code"] for e in walked)

    # One page at a time, as a table: exactly the next event, and where to continue.
    result = audit(stack, "log", "procedures", "--after", str(ours[0]["position"]), "--limit", "1")
    (header, row) = ok(result).splitlines()
    assert header.split() == ["POSITION", "AGGREGATE", "VERSION", "WHAT", "WHO", "WHEN"]
    next_position = next(p for p in positions if p > ours[0]["position"])
    assert row.split()[0] == str(next_position)
    assert f"--after {next_position}" in result.stderr


def test_unknown_aggregate_is_an_error(stack, story):
    unknown = str(uuid.uuid4())
    for command in (["history", "procedures", unknown], ["state", "procedures", unknown]):
        error = failed(audit(stack, *command), 1)
        assert f"no events of aggregate {unknown}" in error


@pytest.mark.parametrize(
    "args",
    [
        ["history", "procedures", "not-a-uuid"],
        ["state", "procedures", "12345"],
        ["state", "procedures", str(uuid.uuid4()), "--at", "yesterday"],
        ["state", "procedures", str(uuid.uuid4()), "--version", "0"],
        ["log", "payments"],
    ],
)
def test_a_bad_command_line_exits_2(stack, args):
    error = failed(audit(stack, *args), 2)
    assert error.startswith("usage: motcua-audit")
    assert "error: argument" in error


def test_database_without_the_event_log_is_an_error_and_stays_untouched(stack, story):
    empty = f"motcua_audit_empty_{uuid.uuid4().hex[:8]}"
    stack.postgres.create_database(empty)
    try:
        error = failed(
            audit(stack, "history", "procedures", story["id"], env=audit_env(stack, POSTGRES_DBNAME=empty)), 1
        )
        assert "no event log for service procedures" in error
        with psycopg.connect(stack.postgres.dsn(empty)) as conn:
            created = conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public'"
                " UNION ALL SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
                " WHERE n.nspname = 'public'"
            ).fetchall()
        assert created == []
    finally:
        with psycopg.connect(stack.postgres.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(empty)))


def test_unreachable_server_is_an_error(stack):
    from motcua.devstack import free_port

    error = failed(audit(stack, "log", "procedures", env=audit_env(stack, POSTGRES_PORT=str(free_port()))), 1)
    assert "cannot read database motcua_procedures" in error


def test_profile_shortcut_and_console_script(stack, story):
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTGRES_")}
    script = Path(sys.executable).parent / "motcua-audit"
    for profile_args in (["--profile", "test", "history"], ["history", "--profile", "test"]):
        events = json.loads(ok(audit(stack, *profile_args, "procedures", story["id"], "--json", env=env,
                                     command=[str(script)])))
        assert [e["version"] for e in events] == [1, 2, 3]


def test_the_reader_cannot_write(stack, story):
    env = {
        "POSTGRES_HOST": stack.postgres.host, "POSTGRES_PORT": str(stack.postgres.port),
        "POSTGRES_DBNAME": "motcua_procedures", "POSTGRES_USER": stack.postgres.user,
        "POSTGRES_PASSWORD": stack.postgres.password,
    }
    with EventLog("procedures", env) as events:
        with events.datastore.cursor() as cursor:
            cursor.execute("SHOW transaction_read_only")
            assert cursor.fetchone()["transaction_read_only"] == "on"
        with pytest.raises(Exception, match="read-only transaction"):
            events.recorder.create_table()
        assert events.current_version(uuid.UUID(story["id"])) == 3


def test_one_application_name_per_service_as_the_applications_call_themselves():
    from motcua.dossiers.application.dossiers_application import DossiersApplication
    from motcua.identity.bootstrap import IdentityApplication
    from motcua.notifications.application import NotificationsApplication
    from motcua.procedures.application import ProceduresApplication
    from motcua.signing.application import SigningApplication

    assert set(APPLICATION_NAMES) == set(SERVICES)
    applications = {
        "identity": IdentityApplication, "procedures": ProceduresApplication, "dossiers": DossiersApplication,
        "signing": SigningApplication, "notifications": NotificationsApplication,
    }
    assert APPLICATION_NAMES == {service: app.name for service, app in applications.items()}
