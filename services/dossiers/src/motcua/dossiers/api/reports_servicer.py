"""The register's RPCs (lists, work queues, the status lookup, statistics), the forms and
the attachments: protos to application calls and back, nothing more."""

from __future__ import annotations

from datetime import timezone
from uuid import UUID

import grpc

from motcua.dossiers.v1 import dossier_pb2, dossier_service_pb2 as pb, reports_pb2
from motcua.kernel.client_address import current_client_address

from motcua.dossiers.api import convert as enums
from motcua.dossiers.adapters.register_queries import Filters
from motcua.dossiers.application.register_reads import AGENCY, COMING_DUE, MINE, OVERDUE, UNIT, LookupsExhausted, Statistics

STATE_OF = {number: word for word, number in enums.STATES.items()}
SCOPES = {pb.WORK_QUEUE_SCOPE_MINE: MINE, pb.WORK_QUEUE_SCOPE_UNIT: UNIT, pb.WORK_QUEUE_SCOPE_AGENCY: AGENCY}
DEADLINES = {pb.DEADLINE_FILTER_COMING_DUE: COMING_DUE, pb.DEADLINE_FILTER_OVERDUE: OVERDUE}
FORMS = {
    reports_pb2.DOSSIER_FORM_RECEIPT: "receipt", reports_pb2.DOSSIER_FORM_SUPPLEMENT_REQUEST: "supplement_request",
    reports_pb2.DOSSIER_FORM_REFUSAL: "refusal", reports_pb2.DOSSIER_FORM_APOLOGY: "apology",
    reports_pb2.DOSSIER_FORM_CONTROL_SLIP: "control_slip",
}


def _ts(moment):
    from motcua.kernel.timestamps import timestamp

    return timestamp(moment)


def _time(request, field: str):
    return getattr(request, field).ToDatetime(tzinfo=timezone.utc) if request.HasField(field) else None


def row_to_proto(row: dict) -> dossier_pb2.Dossier:
    """A register row as a Dossier: no documents, payments, hand-overs or attachments."""
    return dossier_pb2.Dossier(
        dossier_id=str(row["dossier_id"]), code=row["code"], procedure_id=str(row["procedure_id"]),
        procedure_version=row["procedure_version"], agency_id=row["agency_id"],
        applicant=dossier_pb2.Applicant(kind=enums.APPLICANT_KINDS.get(row["applicant_kind"], 0),
                                        account_id=row["applicant_account_id"], full_name=row["applicant_name"]),
        channel=enums.CHANNELS.get(row["channel"], 0), result_delivery=enums.DELIVERY_METHODS.get(row["result_delivery"], 0),
        state=enums.STATES[row["state"]], submit_time=_ts(row["submitted_at"]), receive_time=_ts(row["received_at"]),
        appointed_return_time=_ts(row["appointed_at"]), version=row["version"],
        processing=dossier_pb2.ProcessingStatus(
            due_time=_ts(row["due_at"]), coming_due_time=_ts(row["coming_due_at"]), step_index=row["step_index"],
            assignee=row["assignee"], handling_agency_id=row["handling_agency_id"], handling_unit=row["handling_unit"],
            finish_time=_ts(row["finished_at"]), return_time=_ts(row["returned_at"]),
            outcome=enums.OUTCOMES.get(row["outcome"], 0), rating=row["rating"] or 0,
        ),
    )


def statistics_to_proto(line: Statistics, procedure_id: str = "") -> reports_pb2.DossierStatistics:
    return reports_pb2.DossierStatistics(
        procedure_id=procedure_id, received=line.received, received_online=line.received_online,
        received_at_desk=line.received_at_desk, received_by_post=line.received_by_post, in_process=line.in_process,
        finished_early=line.finished_early, finished_on_time=line.finished_on_time, finished_late=line.finished_late,
        supplement_requests=line.supplement_requests, refused=line.refused, withdrawn=line.withdrawn,
        online_share=line.online_share, average_processing_working_days=line.average_processing_working_days,
        average_rating=line.average_rating, ratings=line.ratings,
    )


class ReportsServicer:
    """Mixed into ``DossierServicer`` (``office``, ``dossier_to_proto``)."""

    office: object

    def ListDossiers(self, request, context):
        filters = Filters(
            agency_id=request.agency_id, procedure_id=UUID(request.procedure_id) if request.procedure_id else None,
            state=STATE_OF.get(request.state, ""), query=request.query,
            received_after=_time(request, "received_after"), received_before=_time(request, "received_before"),
        )
        rows, token = self.office.list_dossiers(filters, request.page_size, request.page_token)
        return pb.ListDossiersResponse(dossiers=[row_to_proto(r) for r in rows], next_page_token=token)

    def ListWorkQueue(self, request, context):
        rows, token = self.office.work_queue(SCOPES[request.scope], request.unit, STATE_OF.get(request.state, ""),
                                             DEADLINES.get(request.deadline, ""), request.page_size, request.page_token)
        return pb.ListWorkQueueResponse(dossiers=[row_to_proto(r) for r in rows], next_page_token=token)

    def LookUpDossierStatus(self, request, context):
        try:
            row = self.office.look_up_status(request.code, request.phone, current_client_address())
        except LookupsExhausted:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many status lookups from this address; try again in a minute")
        return pb.LookUpDossierStatusResponse(status=reports_pb2.DossierStatus(
            code=row["code"], state=enums.STATES[row["state"]], submit_time=_ts(row["submitted_at"]),
            receive_time=_ts(row["received_at"]), appointed_return_time=_ts(row["appointed_at"]),
            finish_time=_ts(row["finished_at"]), return_time=_ts(row["returned_at"]),
        ))

    def GetDossierStatistics(self, request, context):
        procedure_id = UUID(request.procedure_id) if request.procedure_id else None
        total, lines = self.office.statistics(request.agency_id, procedure_id, request.start_date, request.end_date)
        return pb.GetDossierStatisticsResponse(total=statistics_to_proto(total),
                                               procedures=[statistics_to_proto(x, x.procedure_id) for x in lines])

    def RenderDossierForm(self, request, context):
        pdf, name = self.office.render_form(UUID(request.dossier_id), FORMS[request.form])
        return pb.RenderDossierFormResponse(pdf=pdf, file_name=name)

    def RenderTrackingBook(self, request, context):
        pdf, entries = self.office.render_tracking_book(request.agency_id, request.start_date, request.end_date)
        return pb.RenderTrackingBookResponse(pdf=pdf, entries=entries)

    def AddAttachment(self, request, context):
        view = self.office.add_attachment(UUID(request.dossier_id), request.name, request.content, request.content_type)
        return pb.AddAttachmentResponse(dossier=self.dossier_to_proto(view))

    def AttachIssuedResult(self, request, context):
        view = self.office.attach_issued_result(UUID(request.dossier_id), request.name, UUID(request.source_dossier_id),
                                                request.sha256)
        return pb.AttachIssuedResultResponse(dossier=self.dossier_to_proto(view))
