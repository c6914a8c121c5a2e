"""Personal identifiers are encrypted at rest: the raw rows of identity's event store and
read models never hold a name, personal id number, tax code, phone or e-mail in the clear
(each account's are sealed under a key of its own: test_subject_keys.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg

from motcua.identity.v1 import account_pb2, identity_service_pb2 as pb
from tests.support.identity import unique_login, unique_personal_id, unique_phone, unique_tax_code


def test_identifiers_and_contacts_never_reach_postgresql_in_the_clear(stack, registrar):
    number, phone, email = unique_personal_id(), unique_phone(), f"{unique_login('mail')}@example.vn"
    citizen = registrar.CreateAccount(pb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name="Phan Thị Thu Trang", personal_id_number=number,
        phone=phone, email=email, login=unique_login("trang"), password="một mật khẩu dài")).account
    tax_code = unique_tax_code()
    business = registrar.CreateAccount(pb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_BUSINESS, display_name="Công ty Cổ phần Sầm Sơn", tax_code=tax_code)).account
    secrets = [s.encode() for s in (number, phone, email, tax_code, "một mật khẩu dài", "Phan Thị Thu Trang",
                                    json.dumps("Phan Thị Thu Trang")[1:-1])]

    with psycopg.connect(stack.dsn("identity")) as conn:
        rows = conn.execute("SELECT originator_id, topic, state FROM identity_events").fetchall()
        read_models = [
            repr(conn.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("identity_accounts", "identity_agencies", "identity_login_throttle")
        ]
    created = [
        r for r in rows if str(r[0]) in (citizen.account_id, business.account_id) and r[1].endswith("Account.Created")
    ]
    assert len(created) == 2  # the accounts' events are in this table…
    for _, topic, state in rows:
        for secret in secrets:
            assert secret not in bytes(state), topic  # …and none of them, nor any other row, in the clear
    assert citizen.account_id in read_models[0]
    for text in read_models:
        for secret in secrets:
            assert secret.decode() not in text



def test_an_auditor_reads_an_accounts_history_with_its_personal_fields_sealed(stack, registrar):
    account = registrar.CreateAccount(
        pb.CreateAccountRequest(
            kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name="Mai Văn Khoa", personal_id_number=unique_personal_id()
        )
    ).account
    registrar.DisableAccount(pb.DisableAccountRequest(account_id=account.account_id, reason="Đã mất"))
    env = {**os.environ, "POSTGRES_HOST": stack.postgres.host, "POSTGRES_PORT": str(stack.profile.pg_port),
           "POSTGRES_USER": stack.postgres.user, "POSTGRES_PASSWORD": stack.postgres.password}
    env.pop("POSTGRES_DBNAME", None)
    env.pop("CIPHER_KEY", None)
    audit = [os.path.join(os.path.dirname(sys.executable), "motcua-audit"), "history", "identity", account.account_id,
             "--json"]
    done = subprocess.run(audit, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert done.returncode == 0, done.stderr
    history = json.loads(done.stdout)
    assert [e["type"] for e in history] == ["Account.Created", "Account.Disabled"]
    assert history[0]["data"]["kind"] == "citizen" and "_sealed" in history[0]["data"]
    assert "Mai Văn Khoa" not in done.stdout and "display_name" not in history[0]["data"]
    assert history[1]["data"]["reason"] == "Đã mất"
