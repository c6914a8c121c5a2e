"""Composition root of the dossiers service."""

from __future__ import annotations

from motcua.dossiers.v1 import dossier_service_pb2, dossier_service_pb2_grpc
from motcua.kernel.config import Settings
from motcua.kernel.grpc_server import serve
from motcua.kernel.relay import OutboxRelay
from motcua.kernel.runtime import Service

from .api import DossierServicer
from .application import DossierOffice
from .consumers import procedure_catalog_consumer
from .events import integration_event


def build(settings: Settings) -> Service:
    office = DossierOffice(settings)
    return Service(
        settings=settings,
        app=office,
        registrations=[serve(dossier_service_pb2, dossier_service_pb2_grpc, DossierServicer(office))],
        relay=OutboxRelay(office, integration_event),
        consumers=[procedure_catalog_consumer(office)],
    )
