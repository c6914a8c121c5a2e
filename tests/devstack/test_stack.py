"""The local stack really runs: PostgreSQL speaks UTF-8 Vietnamese, Kafka keeps data across a
restart,
ServiceProcess sees gRPC health. Uses the `test` profile (.local/test, ports 25432 / 29092)."""

from __future__ import annotations

import textwrap
import time
import uuid

import psycopg
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaTimeoutError

from motcua.devstack import SERVICES, Kafka, Postgres, ServiceProcess, free_port, service_env
from motcua.devstack._proc import port_open
from tests.conftest import PROFILE as TEST_PROFILE

PROFILE = TEST_PROFILE  # the session's (MOTCUA_TEST_SLOT aware)
NAME = "Nguyễn Thị Hằng"


def _started(component):
    """Start for this module; stop afterwards only if it was not running before (a session fixture
    may own it)."""
    was_running = component.is_running()
    component.start()
    yield component
    if not was_running:
        component.stop()


@pytest.fixture(scope="module")
def pg():
    yield from _started(Postgres(PROFILE))


@pytest.fixture(scope="module")
def kafka():
    yield from _started(Kafka(PROFILE))


# --- PostgreSQL ---------------------------------------------------------------------------------


def test_postgres_creates_one_database_per_service(pg):
    with psycopg.connect(pg.dsn()) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'max_connections', 'server_encoding')"
        ).fetchall())
        ctype = conn.execute("SELECT datctype FROM pg_database WHERE datname = 'motcua_identity'").fetchone()[0]
    assert {f"motcua_{s}" for s in SERVICES} <= names
    assert settings == {"fsync": "off", "max_connections": "200", "server_encoding": "UTF8"}
    assert ctype == "C.UTF-8"


def test_postgres_round_trips_vietnamese_text(pg):
    table = f"probe_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.dsn("motcua_identity")) as conn:
        conn.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute(f"INSERT INTO {table} (name) VALUES (%s)", (NAME,))
        conn.commit()
    with psycopg.connect(pg.dsn("motcua_identity")) as conn:  # a new connection reads committed data
        name, chars, octets, lower = conn.execute(
            f"SELECT name, char_length(name), octet_length(name), lower(upper(name)) FROM {table}"
        ).fetchone()
        conn.execute(f"DROP TABLE {table}")
    assert name == NAME
    assert (chars, octets) == (15, len(NAME.encode()))  # stored as UTF-8 characters, not mangled bytes
    assert lower == NAME.lower()  # the locale case-maps Vietnamese letters


def test_postgres_start_again_is_a_noop(pg):
    pid = pg.pid
    starts = pg.log_path.read_text().count("starting PostgreSQL")
    pg.start()
    assert pg.pid == pid
    assert pg.log_path.read_text().count("starting PostgreSQL") == starts  # no server was started


# --- Kafka --------------------------------------------------------------------------------------


def _read_all(bootstrap: str, topic: str, expected: int, timeout: float = 30) -> list[bytes]:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"probe-{uuid.uuid4().hex}",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values += [r.value for r in records]
    finally:
        consumer.close()
    return values


def test_kafka_round_trip_survives_a_restart(kafka):
    topic = f"devstack.probe.{uuid.uuid4().hex[:8]}"
    payload = NAME.encode()
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True)
        assert topic in admin.list_topics()
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    producer.send(topic, payload).get(timeout=30)
    producer.close()
    assert _read_all(kafka.bootstrap, topic, 1) == [payload]

    old_pid = kafka.pid
    kafka.stop()
    assert not kafka.is_running()
    assert not port_open(PROFILE.kafka_port)  # really down, not just forgotten

    kafka.start()
    assert kafka.pid != old_pid
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        assert topic in admin.list_topics()
    finally:
        admin.close()
    assert _read_all(kafka.bootstrap, topic, 1) == [payload]


def test_kafka_does_not_auto_create_topics(kafka):
    topic = f"typo.{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, max_block_ms=2000)
    try:
        with pytest.raises(KafkaTimeoutError):  # metadata for an unknown topic never arrives
            producer.send(topic, b"x").get(timeout=5)
    finally:
        producer.close(timeout=1)
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        assert topic not in admin.list_topics()  # asking for it did not create it
    finally:
        admin.close()


# --- ServiceProcess -----------------------------------------------------------------------------

# A stand-in for a real service: reports SERVING once it has read its configuration.
FAKE_SERVICE = """
import os, signal, sys
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
if os.environ.get("FAKE_FAIL"):
    print("cannot start: FAKE_FAIL is set", flush=True)
    sys.exit(3)
if os.environ.get("FAKE_HANG"):
    import time; print("hanging before serving", flush=True); time.sleep(120)
server = grpc.server(futures.ThreadPoolExecutor(2))
h = health.HealthServicer()
h.set("", health_pb2.HealthCheckResponse.SERVING)
health_pb2_grpc.add_HealthServicer_to_server(h, server)
server.add_insecure_port(os.environ["MOTCUA_GRPC_ADDR"])
server.start()
print("serving", os.environ["POSTGRES_DBNAME"], flush=True)
signal.signal(signal.SIGTERM, lambda *_: (server.stop(0), sys.exit(0)))
server.wait_for_termination()
"""


@pytest.fixture
def fake_service(tmp_path, monkeypatch):
    pkg = tmp_path / "motcua" / "devstackfake"  # motcua is a namespace package: this adds a portion
    pkg.mkdir(parents=True)
    (pkg / "__main__.py").write_text(textwrap.dedent(FAKE_SERVICE))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return "devstackfake"


def test_service_process_waits_for_health_and_terminates(fake_service, tmp_path):
    env = service_env(PROFILE, fake_service, free_port())
    assert env["POSTGRES_DBNAME"] == "motcua_devstackfake"
    svc = ServiceProcess(fake_service, env, tmp_path / "svc.log").start(timeout=30)
    assert svc.alive
    assert port_open(int(env["MOTCUA_GRPC_ADDR"].rsplit(":", 1)[1]))
    assert svc.terminate() == 0  # its SIGTERM handler exits cleanly
    assert not svc.alive
    assert "serving motcua_devstackfake" in (tmp_path / "svc.log").read_text()


def test_a_running_service_process_refuses_a_second_start(fake_service, tmp_path):
    env = service_env(PROFILE, fake_service, free_port())
    svc = ServiceProcess(fake_service, env, tmp_path / "svc.log").start(timeout=30)
    try:
        first = svc.pid
        with pytest.raises(RuntimeError, match="devstackfake is already running"):
            svc.start(timeout=30)
        assert svc.pid == first and svc.alive  # still the one process, and still stoppable
    finally:
        assert svc.terminate() == 0
    assert svc.start(timeout=30).pid != first  # once stopped, it starts again
    assert svc.terminate() == 0


def test_service_process_reports_a_service_that_dies(fake_service, tmp_path):
    env = service_env(PROFILE, fake_service, free_port(), extra={"FAKE_FAIL": "1"})
    svc = ServiceProcess(fake_service, env, tmp_path / "svc.log")
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 3.*cannot start"):
        svc.start(timeout=30)
    assert not svc.alive


def test_service_process_times_out_with_the_log(fake_service, tmp_path):
    env = service_env(PROFILE, fake_service, free_port(), extra={"FAKE_HANG": "1"})
    svc = ServiceProcess(fake_service, env, tmp_path / "svc.log")
    with pytest.raises(TimeoutError, match=r"(?s)not SERVING.*hanging before serving"):
        svc.start(timeout=3)
    assert not svc.alive  # killed, not left behind


# --- sample data ---------------------------------------------------------------------------------


def test_seeds_load_the_sample_data_once_across_restarts(stack, tmp_path):
    from motcua.devstack.seed import run_seeds
    from motcua.identity.v1 import identity_service_pb2 as identity_pb
    from motcua.procedures.v1 import calendar_service_pb2 as calendar_pb, procedure_pb2, procedure_service_pb2 as pb
    from tests.support.calendar_clients import calendars_stub
    from tests.support.clients import procedures_stub
    from tests.support.identity import identity_service_stub

    with stack.service("procedures") as procedures:
        log = tmp_path / "seed.log"
        running = {"identity": stack.identity.addr, "procedures": procedures.addr}
        assert run_seeds({**running, "elsewhere": "127.0.0.1:9"}, log) == {}
        assert run_seeds(running, log) == {}  # as at the next `motcua-stack up`
        # No identity, no token.
        assert set(run_seeds({"procedures": procedures.addr}, log)) == {"calendar", "procedures"}
        stub = procedures_stub(procedures.addr)
        found = stub.ListProcedures(
            pb.ListProceduresRequest(query="dang ky khai sinh", state=procedure_pb2.PROCEDURE_STATE_PUBLISHED)
        )
        births = [p for p in found.procedures if p.code == "1.001193.000.00.00.H56"]
        (calendar,) = calendars_stub(procedures.addr).ListCalendars(
            calendar_pb.ListCalendarsRequest(year=2026, province_wide=True)).calendars
    agencies = identity_service_stub(stack.identity.addr).ListAgencies(identity_pb.ListAgenciesRequest(page_size=100))
    text = log.read_text(encoding="utf-8")
    assert "12 records: 12 created" in text
    assert "12 records: 12 unchanged" in text
    assert [(p.name, p.version_number) for p in births] == [("Đăng ký khai sinh", 1)]
    assert (calendar.published_version, calendar.reception_cutoff) == (1, "15:00")
    assert {d.date: d.name for d in calendar.holidays}["2026-02-17"] == "Tết Nguyên đán"
    assert any(a.name == "Trung tâm Phục vụ hành chính công tỉnh" for a in agencies.agencies), agencies
