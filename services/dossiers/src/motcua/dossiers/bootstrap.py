"""Composition root of the dossiers service."""

from __future__ import annotations

from motcua.dossiers.v1 import dossier_service_pb2, dossier_service_pb2_grpc
from motcua.kernel.agencies import agency_tree_consumer
from motcua.kernel.config import Settings
from motcua.kernel.grpc_server import serve
from motcua.kernel.relay import OutboxRelay
from motcua.kernel.runtime import Service

from .api import DossierServicer
from .application import DossierOffice
from .config import DossiersConfig
from .consumers import procedure_catalog_consumer
from .deadline_watch import DeadlineWatch
from .events import integration_event
from .signing import ResultSigner


def build(settings: Settings) -> Service:
    config = DossiersConfig.from_env()
    office = DossierOffice(settings, config=config)
    servicer = DossierServicer(office, ResultSigner(config.signing_addr))
    return Service(
        settings=settings,
        app=office,
        registrations=[serve(dossier_service_pb2, dossier_service_pb2_grpc, servicer)],
        relay=OutboxRelay(office, integration_event),
        consumers=[procedure_catalog_consumer(office), agency_tree_consumer(office)],
        workers=[DeadlineWatch(office, config.watch_interval)],
    )
