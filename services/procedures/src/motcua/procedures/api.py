"""gRPC servicer: translates between protos and the application, nothing more."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from motcua.kernel.errors import FieldViolation, InvalidArgument
from motcua.kernel.field_masks import apply_mask, check_mask, is_partial
from motcua.procedures.v1 import procedure_service_pb2 as pb, procedure_service_pb2_grpc

from . import convert
from .application import ProceduresApplication
from .content import ProcedureContent
from .convert import procedure_proto
from .search import Filters
from .views import ProcedureView


def _within(prefix: str, error: InvalidArgument) -> InvalidArgument:
    """The same violations, named as fields of the request's ``prefix`` message."""
    return InvalidArgument(*(FieldViolation(f"{prefix}.{v.field}", v.description, v.reason) for v in error.violations))


# The fields of a Procedure an update changes (UpdateProcedureRequest.procedure); the code,
# ids, states, versions and times are the service's.
EDITABLE = frozenset({"name", "agency_id", "field", "level", "online_mode", "processing_time", "processing_days",
                      "fees", "required_documents", "steps", "result_type", "legal_basis", "supplement_rule"})


def _check_processing_time_given(message, prefix: str = "") -> None:
    if not message.HasField("processing_time") and not message.processing_days:
        raise InvalidArgument.field(f"{prefix}processing_days", "is required unless processing_time is given")


class _NamedInRequest(InvalidArgument):
    """Violations already named as fields of the request (update_mask, procedure.…)."""


def _edited_content(request: pb.UpdateProcedureRequest, current: ProcedureView) -> ProcedureContent:
    """The content an update asks for: the request's procedure, or, under a partial mask, the
    current one with the named fields taken from the request's."""
    edited = request.procedure
    if is_partial(request.update_mask):
        check_mask(request.update_mask, edited.DESCRIPTOR, editable=EDITABLE)
        edited = apply_mask(procedure_proto(current), request.procedure, request.update_mask)
        paths = set(request.update_mask.paths)
        if "processing_days" in paths and not any(p.split(".")[0] == "processing_time" for p in paths):
            # The days stand for the processing time only when that is unset (convert).
            edited.ClearField("processing_time")
    _check_processing_time_given(edited, "procedure.")
    return convert.content_from(edited)


class ProcedureServicer(procedure_service_pb2_grpc.ProcedureServiceServicer):
    def __init__(self, catalog: ProceduresApplication) -> None:
        self.catalog = catalog

    def CreateProcedure(self, request: pb.CreateProcedureRequest, context) -> pb.CreateProcedureResponse:
        _check_processing_time_given(request)
        view = self.catalog.create_procedure(request.code, convert.content_from(request))
        return pb.CreateProcedureResponse(procedure=procedure_proto(view))

    def GetProcedure(self, request: pb.GetProcedureRequest, context) -> pb.GetProcedureResponse:
        view = self.catalog.get_procedure(UUID(request.procedure_id), request.version_number)
        return pb.GetProcedureResponse(procedure=procedure_proto(view))

    def RenameProcedure(self, request: pb.RenameProcedureRequest, context) -> pb.RenameProcedureResponse:
        view = self.catalog.rename_procedure(UUID(request.procedure_id), request.name, request.expected_version)
        return pb.RenameProcedureResponse(procedure=procedure_proto(view))

    def PublishProcedure(self, request: pb.PublishProcedureRequest, context) -> pb.PublishProcedureResponse:
        view = self.catalog.publish_procedure(UUID(request.procedure_id), request.expected_version)
        return pb.PublishProcedureResponse(procedure=procedure_proto(view))

    def UpdateProcedure(self, request: pb.UpdateProcedureRequest, context) -> pb.UpdateProcedureResponse:
        def revised(current: ProcedureView) -> ProcedureContent:
            # Called by the application once the caller may edit the procedure (see
            # revise_procedure): the mask is checked and merged with the procedure only then.
            try:
                return _edited_content(request, current)
            except InvalidArgument as e:
                raise _NamedInRequest(*e.violations) from None

        try:
            view = self.catalog.revise_procedure(UUID(request.procedure_id), revised, request.expected_version)
        except _NamedInRequest:
            raise
        except InvalidArgument as e:
            raise _within("procedure", e) from None
        return pb.UpdateProcedureResponse(procedure=procedure_proto(view))

    def DraftProcedureVersion(
        self, request: pb.DraftProcedureVersionRequest, context
    ) -> pb.DraftProcedureVersionResponse:
        view = self.catalog.draft_procedure_version(UUID(request.procedure_id), request.expected_version)
        return pb.DraftProcedureVersionResponse(procedure=procedure_proto(view))

    def WithdrawProcedure(self, request: pb.WithdrawProcedureRequest, context) -> pb.WithdrawProcedureResponse:
        view = self.catalog.withdraw_procedure(UUID(request.procedure_id), request.expected_version)
        return pb.WithdrawProcedureResponse(procedure=procedure_proto(view))

    def GetProcedureInForce(self, request: pb.GetProcedureInForceRequest, context) -> pb.GetProcedureInForceResponse:
        moment = request.at.ToDatetime(tzinfo=UTC) if request.HasField("at") else datetime.now(UTC)
        return pb.GetProcedureInForceResponse(
            procedure=procedure_proto(self.catalog.procedure_in_force(request.code, moment))
        )

    def ListProcedures(self, request: pb.ListProceduresRequest, context) -> pb.ListProceduresResponse:
        filters = Filters(
            agency_id=request.agency_id,
            field=request.field,
            level=convert.LEVEL_NAMES[request.level],
            online_mode=convert.ONLINE_MODE_NAMES[request.online_mode],
            state=convert.STATE_NAMES.get(request.state, ""),
            code=request.code,
            query=request.query,
        )
        page = self.catalog.list_procedures(filters, request.page_size, request.page_token)
        return pb.ListProceduresResponse(
            procedures=[procedure_proto(v) for v in page.procedures], next_page_token=page.next_page_token
        )
