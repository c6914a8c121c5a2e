"""gRPC servicer of DossierService: translates between protos and the application, nothing more."""

from __future__ import annotations

from datetime import UTC
from uuid import UUID

from motcua.dossiers import convert
from motcua.dossiers.api.lifecycle_servicer import LifecycleServicer, _authorization
from motcua.dossiers.api.reports_servicer import ReportsServicer
from motcua.dossiers.application import subject_access
from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.v1 import dossier_service_pb2 as pb, dossier_service_pb2_grpc


class DossierServicer(LifecycleServicer, ReportsServicer, dossier_service_pb2_grpc.DossierServiceServicer):
    def __init__(self, app: DossiersApplication) -> None:
        self.app = app

    def SubmitDossier(self, request: pb.SubmitDossierRequest, context) -> pb.SubmitDossierResponse:
        view = self.app.submit_dossier(convert.submission_of(request))
        return pb.SubmitDossierResponse(dossier=convert.dossier_to_proto(view))

    def GetDossier(self, request: pb.GetDossierRequest, context) -> pb.GetDossierResponse:
        return pb.GetDossierResponse(dossier=convert.dossier_to_proto(self.app.get_dossier(UUID(request.dossier_id))))

    def ReceiveDossier(self, request: pb.ReceiveDossierRequest, context) -> pb.ReceiveDossierResponse:
        view = self.app.receive_dossier(UUID(request.dossier_id), request.expected_version, request.note)
        return pb.ReceiveDossierResponse(dossier=convert.dossier_to_proto(view))

    def GetProcedureReplica(self, request: pb.GetProcedureReplicaRequest, context) -> pb.GetProcedureReplicaResponse:
        at = request.at.ToDatetime(tzinfo=UTC) if request.HasField("at") else None
        view = self.app.get_procedure_replica(UUID(request.procedure_id), at)
        return pb.GetProcedureReplicaResponse(procedure=convert.replica_to_proto(view))

    def GetCalendarReplica(self, request: pb.GetCalendarReplicaRequest, context) -> pb.GetCalendarReplicaResponse:
        view = self.app.get_calendar_replica(request.agency_id, request.year, request.calendar_version)
        return pb.GetCalendarReplicaResponse(calendar=convert.calendar_replica_to_proto(view))

    def EraseSubject(self, request: pb.EraseSubjectRequest, context) -> pb.EraseSubjectResponse:
        if request.WhichOneof("subject") == "account_id":
            view = self.app.erase_account(request.account_id, request.reason, _authorization(context))
        else:
            person = request.person
            view = self.app.erase_person(convert.APPLICANT_KIND_OF[person.kind], person.identity_number,
                                         request.reason)
        response = pb.EraseSubjectResponse(dossiers=view.dossiers)
        response.erased_at.FromDatetime(view.erased_at)
        return response


    def ExportSubjectData(self, request: pb.ExportSubjectDataRequest, context) -> pb.ExportSubjectDataResponse:
        data_format = subject_access.PDF if request.format == pb.SUBJECT_DATA_FORMAT_PDF else subject_access.JSON
        if request.WhichOneof("subject") == "account_id":
            export = self.app.export_account(request.account_id, data_format, _authorization(context))
        else:
            person = request.person
            export = self.app.export_person(convert.APPLICANT_KIND_OF[person.kind], person.identity_number,
                                            data_format, _authorization(context))
        response = pb.ExportSubjectDataResponse(
            document=self.app.as_json(export), pdf=export.pdf, dossiers=len(export.document["dossiers"]),
            file_name=f"du-lieu-ca-nhan-{export.exported_at:%Y%m%d%H%M%S}.pdf" if export.pdf else "")
        response.export_time.FromDatetime(export.exported_at)
        return response

    def CorrectApplicantDetails(self, request: pb.CorrectApplicantDetailsRequest,
                                context) -> pb.CorrectApplicantDetailsResponse:
        corrections = {name: getattr(request, name) for name in subject_access.CORRECTABLE
                       if request.HasField(name)}  # type: ignore[arg-type]
        correction = self.app.correct_applicant_details(UUID(request.dossier_id), corrections, request.reason,
                                                        request.expected_version)
        return pb.CorrectApplicantDetailsResponse(dossier=convert.dossier_to_proto(correction.dossier),
                                                  corrected_fields=correction.corrected_fields)
