"""gRPC servicer: translates between protos and the application, nothing more."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from google.protobuf import timestamp_pb2

from google.type import dayofweek_pb2

from motcua.dossiers.v1 import calendar_replica_pb2, dossier_pb2, dossier_service_pb2 as pb, dossier_service_pb2_grpc, procedure_replica_pb2
from motcua.procedures.v1 import calendar_pb2

from . import enums
from .application import DossierOffice, DossierView, ProcedureReplicaView, Submission
from .calendar_copies import CalendarCopies, CalendarReplicaView
from .domain import Applicant, Document


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


def timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


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
    )


def submission_of(request: pb.SubmitDossierRequest) -> Submission:
    applicant = request.applicant
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
        request_id=request.request_id,
    )


class DossierServicer(dossier_service_pb2_grpc.DossierServiceServicer):
    def __init__(self, office: DossierOffice) -> None:
        self.office = office
        self.calendars = CalendarCopies(office)

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
