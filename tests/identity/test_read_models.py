"""The account and agency lists are derived from the log: dropped, they come back identical."""

from __future__ import annotations

import psycopg

from motcua.devstack import free_port, identity_env
from motcua.identity.v1 import account_pb2, identity_service_pb2 as pb
from tests.support.identity import unique_tax_code

TABLES = ("identity_accounts", "identity_agencies", "identity_sign_ins")


def rows(stack) -> dict[str, list[tuple]]:
    with psycopg.connect(stack.dsn("identity")) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in TABLES}


def test_a_new_identity_process_rebuilds_emptied_lists_from_the_log(stack, agency_tree, registrar):
    registrar.CreateAccount(pb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_BUSINESS, display_name="Hợp tác xã Nga Sơn", tax_code=unique_tax_code()))
    before = rows(stack)
    assert before["identity_agencies"] and before["identity_accounts"]
    with psycopg.connect(stack.dsn("identity")) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
    assert rows(stack) == {table: [] for table in TABLES}

    # Another replica of the session's identity (same database and keys) starts and finds them
    # empty.
    replica = stack.service("identity", **identity_env(stack.profile, free_port())).start()
    try:
        assert rows(stack) == before
    finally:
        assert replica.terminate() == 0
