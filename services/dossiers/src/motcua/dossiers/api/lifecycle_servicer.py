"""The life-cycle RPCs of DossierService: protos to application calls and back, nothing more."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from motcua.dossiers import convert
from motcua.dossiers.v1 import dossier_service_pb2 as pb
from motcua.kernel.timestamps import timestamp


def _authorization(context) -> str:
    return next((value for key, value in context.invocation_metadata() if key == "authorization"), "")


class LifecycleServicer:
    """Mixed into ``DossierServicer`` (which has ``app``)."""

    app: Any

    def CreateDossierDraft(self, request, context):
        return pb.CreateDossierDraftResponse(
            dossier=convert.dossier_to_proto(self.app.create_draft(convert.submission_of(request)))
        )

    def SubmitDossierDraft(self, request, context):
        view = self.app.submit_draft(UUID(request.dossier_id), request.expected_version)
        return pb.SubmitDossierDraftResponse(dossier=convert.dossier_to_proto(view))

    def RequestSupplement(self, request, context):
        items = [{"document": i.document, "problem": i.problem} for i in request.items]
        view = self.app.request_supplement(UUID(request.dossier_id), request.expected_version, items, request.note)
        return pb.RequestSupplementResponse(dossier=convert.dossier_to_proto(view))

    def SupplementDossier(self, request, context):
        view = self.app.supplement_dossier(
            UUID(request.dossier_id), request.expected_version, convert.documents_of(request), request.note
        )
        return pb.SupplementDossierResponse(dossier=convert.dossier_to_proto(view))

    def RefuseDossier(self, request, context):
        view = self.app.refuse_dossier(UUID(request.dossier_id), request.expected_version, request.reason)
        return pb.RefuseDossierResponse(dossier=convert.dossier_to_proto(view))

    def AssignDossier(self, request, context):
        view = self.app.assign_dossier(
            UUID(request.dossier_id), request.expected_version, request.assignee, request.unit
        )
        return pb.AssignDossierResponse(dossier=convert.dossier_to_proto(view))

    def ClaimDossier(self, request, context):
        view = self.app.claim_dossier(UUID(request.dossier_id), request.expected_version, request.unit)
        return pb.ClaimDossierResponse(dossier=convert.dossier_to_proto(view))

    def CompleteStep(self, request, context):
        view = self.app.complete_step(
            UUID(request.dossier_id), request.expected_version, request.note, request.next_assignee
        )
        return pb.CompleteStepResponse(dossier=convert.dossier_to_proto(view))

    def TransferDossier(self, request, context):
        view = self.app.transfer_dossier(UUID(request.dossier_id), request.expected_version, request.to_agency_id,
                                            request.to_unit, request.reason)
        return pb.TransferDossierResponse(dossier=convert.dossier_to_proto(view))

    def IssueApology(self, request, context):
        view = self.app.issue_apology(UUID(request.dossier_id), request.expected_version, request.reason,
                                         convert.utc_time(request.new_appointment_time))
        return pb.IssueApologyResponse(dossier=convert.dossier_to_proto(view))

    def MarkResultReady(self, request, context):
        # request.key_id is not passed on: the dossier's agency's seal signs, whatever the caller
        # names.
        view = self.app.sign_result(UUID(request.dossier_id), request.expected_version, request.result_document,
                                       request.result_name, _authorization(context), request.signature_request_id)
        return pb.MarkResultReadyResponse(dossier=convert.dossier_to_proto(view))

    def RecordPayment(self, request, context):
        paid_at = convert.utc_time(request.pay_time) if request.HasField("pay_time") else None
        view = self.app.record_payment(
            UUID(request.dossier_id),
            request.idempotency_key,
            request.amount_vnd,
            request.method,
            request.reference,
            paid_at,
        )
        return pb.RecordPaymentResponse(dossier=convert.dossier_to_proto(view))

    def ReturnResult(self, request, context):
        method = convert.DELIVERY_METHOD_OF.get(request.method, "") if request.method else ""
        view = self.app.return_result(UUID(request.dossier_id), request.expected_version, method)
        return pb.ReturnResultResponse(dossier=convert.dossier_to_proto(view))

    def WithdrawDossier(self, request, context):
        view = self.app.withdraw_dossier(UUID(request.dossier_id), request.expected_version, request.reason)
        return pb.WithdrawDossierResponse(dossier=convert.dossier_to_proto(view))

    def RateDossier(self, request, context):
        view = self.app.rate_dossier(UUID(request.dossier_id), request.score, request.comment)
        return pb.RateDossierResponse(dossier=convert.dossier_to_proto(view))

    def ExplainDueDate(self, request, context):
        count_from, explanation = self.app.explain_due_date(UUID(request.dossier_id))
        return pb.ExplainDueDateResponse(
            count_from_time=timestamp(count_from),
            clock_start_time=timestamp(explanation.clock_started_at),
            due_time=timestamp(explanation.due_at),
            duration=explanation.duration.describe(),
            calendars=[f"{c.agency_id or 'province'} {c.year} v{c.version}" for c in explanation.calendars],
            days=[
                pb.DueDateDay(
                    date=d.day.isoformat(),
                    reason=d.reason.value,
                    ordinal=d.ordinal,
                    name=d.name,
                    makeup=d.makeup,
                    text=d.describe(),
                )
                for d in explanation.days
            ],
            pauses=[
                pb.DueDatePause(start_time=timestamp(p.start), end_time=timestamp(p.end), reason=p.reason)
                for p in explanation.pauses
            ],
            text=explanation.describe(),
        )
