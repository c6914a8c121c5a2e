"""The life-cycle RPCs of DossierService: protos to application calls and back, nothing more."""

from __future__ import annotations

from datetime import timezone
from uuid import UUID

from google.protobuf import timestamp_pb2

from motcua.dossiers.v1 import dossier_service_pb2 as pb

from motcua.dossiers.api import convert as enums
from motcua.dossiers.adapters.signing_client import ResultSigner


def _time(stamp: timestamp_pb2.Timestamp):
    return stamp.ToDatetime(tzinfo=timezone.utc)


def _documents(request) -> list[dict]:
    return [{"name": d.name, "originals": d.originals, "copies": d.copies} for d in request.documents]


def _authorization(context) -> str:
    return next((value for key, value in context.invocation_metadata() if key == "authorization"), "")


class LifecycleServicer:
    """Mixed into ``DossierServicer`` (which has ``office``, ``signer`` and ``dossier_to_proto``)."""

    office: object
    signer: ResultSigner

    def CreateDossierDraft(self, request, context):
        from motcua.dossiers.api.dossier_servicer import submission_of

        return pb.CreateDossierDraftResponse(dossier=self.dossier_to_proto(self.office.create_draft(submission_of(request))))

    def SubmitDossierDraft(self, request, context):
        view = self.office.submit_draft(UUID(request.dossier_id), request.expected_version)
        return pb.SubmitDossierDraftResponse(dossier=self.dossier_to_proto(view))

    def RequestSupplement(self, request, context):
        items = [{"document": i.document, "problem": i.problem} for i in request.items]
        view = self.office.request_supplement(UUID(request.dossier_id), request.expected_version, items, request.note)
        return pb.RequestSupplementResponse(dossier=self.dossier_to_proto(view))

    def SupplementDossier(self, request, context):
        view = self.office.supplement_dossier(UUID(request.dossier_id), request.expected_version, _documents(request), request.note)
        return pb.SupplementDossierResponse(dossier=self.dossier_to_proto(view))

    def RefuseDossier(self, request, context):
        view = self.office.refuse_dossier(UUID(request.dossier_id), request.expected_version, request.reason)
        return pb.RefuseDossierResponse(dossier=self.dossier_to_proto(view))

    def AssignDossier(self, request, context):
        view = self.office.assign_dossier(UUID(request.dossier_id), request.expected_version, request.assignee, request.unit)
        return pb.AssignDossierResponse(dossier=self.dossier_to_proto(view))

    def ClaimDossier(self, request, context):
        view = self.office.claim_dossier(UUID(request.dossier_id), request.expected_version, request.unit)
        return pb.ClaimDossierResponse(dossier=self.dossier_to_proto(view))

    def CompleteStep(self, request, context):
        view = self.office.complete_step(UUID(request.dossier_id), request.expected_version, request.note, request.next_assignee)
        return pb.CompleteStepResponse(dossier=self.dossier_to_proto(view))

    def TransferDossier(self, request, context):
        view = self.office.transfer_dossier(UUID(request.dossier_id), request.expected_version, request.to_agency_id,
                                            request.to_unit, request.reason)
        return pb.TransferDossierResponse(dossier=self.dossier_to_proto(view))

    def IssueApology(self, request, context):
        view = self.office.issue_apology(UUID(request.dossier_id), request.expected_version, request.reason,
                                         _time(request.new_appointment_time))
        return pb.IssueApologyResponse(dossier=self.dossier_to_proto(view))

    def MarkResultReady(self, request, context):
        authorization = _authorization(context)

        def sign(dossier) -> dict:
            reason = f"Kết quả giải quyết hồ sơ {dossier.code}" + (f": {request.result_name}" if request.result_name else "")
            # request.key_id is not passed on: the dossier's agency's seal signs, whatever the caller names.
            signed = self.signer.sign(request.result_document, reason, dossier.handling_agency_id, dossier.handling_agency_id,
                                      str(dossier.id), dossier.code, authorization)
            return {**signed, "name": request.result_name}

        view = self.office.mark_result_ready(UUID(request.dossier_id), request.expected_version, sign)
        return pb.MarkResultReadyResponse(dossier=self.dossier_to_proto(view))

    def RecordPayment(self, request, context):
        paid_at = _time(request.pay_time) if request.HasField("pay_time") else None
        view = self.office.record_payment(UUID(request.dossier_id), request.idempotency_key, request.amount_vnd, request.method,
                                          request.reference, paid_at)
        return pb.RecordPaymentResponse(dossier=self.dossier_to_proto(view))

    def ReturnResult(self, request, context):
        method = enums.DELIVERY_METHOD_OF.get(request.method, "") if request.method else ""
        view = self.office.return_result(UUID(request.dossier_id), request.expected_version, method)
        return pb.ReturnResultResponse(dossier=self.dossier_to_proto(view))

    def WithdrawDossier(self, request, context):
        view = self.office.withdraw_dossier(UUID(request.dossier_id), request.expected_version, request.reason)
        return pb.WithdrawDossierResponse(dossier=self.dossier_to_proto(view))

    def RateDossier(self, request, context):
        view = self.office.rate_dossier(UUID(request.dossier_id), request.score, request.comment)
        return pb.RateDossierResponse(dossier=self.dossier_to_proto(view))

    def ExplainDueDate(self, request, context):
        count_from, explanation = self.office.explain_due_date(UUID(request.dossier_id))
        from motcua.kernel.timestamps import timestamp

        return pb.ExplainDueDateResponse(
            count_from_time=timestamp(count_from),
            clock_start_time=timestamp(explanation.clock_started_at),
            due_time=timestamp(explanation.due_at),
            duration=explanation.duration.describe(),
            calendars=[f"{c.agency_id or 'province'} {c.year} v{c.version}" for c in explanation.calendars],
            days=[pb.DueDateDay(date=d.day.isoformat(), reason=d.reason.value, ordinal=d.ordinal, name=d.name, makeup=d.makeup,
                                text=d.describe()) for d in explanation.days],
            pauses=[pb.DueDatePause(start_time=timestamp(p.start), end_time=timestamp(p.end), reason=p.reason) for p in explanation.pauses],
            text=explanation.describe(),
        )
