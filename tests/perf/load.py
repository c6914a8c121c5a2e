"""Load on the procedures service over a real gRPC channel, and what the consumer saw of it.

One *pair* is CreateProcedure then PublishProcedure of the new draft: two
commands (RPCs), one ProcedurePublished relayed to Kafka and applied by the
probe (tests/perf/probe.py). The client is grpc.aio in the bench process: one
channel, many concurrent calls, far cheaper per call than a thread each.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import grpc

from motcua.procedures.v1 import procedure_service_pb2 as pb, procedure_service_pb2_grpc
from tests.support.auth import AGENCY, bearer

NAME = "Cấp giấy phép xây dựng nhà ở riêng lẻ"
# The procedures are the bench caller's own agency's: its token is an administrator's there
# (tests.support.auth), and the catalog lets administrators create only within their grants.
CALL_TIMEOUT = 30.0


@dataclass
class LoadResult:
    started_wall: float = 0.0  # time.time() when the first call was sent
    elapsed: float = 0.0  # seconds from the first send to the last response
    sending: float = 0.0  # seconds from the first send to the last pair started
    pairs_started: int = 0
    pairs_ok: int = 0  # published: one event each
    rpcs_ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    rpc_ms: list[float] = field(default_factory=list)

    def failed(self, error: grpc.RpcError) -> None:
        code = error.code().name if isinstance(error, grpc.aio.AioRpcError) else type(error).__name__
        self.errors[code] = self.errors.get(code, 0) + 1

    def summary(self) -> dict:
        ms = sorted(self.rpc_ms)
        return {
            "rpcs_ok": self.rpcs_ok,
            "pairs_ok": self.pairs_ok,
            "errors": self.errors,
            "client_seconds": round(self.elapsed, 2),
            "sent_rpcs_per_s": round(2 * self.pairs_started / self.sending, 1) if self.sending else None,
            "acknowledged_rpcs_per_s": round(self.rpcs_ok / self.elapsed, 1) if self.elapsed else 0.0,
            "rpc_ms_p50": round(statistics.median(ms), 2) if ms else None,
            "rpc_ms_p99": round(percentile(ms, 99), 2) if ms else None,
        }


async def timed_pair(result: LoadResult, first: Callable[[], Awaitable[Any]],
                     second: Callable[[Any], Awaitable[Any]]) -> None:
    """One pair: the ``first`` command, then the ``second`` on its answer, each counted and timed;
    a refused command ends the pair, counted by its status."""
    result.pairs_started += 1
    try:
        t0 = time.perf_counter()
        answer = await first()
        t1 = time.perf_counter()
        result.rpcs_ok += 1
        await second(answer)
        t2 = time.perf_counter()
        result.rpcs_ok += 1
        result.pairs_ok += 1
        result.rpc_ms += [(t1 - t0) * 1000, (t2 - t1) * 1000]
    except grpc.RpcError as e:
        result.failed(e)


async def _pair(stub, result: LoadResult) -> None:
    code = f"2.000000.{uuid.uuid4().hex.upper()}"
    await timed_pair(
        result,
        lambda: stub.CreateProcedure(
            pb.CreateProcedureRequest(code=code, name=NAME, agency_id=AGENCY, processing_days=15), timeout=CALL_TIMEOUT,
            metadata=bearer(),
        ),
        lambda created: stub.PublishProcedure(
            pb.PublishProcedureRequest(procedure_id=created.procedure.procedure_id, expected_version=1),
            timeout=CALL_TIMEOUT,
            metadata=bearer(),
        ),
    )


# One pair of commands on a stub, counted in the result.
Pair = Callable[[Any, LoadResult], Awaitable[None]]


async def run_closed_loop(addr: str, stub_type: Callable[[grpc.aio.Channel], Any], callers: Sequence[Pair],
                          seconds: float) -> LoadResult:
    """Each of ``callers`` runs its pair on one channel's stub of ``stub_type``, the next as soon
    as the previous answered, for ``seconds``."""
    result = LoadResult()
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = stub_type(channel)
        await channel.channel_ready()
        result.started_wall, start = time.time(), time.monotonic()
        deadline = start + seconds

        async def caller(pair: Pair) -> None:
            while time.monotonic() < deadline:
                await pair(stub, result)

        await asyncio.gather(*(caller(pair) for pair in callers))
        result.elapsed = time.monotonic() - start
    return result


async def _open_loop(addr: str, pairs_per_second: float, seconds: float) -> LoadResult:
    """Starts a pair every 1/rate s on a fixed schedule, whether earlier ones have answered or
    not."""
    result = LoadResult()
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = procedure_service_pb2_grpc.ProcedureServiceStub(channel)
        await channel.channel_ready()
        result.started_wall, start = time.time(), time.monotonic()
        tasks = []
        for i in range(int(seconds * pairs_per_second)):
            delay = start + i / pairs_per_second - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_pair(stub, result)))
        result.sending = time.monotonic() - start + 1 / pairs_per_second  # N pairs span N intervals
        await asyncio.gather(*tasks)
        result.elapsed = time.monotonic() - start
    return result


def closed_loop(addr: str, concurrency: int, seconds: float) -> LoadResult:
    """`concurrency` callers, each sending its next pair as soon as the previous one answered."""
    return asyncio.run(run_closed_loop(addr, procedure_service_pb2_grpc.ProcedureServiceStub, [_pair] * concurrency,
                                       seconds))


def open_loop(addr: str, commands_per_second: float, seconds: float) -> LoadResult:
    return asyncio.run(_open_loop(addr, commands_per_second / 2, seconds))


class Applied(NamedTuple):
    """One event applied by the probe; times in ns since the epoch (see tests/perf/probe.py)."""

    position: int
    occurred_ns: int
    picked_up_ns: int
    applied_ns: int


class AppliedLog:
    """Tails the probe's file: one line per event applied by the consumer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        self._offset = 0

    def mark(self) -> None:
        """From now on, read only what is applied after this point."""
        self._offset = self.path.stat().st_size

    def lines(self) -> list[Applied]:
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        return [Applied(*map(int, line.split())) for line in complete.splitlines()]

    def wait_for(self, count: int, stall_timeout: float = 30.0) -> list[Applied]:
        """The lines since mark(), once there are `count` of them or nothing new came for
        stall_timeout."""
        seen, last_progress = -1, time.monotonic()
        while True:
            lines = self.lines()
            if len(lines) >= count:
                return lines
            if len(lines) != seen:
                seen, last_progress = len(lines), time.monotonic()
            elif time.monotonic() - last_progress > stall_timeout:
                return lines
            time.sleep(0.2)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100)
    return sorted_values[int(rank) - 1]
