"""The kernel's gRPC server: validation before handlers, error mapping, graceful drain."""

from __future__ import annotations

import logging
import threading
import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from motcua.devstack import free_port
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.config import AuthSettings, KafkaSettings, Settings
from motcua.kernel.errors import InvalidTransition
from motcua.kernel.grpc_client import channel
from motcua.kernel.grpc_server import AccessUndeclared, GrpcServer, serve
from motcua.procedures.v1 import procedure_pb2, procedure_service_pb2 as pb, procedure_service_pb2_grpc
from tests.support import auth
from tests.support.auth import authorized_channel, bearer
from tests.support.clients import details


class SlowServicer(procedure_service_pb2_grpc.ProcedureServiceServicer):
    def __init__(self) -> None:
        self.calls = 0
        self.in_flight = threading.Event()
        self.release = threading.Event()

    def GetProcedure(self, request, context):
        self.calls += 1
        self.in_flight.set()
        self.release.wait(timeout=30)
        return pb.GetProcedureResponse(
            procedure=procedure_pb2.Procedure(procedure_id=request.procedure_id, name="Đăng ký khai sinh")
        )

    def CreateProcedure(self, request, context):
        raise RuntimeError("secret connection string postgres://motcua:motcua@db")

    def PublishProcedure(self, request, context):
        raise InvalidTransition("procedure 1.000001", "published", "publish")


@pytest.fixture
def server(stack):
    settings = Settings(service="test", grpc_addr=f"127.0.0.1:{free_port()}", kafka=KafkaSettings(bootstrap=""),
                        eventstore_env={},
                        shutdown_grace=10, auth=AuthSettings.from_env(stack.auth_env))
    servicer = SlowServicer()
    server = GrpcServer(settings, [serve(pb, procedure_service_pb2_grpc, servicer)])
    server.start()
    channel = authorized_channel(settings.grpc_addr)
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
        stub.CreateProcedure(
            pb.CreateProcedureRequest(code="1.000001", name="Tên", agency_id="000.00.10.H56", processing_days=1)
        )
    assert failure.value.code() == grpc.StatusCode.INTERNAL
    assert "postgres" not in failure.value.details()


def test_an_rpc_not_implemented_yet_is_unimplemented_without_an_error_log(server, caplog):
    _, _, stub = server
    with pytest.raises(grpc.RpcError) as failure:
        stub.RenameProcedure(
            pb.RenameProcedureRequest(procedure_id=str(uuid.uuid4()), name="Tên mới", expected_version=1)
        )
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "RenameProcedure" in failure.value.details()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


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

    stopped = grpc_server.begin_stop()
    with pytest.raises(grpc.RpcError) as refused:
        stub.GetProcedure(pb.GetProcedureRequest(procedure_id=str(uuid.uuid4())), timeout=5)
    # Refused either at the transport or as the server winds down; never handled.
    assert refused.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    assert servicer.calls == 1

    assert not stopped.is_set()  # the in-flight call holds the shutdown
    servicer.release.set()
    assert in_flight.result(timeout=10).procedure.name == "Đăng ký khai sinh"
    assert stopped.wait(timeout=15)


def test_client_and_server_spans_form_one_trace(stack, server):
    """Through a real OTLP export from this process to the session's collector."""
    provider = TracerProvider(resource=Resource.create({"service.name": "caller"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=stack.collector.endpoint, insecure=True)))
    trace.set_tracer_provider(provider)
    grpc_server, servicer, _ = server
    servicer.release.set()
    stub = procedure_service_pb2_grpc.ProcedureServiceStub(channel(grpc_server.settings.grpc_addr))
    with provider.get_tracer("test").start_as_current_span("caller") as root:
        stub.GetProcedure(pb.GetProcedureRequest(procedure_id=str(uuid.uuid4())), metadata=bearer())
    trace_id = format(root.get_span_context().trace_id, "032x")
    provider.force_flush()

    spans = stack.collector.wait_for(trace_id, lambda s: len(s) >= 3)
    method = "/motcua.procedures.v1.ProcedureService/GetProcedure"
    (client,) = [s for s in spans if s.name == method and s.kind == 3]  # SPAN_KIND_CLIENT
    (server_span,) = [s for s in spans if s.name == method and s.kind == 2]  # SPAN_KIND_SERVER
    assert server_span.parent_span_id == client.span_id


def test_a_service_with_an_rpc_that_declares_no_access_does_not_start():
    with pytest.raises(AccessUndeclared, match="Check"):
        serve(health_pb2, health_pb2_grpc)


def test_roles_are_checked_before_the_request_is_validated(server):
    _, servicer, _ = server
    citizen = procedure_service_pb2_grpc.ProcedureServiceStub(
        authorized_channel(server[0].settings.grpc_addr, auth.issue(roles=(Role.ROLE_APPLICANT,)).access_token))
    with pytest.raises(grpc.RpcError) as failure:
        citizen.CreateProcedure(pb.CreateProcedureRequest())  # invalid too: the role decides first
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
    (info,) = details(failure.value, error_details_pb2.ErrorInfo)
    assert (info.reason, info.metadata["roles"]) == ("ROLE_REQUIRED", "administrator")
