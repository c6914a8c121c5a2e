"""`python -m motcua.dossiers.rewrap_keys` against a real PostgreSQL database of its own: a new
key-encryption key put in service re-wraps every data key wrapped by the old one, which still
open to the same keys afterwards under the new KEK alone."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid

import psycopg
from psycopg.rows import dict_row

from motcua.dossiers.rewrap_keys import _Connection
from motcua.kernel.subject_keys import KeyEncryptionKeys, SubjectKeyStore


def test_a_new_kek_rewraps_every_data_key(stack, tmp_path):
    database = f"motcua_dossiers_rewrap_{uuid.uuid4().hex[:8]}"
    stack.postgres.create_database(database)
    keks_dir = tmp_path / "subject-keks"
    keks_dir.mkdir()
    (keks_dir / "k1.key").write_text(base64.b64encode(os.urandom(32)).decode())
    old = KeyEncryptionKeys.from_directory(keks_dir)
    with psycopg.connect(stack.postgres.dsn(database), autocommit=True, row_factory=dict_row) as conn:
        store = SubjectKeyStore(_Connection(conn, "public"), "dossiers", old, cache_size=0)
        keys = {f"account:{i}": store.key_for_writing(f"account:{i}") for i in range(3)}

    (keks_dir / "k2.key").write_text(base64.b64encode(os.urandom(32)).decode())
    env = {**os.environ, **stack.settings("dossiers", POSTGRES_DBNAME=database).eventstore_env,
           "MOTCUA_DOSSIERS_SUBJECT_KEKS_DIR": str(keks_dir), "MOTCUA_SERVICE": "dossiers"}
    result = subprocess.run([sys.executable, "-m", "motcua.dossiers.rewrap_keys"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3 data keys re-wrapped by key-encryption key k2"

    (keks_dir / "k1.key").unlink()  # the old KEK retired
    with psycopg.connect(stack.postgres.dsn(database), autocommit=True, row_factory=dict_row) as conn:
        assert {r["kek_id"] for r in conn.execute("SELECT kek_id FROM dossiers_subject_keys")} == {"k2"}
        store = SubjectKeyStore(_Connection(conn, "public"), "dossiers", KeyEncryptionKeys.from_directory(keks_dir),
                                cache_size=0)
        assert {s: store.key_for_reading(s) for s in keys} == keys

    missing = subprocess.run([sys.executable, "-m", "motcua.dossiers.rewrap_keys"],
                             env={**env, "MOTCUA_DOSSIERS_SUBJECT_KEKS_DIR": str(tmp_path / "none")},
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no key-encryption key" in missing.stderr
