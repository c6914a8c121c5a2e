"""The kernel's gRPC server: validation before handlers, error mapping, graceful drain."""

from __future__ import annotations

import threading
import uuid

import grpc
import pytest

from motcua.kernel.config import Settings
from motcua.kernel.errors import InvalidTransition
from motcua.kernel.grpc_server import GrpcServer, serve
from motcua.procedures.v1 import procedure_pb2, procedure_service_pb2 as pb, procedure_service_pb2_grpc
from motcua.devstack import free_port


class SlowServicer(procedure_service_pb2_grpc.ProcedureServiceServicer):
    def __init__(self) -> None:
        self.calls = 0
        self.in_flight = threading.Event()
        self.release = threading.Event()

    def GetProcedure(self, request, context):
        self.calls += 1
        self.in_flight.set()
        self.release.wait(timeout=30)
        return pb.GetProcedureResponse(procedure=procedure_pb2.Procedure(procedure_id=request.procedure_id, name="Đăng ký khai sinh"))

    def CreateProcedure(self, request, context):
        raise RuntimeError("secret connection string postgres://motcua:motcua@db")

    def PublishProcedure(self, request, context):
        raise InvalidTransition("procedure 1.000001", "published", "publish")


@pytest.fixture
def server():
    settings = Settings(service="test", grpc_addr=f"127.0.0.1:{free_port()}", kafka_bootstrap="", eventstore_env={}, shutdown_grace=10)
    servicer = SlowServicer()
    server = GrpcServer(settings, [serve(pb, procedure_service_pb2_grpc, servicer)])
    server.start()
    channel = grpc.insecure_channel(settings.grpc_addr)
    yield server, servicer, procedure_service_pb2_grpc.ProcedureServiceStub(channel)
    servicer.release.set()
    channel.close()
    server.server.stop(0)


def test_invalid_requests_never_reach_the_handler(server):
    _, servicer, stub = server
    with pytest.raises(grpc.RpcError) as failure:
        stub.GetProcedure(pb.GetProcedureRequest(procedure_id="123"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert servicer.calls == 0


def test_unexpected_errors_are_internal_and_leak_nothing(server):
    _, _, stub = server
    with pytest.raises(grpc.RpcError) as failure:
        stub.CreateProcedure(pb.CreateProcedureRequest(code="1.000001", name="Tên", agency_id="000.00.10.H56", processing_days=1))
    assert failure.value.code() == grpc.StatusCode.INTERNAL
    assert "postgres" not in failure.value.details()


def test_domain_errors_map_to_their_status(server):
    _, _, stub = server
    with pytest.raises(grpc.RpcError) as failure:
        stub.PublishProcedure(pb.PublishProcedureRequest(procedure_id=str(uuid.uuid4())))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "published" in failure.value.details()


def test_stop_drains_in_flight_calls_and_refuses_new_ones(server):
    grpc_server, servicer, stub = server
    in_flight = stub.GetProcedure.future(pb.GetProcedureRequest(procedure_id=str(uuid.uuid4())))
    assert servicer.in_flight.wait(timeout=10)

    stopping = threading.Thread(target=grpc_server.stop)
    stopping.start()
    with pytest.raises(grpc.RpcError) as refused:
        stub.GetProcedure(pb.GetProcedureRequest(procedure_id=str(uuid.uuid4())), timeout=5)
    # Refused either at the transport or as the server winds down; never handled.
    assert refused.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    assert servicer.calls == 1

    servicer.release.set()
    assert in_flight.result(timeout=10).procedure.name == "Đăng ký khai sinh"
    stopping.join(timeout=15)
    assert not stopping.is_alive()
