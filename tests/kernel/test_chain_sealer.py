"""The chain sealer: one leader per service seals every event once, in notification-id order;
another takes over from the chain's head; what is sealed verifies against the records."""

from __future__ import annotations

import psycopg

from motcua.audit.chain_check import verify
from motcua.kernel.sealer import ChainSealer
from tests.support.waiting import eventually
from tests.support.workers import start

from .conftest import Note


def chain(stack, service: str) -> list[tuple[int, bytes]]:
    with psycopg.connect(stack.dsn(service)) as conn:
        return [(n, bytes(d)) for n, d in conn.execute(
            "SELECT notification_id, digest FROM motcua_chain ORDER BY notification_id")]


def positions(stack, service: str) -> list[int]:
    with psycopg.connect(stack.dsn(service)) as conn:
        return [r[0] for r in conn.execute("SELECT notification_id FROM notes_events ORDER BY notification_id")]


def test_one_sealer_leads_the_other_takes_over_from_the_head_and_the_chain_verifies(stack, notes, service_name):
    first, second = ChainSealer(notes, idle_wait=0.1), ChainSealer(notes, idle_wait=0.1)
    first_thread, stop_first = start(first)
    eventually(lambda: first.is_leader, what="first sealer leads")
    second_thread, stop_second = start(second)
    try:
        notes.save(*[Note(text=f"Ghi chú {i}") for i in range(5)])
        eventually(lambda: first.sealed == 5, what="first sealer sealed")
        assert not second.is_leader and second.sealed == 0

        stop_first.set()
        first_thread.join(timeout=30)
        eventually(lambda: second.is_leader, what="second sealer takes over")
        for i in range(5, 8):  # one commit each: several batches
            notes.save(Note(text=f"Ghi chú có dấu {i}"))
        eventually(lambda: second.sealed == 3, what="second sealer sealed the rest")
    finally:
        stop_first.set()
        stop_second.set()
        second_thread.join(timeout=30)

    sealed = chain(stack, service_name)
    assert [n for n, _ in sealed] == positions(stack, service_name)
    assert all(len(d) == 32 for _, d in sealed) and len({d for _, d in sealed}) == 8
    with psycopg.connect(stack.dsn(service_name)) as conn:
        outcome = verify(conn, "notes_events")
    assert (outcome.verified, outcome.head, outcome.unsealed, outcome.broken) == (8, sealed[-1][0], 0, None)
