"""Load on the dossiers service over a real gRPC channel: the desk's two commands of every dossier.

One *pair* is SubmitDossier (numbered from its agency's sequence of the day) then ReceiveDossier
of the new dossier by the desk: two commands (RPCs), one DossierReceived relayed to Kafka and
applied by the probe (tests/perf/dossier_probe.py). Each caller is the desk of an agency of its
own, as the desks of a province's agencies are (one agency's submissions take their numbers one
after another). Same client as tests/perf/load.py: grpc.aio, one channel, many concurrent calls.
"""

from __future__ import annotations

import asyncio
import functools

from motcua.dossiers.v1 import dossier_service_pb2 as pb, dossier_service_pb2_grpc
from tests.perf.load import CALL_TIMEOUT, LoadResult, run_closed_loop, timed_pair
from tests.support import auth
from tests.support.dossiers import submit_request


def desk_agency(n: int) -> str:
    return f"000.00.{n // 100:02d}.P{n % 100:02d}"


async def _pair(stub, result: LoadResult, procedure_id: str, agency: str, metadata) -> None:
    await timed_pair(
        result,
        lambda: stub.SubmitDossier(submit_request(procedure_id, agency), timeout=CALL_TIMEOUT, metadata=metadata),
        lambda submitted: stub.ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=submitted.dossier.dossier_id,
                                                                       expected_version=1),
                                              timeout=CALL_TIMEOUT, metadata=metadata),
    )


def desks(concurrency: int) -> list[tuple[str, tuple]]:
    """One desk officer's agency and bearer metadata per caller (tokens issued before the clock
    starts)."""
    found = []
    for n in range(concurrency):
        agency = desk_agency(n)
        found.append((agency, auth.bearer(auth.issue(agency_id=agency, ttl_seconds=3600).access_token)))
    return found


def closed_loop(addr: str, procedure_id: str, concurrency: int, seconds: float) -> LoadResult:
    """`concurrency` desks, each submitting and receiving its next dossier as soon as the previous
    one answered."""
    callers = [functools.partial(_pair, procedure_id=procedure_id, agency=agency, metadata=metadata)
               for agency, metadata in desks(concurrency)]
    return asyncio.run(run_closed_loop(addr, dossier_service_pb2_grpc.DossierServiceStub, callers, seconds))
