"""Composition root of the procedures service: the procedure catalog and the working-day
calendars."""

from __future__ import annotations

from motcua.kernel.agencies import agency_tree_consumer
from motcua.kernel.audit_api import AuditLog
from motcua.kernel.config import Settings
from motcua.kernel.grpc_server import serve
from motcua.kernel.relay import OutboxRelay
from motcua.kernel.runtime import Service
from motcua.procedures.v1 import (
    calendar_service_pb2,
    calendar_service_pb2_grpc,
    procedure_service_pb2,
    procedure_service_pb2_grpc,
)

from .api import ProcedureServicer
from .application import ProceduresApplication
from .calendar_api import CalendarServicer
from .calendar_application import CalendarsApplication
from .outbox import integration_event


def build(settings: Settings) -> Service:
    catalog = ProceduresApplication(settings)
    catalog.prepare()
    return Service(
        settings=settings,
        app=catalog,
        registrations=[
            serve(procedure_service_pb2, procedure_service_pb2_grpc, ProcedureServicer(catalog)),
            serve(
                calendar_service_pb2,
                calendar_service_pb2_grpc,
                CalendarServicer(CalendarsApplication(catalog, catalog.agency_tree)),
            ),
        ],
        relay=OutboxRelay(catalog, integration_event),
        # Identity's agency tree: administrators' grants reach the agencies below them.
        consumers=[agency_tree_consumer(catalog)],
        audit=AuditLog(catalog, catalog.agency_tree),
    )
