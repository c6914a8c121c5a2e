"""gRPC servicer: translates between protos and the application, nothing more."""

from __future__ import annotations

from datetime import timezone
from uuid import UUID


from google.type import dayofweek_pb2

from motcua.dossiers.v1 import calendar_replica_pb2, dossier_pb2, dossier_service_pb2 as pb, dossier_service_pb2_grpc, procedure_replica_pb2
from motcua.procedures.v1 import calendar_pb2
from motcua.kernel.timestamps import timestamp

from motcua.dossiers.api import convert as enums
from motcua.dossiers.application.dossiers_application import DossierOffice, DossierView, ProcedureReplicaView, Submission
from motcua.dossiers.adapters.calendar_copies import CalendarCopies, CalendarReplicaView
from motcua.dossiers.domain.values import Applicant, Document
from motcua.dossiers.api.lifecycle_servicer import LifecycleServicer
from motcua.dossiers.api.reports_servicer import ReportsServicer
from motcua.dossiers.adapters.signing_client import ResultSigner


def replica_to_proto(view: ProcedureReplicaView) -> procedure_replica_pb2.ProcedureReplica:
    return procedure_replica_pb2.ProcedureReplica(
        procedure_id=str(view.procedure_id),
        code=view.code,
        name=view.name,
        agency_id=view.agency_id,
        processing_days=view.processing_days,
        procedure_version=view.procedure_version,
        version_number=view.version_number,
        effective_from=timestamp(view.effective_from),
        effective_until=timestamp(view.effective_until),
    )


def calendar_replica_to_proto(view: CalendarReplicaView) -> calendar_replica_pb2.CalendarReplica:
    content = view.content
    return calendar_replica_pb2.CalendarReplica(
        calendar_id=str(view.calendar_id),
        agency_id=view.agency_id,
        year=view.year,
        calendar_version=view.calendar_version,
        timezone=content["timezone"],
        weekend=[dayofweek_pb2.DayOfWeek.Value(name.upper()) for name in content["weekend"]],
        working_hours=[calendar_pb2.WorkingPeriod(**p) for p in content["working_hours"]],
        reception_cutoff=content["reception_cutoff"],
        holidays=[calendar_pb2.CalendarDay(**d) for d in content["holidays"]],
        makeup_working_days=[calendar_pb2.CalendarDay(**d) for d in content["makeup_working_days"]],
    )


def dossier_to_proto(view: DossierView) -> dossier_pb2.Dossier:
    applicant = view.applicant
    return dossier_pb2.Dossier(
        dossier_id=str(view.dossier_id),
        code=view.code,
        procedure_id=str(view.procedure_id),
        procedure_version=view.procedure_version,
        agency_id=view.agency_id,
        applicant=dossier_pb2.Applicant(
            kind=enums.APPLICANT_KINDS[applicant.kind],
            account_id=applicant.account_id,
            full_name=applicant.full_name,
            identity_number=applicant.identity_number,
            phone=applicant.phone,
            email=applicant.email,
            address=applicant.address,
        ),
        channel=enums.CHANNELS[view.channel],
        result_delivery=enums.DELIVERY_METHODS[view.result_delivery],
        documents=[dossier_pb2.DossierDocument(name=d.name, originals=d.originals, copies=d.copies) for d in view.documents],
        state=enums.STATES[view.state],
        submit_time=timestamp(view.submitted_at),
        receive_time=timestamp(view.received_at),
        appointed_return_time=timestamp(view.appointed_return_at),
        version=view.version,
        processing=processing_to_proto(view.processing) if view.processing else None,
        attachments=[dossier_pb2.Attachment(
            name=a["name"], content_type=a["content_type"], size_bytes=a["size_bytes"], sha256=a["sha256"],
            attach_time=timestamp(a["at"]), source_dossier_id=a["source_dossier_id"],
        ) for a in view.attachments],
    )


def processing_to_proto(p: dict) -> dossier_pb2.ProcessingStatus:
    return dossier_pb2.ProcessingStatus(
        due_time=timestamp(p["due_at"]), coming_due_time=timestamp(p["coming_due_at"]),
        clock_start_time=timestamp(p["clock_started_at"]), paused=p["paused"], step_index=p["step_index"],
        step_name=p["step_name"], step_due_times=[timestamp(t) for t in p["step_due_at"]], assignee=p["assignee"],
        handling_agency_id=p["handling_agency_id"], handling_unit=p["handling_unit"],
        handovers=[dossier_pb2.Handover(
            kind=h["kind"], time=timestamp(h["at"]), by=h["by"], from_agency_id=h["from_agency_id"], from_unit=h["from_unit"],
            to_agency_id=h["to_agency_id"], to_unit=h["to_unit"], to_user=h["to_user"], step_index=h["step_index"], note=h["note"],
        ) for h in p["handovers"]],
        fee_total_vnd=p["fee_total_vnd"],
        payments=[dossier_pb2.Payment(idempotency_key=x["idempotency_key"], amount_vnd=x["amount_vnd"], method=x["method"],
                                      reference=x["reference"], pay_time=timestamp(x["paid_at"])) for x in p["payments"]],
        signed_document_id=p["signed_document_id"], signed_document_sha256=p["signed_document_sha256"],
        finish_time=timestamp(p["finished_at"]), return_time=timestamp(p["returned_at"]),
        outcome=enums.OUTCOMES.get(p["outcome"], dossier_pb2.DOSSIER_OUTCOME_UNSPECIFIED), rating=p["rating"],
        rating_comment=p["rating_comment"], closing_reason=p["closing_reason"],
        supplement_items=[dossier_pb2.SupplementItem(document=i["document"], problem=i["problem"]) for i in p["supplement_items"]],
    )


def submission_of(request: pb.SubmitDossierRequest | pb.CreateDossierDraftRequest) -> Submission:
    applicant = request.applicant
    # A draft is created without an idempotency key: its request has no request_id field, and
    # reading one off it raised (INTERNAL on every CreateDossierDraft).
    request_id = request.request_id if "request_id" in request.DESCRIPTOR.fields_by_name else ""
    return Submission(
        procedure_id=UUID(request.procedure_id),
        agency_id=request.agency_id,
        applicant=Applicant(
            kind=enums.APPLICANT_KIND_OF.get(applicant.kind, ""),
            full_name=applicant.full_name,
            identity_number=applicant.identity_number,
            account_id=applicant.account_id,
            phone=applicant.phone,
            email=applicant.email,
            address=applicant.address,
        ),
        channel=enums.CHANNEL_OF.get(request.channel, ""),
        result_delivery=enums.DELIVERY_METHOD_OF.get(request.result_delivery, ""),
        documents=tuple(Document(name=d.name, originals=d.originals, copies=d.copies) for d in request.documents),
        request_id=request_id,
    )


class DossierServicer(LifecycleServicer, ReportsServicer, dossier_service_pb2_grpc.DossierServiceServicer):
    def __init__(self, office: DossierOffice, signer: ResultSigner | None = None) -> None:
        self.office = office
        self.calendars = CalendarCopies(office)
        self.signer = signer or ResultSigner("")

    @staticmethod
    def dossier_to_proto(view: DossierView) -> dossier_pb2.Dossier:
        return dossier_to_proto(view)

    def SubmitDossier(self, request: pb.SubmitDossierRequest, context) -> pb.SubmitDossierResponse:
        view = self.office.submit_dossier(submission_of(request))
        return pb.SubmitDossierResponse(dossier=dossier_to_proto(view))

    def GetDossier(self, request: pb.GetDossierRequest, context) -> pb.GetDossierResponse:
        return pb.GetDossierResponse(dossier=dossier_to_proto(self.office.get_dossier(UUID(request.dossier_id))))

    def ReceiveDossier(self, request: pb.ReceiveDossierRequest, context) -> pb.ReceiveDossierResponse:
        view = self.office.receive_dossier(UUID(request.dossier_id), request.expected_version, request.note)
        return pb.ReceiveDossierResponse(dossier=dossier_to_proto(view))

    def GetProcedureReplica(self, request: pb.GetProcedureReplicaRequest, context) -> pb.GetProcedureReplicaResponse:
        at = request.at.ToDatetime(tzinfo=timezone.utc) if request.HasField("at") else None
        view = self.office.get_procedure_replica(UUID(request.procedure_id), at)
        return pb.GetProcedureReplicaResponse(procedure=replica_to_proto(view))

    def GetCalendarReplica(self, request: pb.GetCalendarReplicaRequest, context) -> pb.GetCalendarReplicaResponse:
        view = self.calendars.get_calendar_replica(request.agency_id, request.year, request.calendar_version)
        return pb.GetCalendarReplicaResponse(calendar=calendar_replica_to_proto(view))
