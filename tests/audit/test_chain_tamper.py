"""The hash chain against a database administrator: a real procedures service records and seals
its log (its sealer running as in production), then SQL edits, deletes, inserts and swaps stored
events. `motcua-audit verify --live`, run as an auditor runs it, names the first broken position
and what happened there; a clean log, gaps in its ids and an unsealed tail verify. Each log is
also exported (`motcua-audit export`) and its bundle verified offline, with no database
and no environment: the same break is found there."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.audit.conftest import SEALED_DB, TABLE
from tests.audit.test_audit_cli import audit, audit_env, failed, ok
from tests.support.identity import seed_agencies
from tests.support.waiting import eventually

_copies = itertools.count(1)


@pytest.fixture
def log_copy(stack, sealed) -> Iterator[tuple[str, str]]:
    """A copy of the sealed database to tamper with: (its name, its DSN)."""
    name = f"{SEALED_DB}_copy_{next(_copies)}"
    with psycopg.connect(stack.postgres.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(SEALED_DB)))
    yield name, stack.postgres.dsn(name)
    with psycopg.connect(stack.postgres.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def verify(stack, dbname: str):
    """`verify --live` on the database; and the same log exported to a bundle and verified
    offline, which must find the same break (or none)."""
    env = audit_env(stack, POSTGRES_DBNAME=dbname)
    live = audit(stack, "verify", "--live", "--service", "procedures", env=env)
    with tempfile.TemporaryDirectory() as scratch:
        bundle = f"{scratch}/procedures.tar"
        if live.returncode != 2:
            ok(audit(stack, "export", "--service", "procedures", "-o", bundle, env=env))
            offline = audit(stack, "verify", bundle, env={})
            assert offline.returncode == live.returncode, (offline, live)
            if live.returncode == 1:
                assert offline.stdout == live.stdout
            else:
                verified = live.stdout.split(" records verified")[0]
                assert offline.stdout.startswith(verified), (offline.stdout, live.stdout)
    return live


def test_a_clean_log_with_a_gap_in_its_ids_verifies(stack, sealed):
    out = ok(verify(stack, SEALED_DB))

    assert out.strip() == (f"OK procedures: {len(sealed['ids'])} records verified, "
                           f"sealed up to position {sealed['ids'][-1]}")


def test_an_edited_state_is_found_at_its_position(stack, sealed, log_copy):
    name, dsn = log_copy
    with psycopg.connect(dsn) as conn:
        # The second event naming "Đăng ký khai sinh": its name rewritten in place.
        row = conn.execute(
            f"UPDATE {TABLE} SET state = convert_to(replace(convert_from(state, 'UTF8'), 'Đăng ký', 'Hủy'), 'UTF8') "
            f"WHERE notification_id = (SELECT notification_id FROM {TABLE} "
            "  WHERE position('Đăng ký' in convert_from(state, 'UTF8')) > 0 ORDER BY notification_id OFFSET 1 LIMIT 1) "
            "RETURNING notification_id"
        ).fetchone()
    assert row is not None
    position = row[0]

    result = verify(stack, name)
    failed(result, 1)
    assert result.stdout.startswith(f"BROKEN procedures at position {position}: edited:"), result.stdout


def test_an_edited_actor_in_the_metadata_is_found(stack, sealed, log_copy):
    name, dsn = log_copy
    position = sealed["ids"][-1]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            f"UPDATE {TABLE} SET state = convert_to(jsonb_set(convert_from(state, 'UTF8')::jsonb, "
            "'{_meta,actor}', '\"someone-else\"')::text, 'UTF8') WHERE notification_id = %s",
            (position,),
        )

    result = verify(stack, name)
    failed(result, 1)
    assert result.stdout.startswith(f"BROKEN procedures at position {position}: edited:"), result.stdout


def test_a_deleted_event_is_missing_at_its_position(stack, sealed, log_copy):
    name, dsn = log_copy
    position = sealed["ids"][7]
    with psycopg.connect(dsn) as conn:
        assert conn.execute(f"DELETE FROM {TABLE} WHERE notification_id = %s", (position,)).rowcount == 1

    result = verify(stack, name)
    failed(result, 1)
    assert result.stdout.startswith(f"BROKEN procedures at position {position}: missing:"), result.stdout
    assert f"({sealed['ids'].index(position)} records verified before it)" in result.stdout


def test_an_event_inserted_into_a_gap_is_found_there(stack, sealed, log_copy):
    name, dsn = log_copy
    with psycopg.connect(dsn) as conn:
        conn.execute(
            f"INSERT INTO {TABLE} (originator_id, originator_version, topic, state, notification_id) "
            f"SELECT gen_random_uuid(), 1, topic, state, %s FROM {TABLE} ORDER BY notification_id LIMIT 1",
            (sealed["gap"],),
        )

    result = verify(stack, name)
    failed(result, 1)
    assert result.stdout.startswith(f"BROKEN procedures at position {sealed['gap']}: inserted:"), result.stdout


def test_two_swapped_events_are_reordered_at_the_first_of_them(stack, sealed, log_copy):
    name, dsn = log_copy
    first, second = sealed["ids"][2], sealed["ids"][9]
    with psycopg.connect(dsn) as conn:
        conn.execute(f"UPDATE {TABLE} SET notification_id = -1 WHERE notification_id = %s", (first,))
        conn.execute(f"UPDATE {TABLE} SET notification_id = %s WHERE notification_id = %s", (first, second))
        conn.execute(f"UPDATE {TABLE} SET notification_id = %s WHERE notification_id = -1", (second,))

    result = verify(stack, name)
    failed(result, 1)
    assert result.stdout.startswith(f"BROKEN procedures at position {first}: reordered:"), result.stdout
    assert f"which was sealed at position {second}" in result.stdout


def test_events_after_the_last_seal_are_the_unsealed_tail_not_a_break(stack, sealed, log_copy):
    name, dsn = log_copy
    with psycopg.connect(dsn) as conn:
        conn.execute(
            f"INSERT INTO {TABLE} (originator_id, originator_version, topic, state) "
            f"SELECT gen_random_uuid(), 1, topic, state FROM {TABLE} ORDER BY notification_id LIMIT 1"
        )

    out = ok(verify(stack, name))
    assert out.strip().endswith(f"sealed up to position {sealed['ids'][-1]}, 1 newer not sealed yet")


def test_a_database_without_a_chain_or_unreachable_is_exit_code_2(stack, sealed):
    stack.postgres.create_database("motcua_chain_none")
    result = verify(stack, "motcua_chain_none")
    assert "no table procedures_events, motcua_chain" in failed(result, 2)

    unreachable = audit(stack, "verify", "--live", "--service", "procedures",
                        env=audit_env(stack, POSTGRES_PORT="1", POSTGRES_DBNAME=SEALED_DB))
    assert "cannot read" in failed(unreachable, 2)


def test_identitys_encrypted_log_is_sealed_as_stored_and_verifies_without_its_key(stack):
    """Identity runs for the whole session and encrypts its states: its own sealer sealed the
    ciphertext, which the auditor verifies with no CIPHER_KEY."""
    assert seed_agencies(stack.identity.addr).returncode == 0  # the province's agencies: events in identity
    dsn = stack.dsn("identity")

    def sealed_count() -> int:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*) FROM motcua_chain").fetchone()
        return row[0] if row else 0

    eventually(sealed_count, what="identity's events sealed")
    env = {k: v for k, v in audit_env(stack).items() if k != "CIPHER_KEY"}
    out = ok(audit(stack, "verify", "--live", "--service", "identity", env=env))
    assert out.startswith("OK identity: ") and " records verified, sealed up to position " in out
