"""The event store's pooled connections: checked before use without a round trip per checkout,
and still replaced when their session has ended (POSTGRES_PRE_PING)."""

from __future__ import annotations

import tempfile

import psycopg
from psycopg import pq
from psycopg_pool import ConnectionPool

from .conftest import Note, NotesApp, kernel_settings


def _one_connection_app(stack, service_name: str) -> NotesApp:
    settings = kernel_settings(stack, service_name)
    settings.eventstore_env.update(POSTGRES_POOL_SIZE="1", POSTGRES_MAX_OVERFLOW="0")
    return NotesApp(settings)


def _pool(notes: NotesApp) -> ConnectionPool:
    pool = notes.factory.datastore.pool  # type: ignore[attr-defined]  # eventsourcing's PostgreSQL factory
    assert isinstance(pool, ConnectionPool)
    return pool


def _sent_while(notes: NotesApp, action) -> list[list[str]]:
    """The protocol messages (tab-separated fields) the app's one pooled connection sent to the
    server during action()."""
    pool = _pool(notes)
    with tempfile.TemporaryFile("w+") as trace:
        with pool.connection() as conn:
            conn.pgconn.trace(trace.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            action()
        finally:
            with pool.connection() as conn:
                conn.pgconn.untrace()
        trace.seek(0)
        return [line.split("\t") for line in trace.read().splitlines() if line.startswith("F")]


def test_a_healthy_pooled_connection_is_handed_out_without_a_round_trip_of_its_own(stack, service_name):
    notes = _one_connection_app(stack, service_name)
    try:
        note = Note(text="Giấy khai sinh")
        notes.save(note)
        sent = _sent_while(notes, lambda: notes.repository.get(note.id))
        queries = [" ".join(fields) for fields in sent if "Query" in fields or "Parse" in fields]
        assert any("SELECT" in q for q in queries), sent  # the read itself
        assert not [q for q in queries if q.endswith('""')], sent  # no empty query checking it first
    finally:
        notes.close()


def test_a_pooled_connection_whose_session_ended_is_replaced_before_use(stack, service_name):
    notes = _one_connection_app(stack, service_name)
    try:
        note = Note(text="Sổ hộ khẩu")
        notes.save(note)
        with _pool(notes).connection() as conn:
            backend = conn.info.backend_pid
        with psycopg.connect(_dsn(stack, service_name), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        # The server ended the session (as on a restart or failover): the check sees it and the
        # pool connects afresh, so the call succeeds.
        assert notes.repository.get(note.id).text == "Sổ hộ khẩu"
        with _pool(notes).connection() as conn:
            assert conn.info.backend_pid != backend
    finally:
        notes.close()


def _dsn(stack, service_name: str) -> str:
    env = stack.settings(service_name).eventstore_env
    return (f"host={env['POSTGRES_HOST']} port={env['POSTGRES_PORT']} dbname={env['POSTGRES_DBNAME']} "
            f"user={env['POSTGRES_USER']} password={env.get('POSTGRES_PASSWORD', '')}")
