"""The bench's load (tests/perf/load.py) runs against the services as `make bench` starts them:
every command it sends is accepted. Its speed is for `make bench` to print, not asserted here;
this keeps the bench from measuring a stream of refusals."""

from __future__ import annotations

from tests.perf.load import closed_loop, open_loop


def test_the_bench_load_is_accepted_by_the_catalog(services):
    procedures, _ = services
    closed = closed_loop(procedures.addr, concurrency=4, seconds=1.0)
    assert closed.errors == {}
    assert closed.pairs_ok > 0 and closed.rpcs_ok == 2 * closed.pairs_ok

    paced = open_loop(procedures.addr, commands_per_second=40, seconds=1.0)
    assert paced.errors == {}
    assert paced.pairs_ok == paced.pairs_started > 0
