"""gRPC servicer: translates between protos and the application, nothing more."""

from __future__ import annotations

from uuid import UUID

from motcua.procedures.v1 import procedure_pb2, procedure_service_pb2 as pb, procedure_service_pb2_grpc

from . import domain
from .application import ProcedureCatalog, ProcedureView

_STATES = {
    domain.DRAFT: procedure_pb2.PROCEDURE_STATE_DRAFT,
    domain.PUBLISHED: procedure_pb2.PROCEDURE_STATE_PUBLISHED,
    domain.SUPERSEDED: procedure_pb2.PROCEDURE_STATE_SUPERSEDED,
    domain.WITHDRAWN: procedure_pb2.PROCEDURE_STATE_WITHDRAWN,
}


def to_proto(view: ProcedureView) -> procedure_pb2.Procedure:
    return procedure_pb2.Procedure(
        procedure_id=str(view.procedure_id),
        code=view.code,
        name=view.name,
        agency_id=view.agency_id,
        processing_days=view.processing_days,
        state=_STATES[view.state],
        version=view.version,
    )


class ProcedureServicer(procedure_service_pb2_grpc.ProcedureServiceServicer):
    def __init__(self, catalog: ProcedureCatalog) -> None:
        self.catalog = catalog

    def CreateProcedure(self, request: pb.CreateProcedureRequest, context) -> pb.CreateProcedureResponse:
        view = self.catalog.create_procedure(request.code, request.name, request.agency_id, request.processing_days)
        return pb.CreateProcedureResponse(procedure=to_proto(view))

    def GetProcedure(self, request: pb.GetProcedureRequest, context) -> pb.GetProcedureResponse:
        return pb.GetProcedureResponse(procedure=to_proto(self.catalog.get_procedure(UUID(request.procedure_id))))

    def RenameProcedure(self, request: pb.RenameProcedureRequest, context) -> pb.RenameProcedureResponse:
        view = self.catalog.rename_procedure(UUID(request.procedure_id), request.name, request.expected_version)
        return pb.RenameProcedureResponse(procedure=to_proto(view))

    def PublishProcedure(self, request: pb.PublishProcedureRequest, context) -> pb.PublishProcedureResponse:
        view = self.catalog.publish_procedure(UUID(request.procedure_id), request.expected_version)
        return pb.PublishProcedureResponse(procedure=to_proto(view))
