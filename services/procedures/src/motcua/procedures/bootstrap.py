"""Composition root of the procedures service."""

from __future__ import annotations

from motcua.kernel.config import Settings
from motcua.kernel.grpc_server import serve
from motcua.kernel.relay import OutboxRelay
from motcua.kernel.runtime import Service
from motcua.procedures.v1 import procedure_service_pb2, procedure_service_pb2_grpc

from .api import ProcedureServicer
from .application import ProcedureCatalog
from .events import integration_event


def build(settings: Settings) -> Service:
    catalog = ProcedureCatalog(settings)
    catalog.prepare()
    return Service(
        settings=settings,
        app=catalog,
        registrations=[serve(procedure_service_pb2, procedure_service_pb2_grpc, ProcedureServicer(catalog))],
        relay=OutboxRelay(catalog, integration_event),
    )
