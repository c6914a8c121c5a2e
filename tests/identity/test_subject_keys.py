"""Identity on per-account keys: each account's personal fields are sealed under a data key of
its own (kernel.subject_keys), and the events the former store-wide key encrypted are still
read, by the service and by an auditor, with that key (kernel.legacy_cipher)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import get_topic

from motcua.devstack import free_port
from motcua.identity.application import IdentityApplication
from motcua.identity.config import IdentityConfig
from motcua.identity.domain import Profile
from motcua.identity.storekeys import Lookup
from motcua.identity.v1 import account_pb2, identity_service_pb2 as pb
from motcua.kernel.keyfiles import write_new_key
from motcua.kernel.subject_keys import KeyEncryptionKeys
from tests.support.identity import identity_service_stub, province_registrar_token, unique_personal_id, unique_phone


def _write_as_before(stack, database: str, folder: Path, profile: Profile) -> str:
    """An account written as identity wrote accounts before per-account keys: every event
    encrypted whole under the store-wide key, nothing sealed. Returns its id."""
    key = (folder / "secrets" / "event-store.key").read_text().strip()
    settings = stack.settings("identity", POSTGRES_DBNAME=database, CIPHER_TOPIC=get_topic(AESCipher), CIPHER_KEY=key)
    config = IdentityConfig.from_env({"MOTCUA_IDENTITY_DIR": str(folder)})
    app = IdentityApplication(settings, Lookup(base64.b64decode((folder / "secrets" / "lookup.key").read_text())),
                              KeyEncryptionKeys.from_directory(config.subject_keks_dir, generate=True))
    try:
        app.mapper.personal = None  # the former writer: no sealing
        return str(app.open_account(profile).account_id)
    finally:
        app.close()


def _audit(stack, database: str, account_id: str, **env: str) -> list[dict]:
    environ = {**os.environ, "POSTGRES_HOST": stack.postgres.host, "POSTGRES_PORT": str(stack.profile.pg_port),
               "POSTGRES_USER": stack.postgres.user, "POSTGRES_PASSWORD": stack.postgres.password,
               "POSTGRES_DBNAME": database, **env}
    audit = [os.path.join(os.path.dirname(sys.executable), "motcua-audit"), "history", "identity", account_id, "--json"]
    done = subprocess.run(audit, env=environ, capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_accounts_written_under_the_store_wide_key_are_read_beside_accounts_sealed_per_person(stack, tmp_path):
    database = "motcua_identity_legacy"
    stack.postgres.create_database(database)
    folder = tmp_path / "identity"
    write_new_key(folder / "secrets" / "event-store.key", 32)
    write_new_key(folder / "secrets" / "lookup.key", 32)
    old_number, new_number, new_phone = unique_personal_id(), unique_personal_id(), unique_phone()
    old_id = _write_as_before(stack, database, folder, Profile(kind="citizen", display_name="Lê Thị Ngọc Ánh",
                                                               personal_id_number=old_number))

    # The service as it is now, on the same database and key files (the stack's token keys,
    # so that the stack's tokens hold).
    identity = stack.service("identity", POSTGRES_DBNAME=database, MOTCUA_IDENTITY_DIR=str(folder),
                             MOTCUA_IDENTITY_KEYS_DIR=str(stack.profile.root / "identity" / "keys"),
                             MOTCUA_HTTP_ADDR=f"127.0.0.1:{free_port()}").start()
    try:
        registrar = identity_service_stub(identity.addr, province_registrar_token())
        old = registrar.GetAccount(pb.GetAccountRequest(account_id=old_id)).account
        assert (old.display_name, old.personal_id_number) == ("Lê Thị Ngọc Ánh", old_number)
        new = registrar.CreateAccount(pb.CreateAccountRequest(
            kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name="Trịnh Văn Đức", personal_id_number=new_number,
            phone=new_phone, password="một mật khẩu dài")).account
        assert registrar.GetAccount(pb.GetAccountRequest(account_id=new.account_id)).account.display_name == \
            "Trịnh Văn Đức"
    finally:
        identity.terminate()

    with psycopg.connect(stack.postgres.dsn(database)) as conn:
        rows = {str(r[0]): bytes(r[1]) for r in conn.execute(
            "SELECT originator_id, state FROM identity_events WHERE topic LIKE '%Account.Created'").fetchall()}
        keys = conn.execute("SELECT subject_id FROM identity_subject_keys").fetchall()
    # The old event stays as written (its bytes are in the audit chain)…
    assert not rows[old_id].startswith(b"{")
    # …the new one is readable JSON whose personal fields are sealed, not in the clear.
    created = json.loads(rows[new.account_id])
    assert "_sealed" in created and "display_name" not in created and created["kind"] == "citizen"
    for secret in (new_number, new_phone, "Trịnh Văn Đức", json.dumps("Trịnh Văn Đức")[1:-1]):
        assert secret.encode() not in rows[new.account_id]
    assert (f"account:{new.account_id}",) in [tuple(k) for k in keys]

    # An auditor reads both: the old one with the former key, the new one sealed without it.
    key = (folder / "secrets" / "event-store.key").read_text().strip()
    assert _audit(stack, database, old_id, CIPHER_KEY=key)[0]["data"]["display_name"] == "Lê Thị Ngọc Ánh"
    for env in ({"CIPHER_KEY": key}, {}):
        history = _audit(stack, database, new.account_id, **env)
        assert [e["type"] for e in history] == ["Account.Created"]
        assert "Trịnh Văn Đức" not in json.dumps(history, ensure_ascii=False)
