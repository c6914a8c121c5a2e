"""Composition root of the dossiers service."""

from __future__ import annotations

from motcua.dossiers.adapters.personal_data_holders import PersonalDataHolders
from motcua.dossiers.adapters.signing_client import ResultSigner
from motcua.dossiers.api.dossier_servicer import DossierServicer
from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.config import DossiersConfig
from motcua.dossiers.consumers import procedure_catalog_consumer
from motcua.dossiers.outbox import integration_event
from motcua.dossiers.v1 import dossier_service_pb2, dossier_service_pb2_grpc
from motcua.dossiers.workers.deadline_watch import DeadlineWatch
from motcua.kernel.agencies import agency_tree_consumer
from motcua.kernel.audit_api import AuditLog
from motcua.kernel.config import Settings
from motcua.kernel.grpc_server import serve
from motcua.kernel.relay import OutboxRelay
from motcua.kernel.runtime import Service


def build(settings: Settings) -> Service:
    config = DossiersConfig.from_env()
    app = DossiersApplication(settings, config=config, signer=ResultSigner(config.signing_addr),
                              holders=PersonalDataHolders(config.identity_addr, config.notifications_addr))
    servicer = DossierServicer(app)
    return Service(
        settings=settings,
        app=app,
        registrations=[serve(dossier_service_pb2, dossier_service_pb2_grpc, servicer)],
        relay=OutboxRelay(app, integration_event),
        consumers=[procedure_catalog_consumer(app), agency_tree_consumer(app)],
        workers=[DeadlineWatch(app, config.watch_interval)],
        audit=AuditLog(app, app.agency_tree, aggregate_of_code=app.register.dossier_id_of),
    )
