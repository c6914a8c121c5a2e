"""The signing service's metrics port too (the other services' are in test_metrics.py): its
RPCs counted by method and status with their latency, scraped over HTTP as Prometheus would,
with no id of what was asked for in any label."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import pytest

from motcua.devstack import ServiceProcess, free_port
from motcua.signing import pki
from motcua.signing.v1 import signing_service_pb2 as pb
from tests.metrics.test_metrics import scrape, value
from tests.support import auth
from tests.support.clients import signing_stub


@pytest.fixture(scope="module")
def signing(stack, tmp_path_factory) -> Iterator[tuple[ServiceProcess, int]]:
    directory = tmp_path_factory.mktemp("signing-metrics")
    pki.ensure_dev_pki(directory / "pki")
    port = free_port()
    process = stack.service("signing", MOTCUA_SIGNING_DIR=str(directory),
                            MOTCUA_METRICS_ADDR=f"127.0.0.1:{port}").start()
    yield process, port
    assert process.terminate() == 0


def test_the_signing_service_counts_its_rpcs_by_method_and_status(signing):
    process, port = signing
    missing = str(uuid.uuid4())
    stub = signing_stub(process.addr, auth.issue(agency_id="000.00.00.H56").access_token)
    before = scrape(port)
    with pytest.raises(grpc.RpcError) as failure:
        stub.GetSignatureRequest(pb.GetSignatureRequestRequest(signature_request_id=missing), timeout=20)
    assert failure.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED)
    after = scrape(port)
    method = {"rpc_service": "motcua.signing.v1.SigningService", "rpc_method": "GetSignatureRequest",
              "rpc_grpc_status_code": failure.value.code().name}
    count = "rpc_server_duration_seconds_count"
    assert value(after, count, **method) == value(before, count, **method) + 1
    assert value(after, "rpc_server_duration_seconds_bucket", **method, le="+Inf") >= 1
    assert not [key for key in after if any(missing in v for _, v in key[1])]
