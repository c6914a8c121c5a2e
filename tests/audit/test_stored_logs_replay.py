"""Event logs written by earlier code (tests/fixtures/event-logs/) still read: each service's
log loaded into a fresh database decodes event by event with the service's mapper, every
aggregate rebuilds from it, the service's read models rebuild from it (the dossier register
rows say what the log says), and ``motcua-audit`` shows it without a single undecoded event.

Stored events name their classes by module path; this is what keeps code that moves a class
from orphaning the events already stored under its old path."""

from __future__ import annotations

import base64
import importlib
import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import Environment

from motcua.audit.reader import EventLog, _transcoder
from motcua.kernel.eventstore import EventMapper
from motcua.kernel.readmodel import ReadModelApplication
from tests.fixtures import SERVICES

from .test_audit_cli import audit, audit_env

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "event-logs"
IDENTITY_KEY = (LOGS / "identity.event-store.key").read_text().strip()
DOSSIERS = json.loads((LOGS / "dossiers.json").read_text(encoding="utf-8"))


def fixture_rows(service: str) -> list[dict[str, Any]]:
    lines = (LOGS / f"{service}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def stored_state(row: dict[str, Any]) -> bytes:
    return row["state"].encode("utf-8") if "state" in row else base64.b64decode(row["state_base64"])


def cipher_key(service: str) -> str:
    return IDENTITY_KEY if service == "identity" else ""


def read_model_recorder(service: str) -> type | None:
    """The service's read-model recorder class, found through its bootstrap (whatever its
    application class is called)."""
    bootstrap = importlib.import_module(f"motcua.{service}.bootstrap")
    applications = {v for v in vars(bootstrap).values()
                    if isinstance(v, type) and issubclass(v, ReadModelApplication) and v is not ReadModelApplication}
    return applications.pop().recorder_class if applications else None


class LoadedLog:
    """A service's fixture log in a database of its own, with the service's tables."""

    def __init__(self, stack, service: str, rows: list[dict[str, Any]]) -> None:
        self.stack = stack
        self.service = service
        self.rows = rows
        self.dbname = f"replay_{service}_{uuid.uuid4().hex[:8]}"
        stack.postgres.create_database(self.dbname)
        self.datastore = PostgresDatastore(
            dbname=self.dbname, host=stack.postgres.host, port=str(stack.postgres.port),
            user=stack.postgres.user, password=stack.postgres.password, pool_size=2, max_overflow=0,
        )
        cipher = AESCipher(Environment(env={"CIPHER_KEY": cipher_key(service)})) if cipher_key(service) else None
        self.mapper = EventMapper(transcoder=_transcoder(), cipher=cipher)
        recorder_class = read_model_recorder(service)
        self.recorder = None
        if recorder_class is not None:
            self.recorder = recorder_class(self.datastore, events_table_name=f"{service}_events")
            self.recorder.create_table()
            self.recorder.bind(self.mapper)
        else:
            from eventsourcing.postgres import PostgresApplicationRecorder

            PostgresApplicationRecorder(self.datastore, events_table_name=f"{service}_events").create_table()
        with psycopg.connect(stack.postgres.dsn(self.dbname)) as conn:
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {service}_events (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)",
                    [
                        (row["originator_id"], row["originator_version"], row["topic"], stored_state(row))
                        for row in rows
                    ],
                )

    def stored_events(self) -> list[StoredEvent]:
        return [StoredEvent(originator_id=uuid.UUID(row["originator_id"]), originator_version=row["originator_version"],
                            topic=row["topic"], state=stored_state(row)) for row in self.rows]

    def event_log(self) -> EventLog:
        env = {"POSTGRES_HOST": self.stack.postgres.host, "POSTGRES_PORT": str(self.stack.postgres.port),
               "POSTGRES_USER": self.stack.postgres.user, "POSTGRES_PASSWORD": self.stack.postgres.password,
               "POSTGRES_DBNAME": self.dbname}
        if cipher_key(self.service):
            env["CIPHER_KEY"] = cipher_key(self.service)
        return EventLog(self.service, env)

    def close(self) -> None:
        self.datastore.close()


# Before dossier.py, processing.py, closing.py and attachment_rules.py, the dossier aggregate
# and its events lived in domain.py: the same log, as that code stored it.
OLDER_DOSSIER_MODULES = ("motcua.dossiers.dossier", "motcua.dossiers.processing", "motcua.dossiers.closing",
                         "motcua.dossiers.attachment_rules")


def as_domain_module_stored_them(row: dict[str, Any]) -> dict[str, Any]:
    module, _, qualname = row["topic"].partition(":")
    if module not in OLDER_DOSSIER_MODULES:
        return row
    state = row["state"].replace('"originator_topic":"motcua.dossiers.dossier:Dossier"',
                                 '"originator_topic":"motcua.dossiers.domain:Dossier"')
    return {**row, "topic": f"motcua.dossiers.domain:Dossier.{qualname.rpartition('.')[2]}", "state": state}


LOGS_TO_REPLAY = {service: (service, fixture_rows(service)) for service in SERVICES}
LOGS_TO_REPLAY["dossiers, older topics"] = (
    "dossiers",
    [as_domain_module_stored_them(r) for r in fixture_rows("dossiers")],
)


@pytest.fixture(params=list(LOGS_TO_REPLAY))
def loaded(request, stack):
    log = LoadedLog(stack, *LOGS_TO_REPLAY[request.param])
    yield log
    log.close()


def test_every_stored_event_decodes_with_the_services_mapper(loaded):
    assert loaded.rows, f"the {loaded.service} fixture log is empty"
    for stored in loaded.stored_events():
        event = loaded.mapper.to_domain_event(stored)
        assert (event.originator_id, event.originator_version) == (stored.originator_id, stored.originator_version)


def test_every_aggregate_rebuilds_from_the_log(loaded):
    last_versions: dict[uuid.UUID, int] = {}
    for row in loaded.rows:
        last_versions[uuid.UUID(row["originator_id"])] = row["originator_version"]
    with loaded.event_log() as log:
        for aggregate_id, version in last_versions.items():
            aggregate = log.aggregate(aggregate_id)
            assert (aggregate.id, aggregate.version) == (aggregate_id, version)
        if loaded.service == "dossiers":
            for label, expected in DOSSIERS.items():
                dossier = log.aggregate(uuid.UUID(expected["dossier_id"]))
                assert (dossier.state, dossier.code or "") == (expected["state"], expected["code"]), label


def test_the_read_models_rebuild_from_the_log(loaded):
    if loaded.recorder is None:
        return  # the service keeps no read model: nothing to rebuild
    applied = loaded.recorder.rebuild()
    assert applied > 0
    if loaded.service == "dossiers":
        with psycopg.connect(loaded.stack.postgres.dsn(loaded.dbname)) as conn:
            for label, expected in DOSSIERS.items():
                row = conn.execute("SELECT state, code FROM dossiers_register WHERE dossier_id = %s",
                                   (expected["dossier_id"],)).fetchone()
                assert row == (expected["state"], expected["code"]), label


def test_the_audit_tool_decodes_every_event(loaded):
    env = audit_env(loaded.stack, POSTGRES_DBNAME=loaded.dbname)
    if cipher_key(loaded.service):
        env["CIPHER_KEY"] = cipher_key(loaded.service)
    result = audit(loaded.stack, "log", loaded.service, "--json", "--limit", str(len(loaded.rows) + 10), env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert len(shown) == len(loaded.rows)
    undecoded = [(e.get("type"), e["problem"]) for e in shown if e.get("problem")]
    assert undecoded == []


def test_the_dossier_register_rows_of_the_fixture_name_every_end_state():
    """The fixture covers the states the replay checks (guards against a regenerated, thinner
    log)."""
    states = {expected["state"] for expected in DOSSIERS.values()}
    assert {"returned", "refused", "withdrawn", "in_process", "submitted", "draft", "received"} <= states
