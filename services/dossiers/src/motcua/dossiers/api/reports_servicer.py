"""The register's RPCs (lists, work queues, the status lookup, statistics), the forms and
the attachments: protos to application calls and back, nothing more."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from motcua.dossiers import convert
from motcua.dossiers.api.lifecycle_servicer import _authorization
from motcua.dossiers.application.register_reads import Filters
from motcua.dossiers.v1 import dossier_service_pb2 as pb, reports_pb2
from motcua.kernel.client_address import current_client_address


class ReportsServicer:
    """Mixed into ``DossierServicer`` (``app``)."""

    app: Any

    def ListDossiers(self, request, context):
        filters = Filters(
            agency_id=request.agency_id,
            procedure_id=UUID(request.procedure_id) if request.procedure_id else None,
            state=convert.STATE_OF.get(request.state, ""),
            query=request.query,
            received_after=convert.optional_time(request, "received_after"),
            received_before=convert.optional_time(request, "received_before"),
        )
        rows, token = self.app.list_dossiers(filters, request.page_size, request.page_token)
        return pb.ListDossiersResponse(dossiers=[convert.row_to_proto(r) for r in rows], next_page_token=token)

    def ListWorkQueue(self, request, context):
        rows, token = self.app.work_queue(
            convert.SCOPES[request.scope],
            request.unit,
            convert.STATE_OF.get(request.state, ""),
            convert.DEADLINES.get(request.deadline, ""),
            request.page_size,
            request.page_token,
        )
        return pb.ListWorkQueueResponse(dossiers=[convert.row_to_proto(r) for r in rows], next_page_token=token)

    def LookUpDossierStatus(self, request, context):
        row = self.app.look_up_status(request.code, request.phone, current_client_address())
        return pb.LookUpDossierStatusResponse(
            status=reports_pb2.DossierStatus(
                code=row["code"],
                state=convert.STATES[row["state"]],
                submit_time=convert.timestamp(row["submitted_at"]),
                receive_time=convert.timestamp(row["received_at"]),
                appointed_return_time=convert.timestamp(row["appointed_at"]),
                finish_time=convert.timestamp(row["finished_at"]),
                return_time=convert.timestamp(row["returned_at"]),
            )
        )

    def GetDossierStatistics(self, request, context):
        procedure_id = UUID(request.procedure_id) if request.procedure_id else None
        total, lines = self.app.statistics(request.agency_id, procedure_id, request.start_date, request.end_date)
        return pb.GetDossierStatisticsResponse(
            total=convert.statistics_to_proto(total),
            procedures=[convert.statistics_to_proto(x, x.procedure_id) for x in lines],
        )

    def RenderDossierForm(self, request, context):
        pdf, name = self.app.render_form(UUID(request.dossier_id), convert.FORMS[request.form], request.seal,
                                         _authorization(context))
        return pb.RenderDossierFormResponse(pdf=pdf, file_name=name)

    def RenderTrackingBook(self, request, context):
        pdf, entries = self.app.render_tracking_book(request.agency_id, request.start_date, request.end_date,
                                                     request.seal, _authorization(context))
        return pb.RenderTrackingBookResponse(pdf=pdf, entries=entries)

    def AddAttachment(self, request, context):
        view = self.app.add_attachment(UUID(request.dossier_id), request.name, request.content, request.content_type)
        return pb.AddAttachmentResponse(dossier=convert.dossier_to_proto(view))

    def AttachIssuedResult(self, request, context):
        view = self.app.attach_issued_result(UUID(request.dossier_id), request.name, UUID(request.source_dossier_id),
                                                request.sha256)
        return pb.AttachIssuedResultResponse(dossier=convert.dossier_to_proto(view))
