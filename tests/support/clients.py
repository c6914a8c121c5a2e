"""gRPC clients and status helpers for tests."""

from __future__ import annotations

import os

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from motcua.dossiers.v1 import dossier_service_pb2_grpc
from motcua.notifications.v1 import notification_service_pb2_grpc
from motcua.procedures.v1 import procedure_service_pb2_grpc
from motcua.signing.v1 import signing_service_pb2_grpc

from .auth import authorized_channel


def procedures_stub(addr: str, token: str | None = None) -> procedure_service_pb2_grpc.ProcedureServiceStub:
    return procedure_service_pb2_grpc.ProcedureServiceStub(authorized_channel(addr, token))


def dossiers_stub(addr: str, token: str | None = None) -> dossier_service_pb2_grpc.DossierServiceStub:
    return dossier_service_pb2_grpc.DossierServiceStub(authorized_channel(addr, token))


def notifications_stub(addr: str, token: str | None = None) -> notification_service_pb2_grpc.NotificationServiceStub:
    return notification_service_pb2_grpc.NotificationServiceStub(authorized_channel(addr, token))


def signing_stub(addr: str, token: str | None = None) -> signing_service_pb2_grpc.SigningServiceStub:
    return signing_service_pb2_grpc.SigningServiceStub(authorized_channel(addr, token))


def new_traceparent() -> tuple[str, str]:
    """A fresh sampled W3C traceparent and its trace id."""
    trace_id = os.urandom(16).hex()
    return f"00-{trace_id}-{os.urandom(8).hex()}-01", trace_id


def details(error: grpc.RpcError, detail_type):
    """The google.rpc details of ``detail_type`` carried by a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None, f"no rich status on {error.code()}: {error.details()}"
    found = []
    for item in status.details:
        if item.Is(detail_type.DESCRIPTOR):
            detail = detail_type()
            item.Unpack(detail)
            found.append(detail)
    return found


def error_reason(call, code: grpc.StatusCode = grpc.StatusCode.PERMISSION_DENIED) -> str:
    """The ErrorInfo reason of ``call()``, which must fail with ``code``."""
    with pytest.raises(grpc.RpcError) as failure:
        call()
    assert failure.value.code() == code, failure.value.details()
    (info,) = details(failure.value, error_details_pb2.ErrorInfo)
    return info.reason


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    (bad_request,) = details(error, error_details_pb2.BadRequest)
    return {v.field: v.description for v in bad_request.field_violations}
