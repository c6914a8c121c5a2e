"""Signed checkpoints of the hash chain, cross-witnessed: a real procedures service seals its log
and publishes its chain heads; a real signing service signs them with its audit key (rotated
half-way) and publishes the checkpoints; every service keeps them, procedures in its own
database and identity (running the whole session) in its. Then `motcua-audit verify --live`
and an exported bundle, verified offline, find a log rewritten together with its whole chain,
and a replaced checkpoint signature; a clean log verifies with every checkpoint, including
those of the retired key (whose key file is gone)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from motcua.audit.v1 import audit_service_pb2 as apb
from motcua.kernel.chain import GENESIS, record_digest
from tests.audit.conftest import create_renamed_published
from tests.audit.test_audit_api import audit_stub, auditor
from tests.audit.test_audit_cli import audit, audit_env, failed, ok
from tests.signing.tsa import LocalTsa
from tests.support.clients import procedures_stub
from tests.support.identity import PROVINCE
from tests.support.waiting import eventually

DB = "motcua_ckpt_procedures"
TABLE = "procedures_events"
WITNESS_DB = "motcua_identity"
FAST_CHECKPOINTS = {"MOTCUA_CHECKPOINT_EVERY": "4", "MOTCUA_CHECKPOINT_INTERVAL": "0.3"}


def _head(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"SELECT (SELECT max(notification_id) FROM {TABLE}), "
            "(SELECT max(notification_id) FROM motcua_chain WHERE to_regclass('motcua_chain') IS NOT NULL)"
        ).fetchone()
    assert row is not None
    return row[1] if row[0] is not None and row[0] == row[1] else 0


def _checkpoints(dsn: str) -> list[tuple[int, str]]:
    """(position, key id) of the test log's checkpoints kept in a database."""
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regclass('motcua_checkpoints')").fetchone() == (None,):
            return []
        return [(r[0], r[1]) for r in conn.execute(
            "SELECT position, key_id FROM motcua_checkpoints WHERE service = 'procedures' AND database = %s "
            "ORDER BY position", (DB,))]


def _signed_up_to(stack, dsn: str, position: int, key_id: str) -> bool:
    return all((position, key_id) in _checkpoints(d) for d in (dsn, stack.dsn("identity")))


def _key_id(signing_dir: Path, name: str) -> str:
    import hashlib

    pem = (signing_dir / "pki" / "audit" / f"{name}.crt.pem").read_bytes()
    return hashlib.sha256(x509.load_pem_x509_certificates(pem)[0].public_bytes(serialization.Encoding.DER)).hexdigest()


@pytest.fixture(scope="module")
def witnessed(stack, tmp_path_factory) -> dict:
    """The test log, sealed and checkpointed under two audit keys, the first one's key file
    then removed; the procedures service and the signer stopped."""
    stack.postgres.create_database(DB)
    dsn = stack.postgres.dsn(DB)
    signing_dir = tmp_path_factory.mktemp("ckpt-signing")
    signing = stack.service("signing", MOTCUA_SIGNING_DIR=str(signing_dir)).start()
    service = stack.service("procedures", POSTGRES_DBNAME=DB, **FAST_CHECKPOINTS).start()
    stub = procedures_stub(service.addr)
    for n in range(3):
        create_renamed_published(stub, f"Đăng ký khai sinh {n}")
    first_key = _key_id(signing_dir, "audit")
    eventually(lambda: (h := _head(dsn)) and _signed_up_to(stack, dsn, h, first_key),
               what="the sealed head signed and kept in both databases", timeout=90)
    assert signing.terminate() == 0

    # Rotation: the signing service restarts with a new audit key, and a timestamp authority
    # (certified by the development CA) stamps its checkpoints from then on.
    rotated = signing_dir / "pki" / "audit" / "audit-2.key.pem"
    pki = signing_dir / "pki"
    ca_key = serialization.load_pem_private_key((pki / "dev-root-ca.key.pem").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((pki / "dev-root-ca.crt.pem").read_bytes())
    with LocalTsa(ca_key, ca_cert) as tsa:
        signing = stack.service("signing", MOTCUA_SIGNING_DIR=str(signing_dir), MOTCUA_SIGNING_AUDIT_KEY=str(rotated),
                                MOTCUA_SIGNING_TSA_URL=tsa.url).start()
        for n in range(3, 5):
            create_renamed_published(stub, f"Cấp đổi giấy phép lái xe {n}")
        second_key = _key_id(signing_dir, "audit-2")
        eventually(lambda: (h := _head(dsn)) and _signed_up_to(stack, dsn, h, second_key),
                   what="the new head signed with the new key", timeout=90)
        assert service.terminate() == 0
        assert signing.terminate() == 0
        assert tsa.requests > 0
    # The retired key is gone: its checkpoints must verify without it.
    (signing_dir / "pki" / "audit" / "audit.key.pem").unlink()
    with psycopg.connect(dsn) as conn:
        ids = [r[0] for r in conn.execute(f"SELECT notification_id FROM {TABLE} ORDER BY notification_id")]
    return {"dsn": dsn, "ids": ids, "keys": (first_key, second_key),
            "trust": signing_dir / "pki" / "dev-root-ca.crt.pem"}


def verify(stack, *options: str):
    """`verify --live` on the test log with identity as witness; and the same exported with its
    checkpoints and verified offline, which must say the same."""
    env = audit_env(stack, POSTGRES_DBNAME=DB)
    live = audit(stack, "verify", "--live", "--service", "procedures", "--witness", "identity", *options, env=env)
    with tempfile.TemporaryDirectory() as scratch:
        bundle = f"{scratch}/procedures.tar.gz"
        exported = ok(audit(stack, "export", "--service", "procedures", "--witness", "identity", "-o", bundle,
                            env=env))
        assert " signed checkpoints" in exported, exported
        offline = audit(stack, "verify", bundle, *options, env={})
    assert offline.returncode == live.returncode, (offline, live)
    if live.returncode == 1:
        assert offline.stdout == live.stdout
    else:
        assert offline.stdout.splitlines()[1] == live.stdout.splitlines()[1], (offline.stdout, live.stdout)
    return live


def test_checkpoints_are_kept_in_the_services_own_and_in_another_services_database(stack, witnessed):
    for dsn in (witnessed["dsn"], stack.dsn("identity")):
        kept = _checkpoints(dsn)
        assert {key for _, key in kept} == set(witnessed["keys"])
        assert max(position for position, _ in kept) == witnessed["ids"][-1]
        assert {position for position, _ in kept} <= set(witnessed["ids"])


def test_the_chain_status_of_the_auditor_api_names_the_latest_checkpoints(stack, witnessed):
    service = stack.service("procedures", POSTGRES_DBNAME=DB).start()
    try:
        status = audit_stub(service.addr, auditor(PROVINCE)).GetChainStatus(
            apb.GetChainStatusRequest(service="procedures"))
    finally:
        assert service.terminate() == 0
    latest = list(status.latest_checkpoints)
    first_key, second_key = witnessed["keys"]
    with psycopg.connect(witnessed["dsn"]) as conn:
        digest = conn.execute("SELECT digest FROM motcua_chain WHERE notification_id = %s",
                              (witnessed["ids"][-1],)).fetchone()
    assert digest is not None
    # Newest first: the head signed by the rotated key, stamped by the timestamp authority.
    assert (latest[0].position, latest[0].digest, latest[0].key_id) == (
        witnessed["ids"][-1], bytes(digest[0]).hex(), second_key)
    assert latest[0].timestamped and latest[0].sign_time.seconds > 0
    assert [c.position for c in latest] == sorted((c.position for c in latest), reverse=True)
    assert first_key in {c.key_id for c in latest} or len(latest) == 10
    assert all(not c.timestamped for c in latest if c.key_id == first_key)


def test_a_clean_log_verifies_with_every_checkpoint_of_both_keys(stack, witnessed):
    out = ok(verify(stack, "--trust", str(witnessed["trust"])))

    kept = _checkpoints(witnessed["dsn"]) + _checkpoints(stack.dsn("identity"))
    stamped = [key for _, key in kept if key == witnessed["keys"][1]]  # the second key's, with the authority
    lines = out.splitlines()
    assert lines[0] == (f"OK procedures: {len(witnessed['ids'])} records verified, "
                        f"sealed up to position {witnessed['ids'][-1]}")
    assert lines[1] == (
        f"checkpoints procedures: {len(kept)} verified, {len(stamped)} timestamped, "
        f"the latest at position {witnessed['ids'][-1]}, "
        f"signed by 2 key(s) ({witnessed['keys'][0][:16]}, {witnessed['keys'][1][:16]}), "
        f"kept in {DB}, {WITNESS_DB}")


def test_checkpoints_signed_under_another_root_are_a_bad_signature(stack, witnessed, tmp_path):
    from motcua.signing.pki import create_root_ca

    _, stranger = create_root_ca("CA lạ", "Không phải tỉnh")
    other_root = tmp_path / "other-root.crt.pem"
    other_root.write_bytes(stranger.public_bytes(serialization.Encoding.PEM))

    result = verify(stack, "--trust", str(other_root))

    failed(result, 1)
    first = _checkpoints(witnessed["dsn"])[0][0]
    assert result.stdout.startswith(f"BROKEN procedures at position {first}: bad signature:"), result.stdout
    assert "does not chain to a trusted audit root" in result.stdout


def test_a_timestamp_token_of_another_signature_is_found(stack, witnessed):
    identity = stack.dsn("identity")
    with psycopg.connect(identity) as conn:
        stamped = conn.execute(
            "SELECT position, key_id, timestamp_token FROM motcua_checkpoints WHERE service = 'procedures' "
            "AND database = %s AND timestamp_token IS NOT NULL ORDER BY position", (DB,)).fetchall()
        assert len(stamped) >= 2
        (position, key_id, token), (_, _, other_token) = stamped[0], stamped[-1]
        conn.execute("UPDATE motcua_checkpoints SET timestamp_token = %s WHERE service = 'procedures' "
                     "AND database = %s AND position = %s AND key_id = %s", (other_token, DB, position, key_id))
    try:
        result = verify(stack, "--trust", str(witnessed["trust"]))
    finally:
        with psycopg.connect(identity) as conn:
            conn.execute("UPDATE motcua_checkpoints SET timestamp_token = %s WHERE service = 'procedures' "
                         "AND database = %s AND position = %s AND key_id = %s", (token, DB, position, key_id))

    failed(result, 1)
    assert result.stdout.startswith(
        f"BROKEN procedures at position {position}: bad signature: "
        f"the checkpoint at position {position} kept in {WITNESS_DB}: its timestamp token"), result.stdout


def test_a_replaced_checkpoint_signature_is_found(stack, witnessed):
    identity = stack.dsn("identity")
    (position, key_id), (_, other_key) = _checkpoints(identity)[0], _checkpoints(identity)[-1]
    with psycopg.connect(identity) as conn:
        original = conn.execute(
            "SELECT signature FROM motcua_checkpoints WHERE service = 'procedures' AND database = %s "
            "AND position = %s AND key_id = %s", (DB, position, key_id)).fetchone()
        assert original is not None
        # Another checkpoint's signature, a well-formed one, put in its place.
        conn.execute(
            "UPDATE motcua_checkpoints SET signature = (SELECT signature FROM motcua_checkpoints "
            "  WHERE service = 'procedures' AND database = %s ORDER BY position DESC LIMIT 1) "
            "WHERE service = 'procedures' AND database = %s AND position = %s AND key_id = %s",
            (DB, DB, position, key_id))
    try:
        result = verify(stack, "--trust", str(witnessed["trust"]))
    finally:
        with psycopg.connect(identity) as conn:
            conn.execute("UPDATE motcua_checkpoints SET signature = %s WHERE service = 'procedures' "
                         "AND database = %s AND position = %s AND key_id = %s", (original[0], DB, position, key_id))

    failed(result, 1)
    assert result.stdout.startswith(f"BROKEN procedures at position {position}: bad signature: "
                                    f"the checkpoint at position {position} kept in {WITNESS_DB}: "
                                    "the signature does not verify"), result.stdout
    assert other_key  # the replacement came from the log's last checkpoint


def test_a_log_rewritten_with_its_whole_chain_and_own_checkpoints_is_found_by_the_witness(stack, witnessed):
    """Last: it rewrites the test log for good. The administrator of the procedures database edits
    the first event, recomputes every digest of the chain and deletes the checkpoints kept there:
    the chain verifies, and only identity's checkpoints tell."""
    dsn = witnessed["dsn"]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            f"UPDATE {TABLE} SET state = convert_to(replace(convert_from(state, 'UTF8'), 'Đăng ký', 'Hủy'), 'UTF8') "
            "WHERE notification_id = %s", (witnessed["ids"][0],))
        conn.execute("DELETE FROM motcua_chain")
        previous = GENESIS
        rows = conn.execute(f"SELECT notification_id, originator_id, originator_version, topic, state FROM {TABLE} "
                            "ORDER BY notification_id").fetchall()
        for position, originator_id, version, topic, state in rows:
            previous = record_digest(previous, position, originator_id, version, topic, bytes(state))
            conn.execute("INSERT INTO motcua_chain (notification_id, digest, sealed_at) VALUES (%s, %s, %s)",
                         (position, previous, dt.datetime.now(dt.UTC)))
        conn.execute("DELETE FROM motcua_checkpoints")

    env = audit_env(stack, POSTGRES_DBNAME=DB)
    alone = audit(stack, "verify", "--live", "--service", "procedures", env=env)
    assert ok(alone).startswith("OK procedures: ")  # the chain alone cannot tell
    assert "no signed checkpoints of procedures found" in alone.stderr

    result = verify(stack, "--trust", str(witnessed["trust"]))

    failed(result, 1)
    first = _checkpoints(stack.dsn("identity"))[0][0]
    assert result.stdout.startswith(f"BROKEN procedures at position {first}: rewritten: "
                                    f"the checkpoint at position {first} kept in {WITNESS_DB} signed digest "), \
        result.stdout
    assert "(the log was rewritten together with its chain)" in result.stdout
