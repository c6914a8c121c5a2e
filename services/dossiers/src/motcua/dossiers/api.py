"""gRPC servicer: translates between protos and the application, nothing more."""

from __future__ import annotations

from uuid import UUID

from motcua.dossiers.v1 import dossier_service_pb2 as pb, dossier_service_pb2_grpc, procedure_replica_pb2

from .application import DossierOffice, ProcedureReplicaView


def replica_to_proto(view: ProcedureReplicaView) -> procedure_replica_pb2.ProcedureReplica:
    return procedure_replica_pb2.ProcedureReplica(
        procedure_id=str(view.procedure_id),
        code=view.code,
        name=view.name,
        agency_id=view.agency_id,
        processing_days=view.processing_days,
        procedure_version=view.procedure_version,
    )


class DossierServicer(dossier_service_pb2_grpc.DossierServiceServicer):
    """Dossier RPCs not listed here answer UNIMPLEMENTED until the dossier life cycle lands."""

    def __init__(self, office: DossierOffice) -> None:
        self.office = office

    def GetProcedureReplica(self, request: pb.GetProcedureReplicaRequest, context) -> pb.GetProcedureReplicaResponse:
        view = self.office.get_procedure_replica(UUID(request.procedure_id))
        return pb.GetProcedureReplicaResponse(procedure=replica_to_proto(view))
