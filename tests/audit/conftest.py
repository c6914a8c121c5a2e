"""The audit tests' shared log: one procedures database, sealed to its end, that the tampering
tests copy and the bundle tests export."""

from __future__ import annotations

import psycopg
import pytest

from motcua.procedures.v1 import procedure_service_pb2 as pb
from tests.support.clients import procedures_stub
from tests.support.procedures import create_request
from tests.support.waiting import eventually

SEALED_DB = "motcua_chain_sealed"
TABLE = "procedures_events"


def create_renamed_published(stub, name: str) -> None:
    """A procedure created, renamed and published: three events of the log."""
    created = stub.CreateProcedure(create_request(name=name)).procedure
    renamed = stub.RenameProcedure(pb.RenameProcedureRequest(
        procedure_id=created.procedure_id, name=f"{name} (sửa đổi)", expected_version=created.version
    )).procedure
    stub.PublishProcedure(pb.PublishProcedureRequest(procedure_id=created.procedure_id,
                                                     expected_version=renamed.version))


def _fully_sealed(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"SELECT (SELECT max(notification_id) FROM {TABLE}), "
            "(SELECT max(notification_id) FROM motcua_chain WHERE to_regclass('motcua_chain') IS NOT NULL)"
        ).fetchone()
    return row is not None and row[0] is not None and row[0] == row[1]


@pytest.fixture(scope="session")
def sealed(stack) -> dict:
    """A procedures log of its own, sealed to its end, with a gap in its ids (a rolled-back
    transaction's); the service stopped, so the database can be copied for each tampering.
    Written once per session: the tampering and bundle tests read the same log."""
    stack.postgres.create_database(SEALED_DB)
    dsn = stack.postgres.dsn(SEALED_DB)
    service = stack.service("procedures", POSTGRES_DBNAME=SEALED_DB).start()
    stub = procedures_stub(service.addr)
    for n in range(3):
        create_renamed_published(stub, f"Đăng ký khai sinh {n}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'notification_id'))", (TABLE,)).fetchone()
        assert row is not None
        gap = row[0]
    for n in range(3, 6):
        create_renamed_published(stub, f"Cấp đổi giấy phép lái xe {n}")
    eventually(lambda: _fully_sealed(dsn), what="every event sealed")
    assert service.terminate() == 0
    with psycopg.connect(dsn) as conn:
        ids = [r[0] for r in conn.execute(f"SELECT notification_id FROM {TABLE} ORDER BY notification_id")]
    assert gap not in ids and min(ids) < gap < max(ids)
    return {"ids": ids, "gap": gap}
