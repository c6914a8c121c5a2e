"""Which domain events other services see, as integration events (protos/.../events.proto).

They carry no personal data of the applicant (events.proto): ids, codes and dates only.
"""

from __future__ import annotations

from functools import singledispatch

from google.protobuf.message import Message

from motcua.dossiers import convert
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.dossier.closing import ClosingRules
from motcua.dossiers.domain.dossier.processing import ProcessingRules
from motcua.dossiers.domain.erasure import SubjectErasures
from motcua.dossiers.v1 import dossier_pb2, events_pb2
from motcua.kernel.timestamps import timestamp


def _ref(event) -> events_pb2.DossierRef:
    facts = event.facts
    return events_pb2.DossierRef(
        dossier_id=str(event.originator_id),
        code=facts["code"],
        procedure_id=str(facts["procedure_id"]),
        procedure_version=facts["procedure_version"],
        agency_id=facts["agency_id"],
        handling_agency_id=facts["handling_agency_id"],
        handling_unit=facts["handling_unit"],
        applicant_account_id=facts["applicant_account_id"],
        channel=convert.CHANNELS.get(facts["channel"], dossier_pb2.SUBMISSION_CHANNEL_UNSPECIFIED),
        step_index=facts["step_index"],
        version=event.originator_version,
    )


@singledispatch
def integration_event(event: object) -> Message | None:
    return None  # internal to this service (procedure replicas, code sequences)


@integration_event.register
def _(event: Dossier.Submitted) -> Message:
    return events_pb2.DossierSubmitted(
        dossier_id=str(event.originator_id),
        procedure_id=str(event.procedure_id),
        procedure_version=event.procedure_version,
        agency_id=event.agency_id,
        applicant_kind=convert.APPLICANT_KINDS[event.applicant["kind"]],
        applicant_account_id=event.applicant.get("account_id", ""),
        channel=convert.CHANNELS[event.channel],
        version=event.originator_version,
        code=event.code,
        submit_time=timestamp(event.submitted_at),
    )


@integration_event.register
def _(event: Dossier.Received) -> Message:
    return events_pb2.DossierReceived(
        dossier_id=str(event.originator_id),
        code=event.code,
        procedure_id=str(event.procedure_id),
        procedure_version=event.procedure_version,
        agency_id=event.agency_id,
        applicant_account_id=event.applicant_account_id,
        receive_time=timestamp(event.received_at),
        appointed_return_time=timestamp(event.appointed_return_at),
        version=event.originator_version,
        fee_due_vnd=getattr(event, "fee_due_vnd", 0),
    )


@integration_event.register
def _(event: Dossier.DraftSubmitted) -> Message:
    return events_pb2.DossierSubmitted(
        dossier_id=str(event.originator_id),
        procedure_id=str(event.procedure_id),
        procedure_version=event.procedure_version,
        agency_id=event.agency_id,
        applicant_kind=convert.APPLICANT_KINDS[event.applicant_kind],
        applicant_account_id=event.applicant_account_id,
        channel=convert.CHANNELS[event.channel],
        version=event.originator_version,
        code=event.code,
        submit_time=timestamp(event.submitted_at),
    )


@integration_event.register
def _(event: ProcessingRules.SupplementRequested) -> Message:
    return events_pb2.DossierSupplementRequested(
        dossier=_ref(event), request_time=timestamp(event.requested_at), at_reception=event.during == "reception",
        items=[dossier_pb2.SupplementItem(document=i["document"], problem=i["problem"]) for i in event.items],
    )


@integration_event.register
def _(event: ProcessingRules.ApologyIssued) -> Message:
    return events_pb2.DossierApologyIssued(
        dossier=_ref(event), issue_time=timestamp(event.issued_at), reason=event.reason,
        new_appointed_return_time=timestamp(event.new_appointment_at),
        previous_appointed_return_time=timestamp(event.previous_appointment_at),
    )


@integration_event.register
def _(event: ClosingRules.ResultReady) -> Message:
    return events_pb2.DossierResultReady(
        dossier=_ref(event),
        ready_time=timestamp(event.ready_at),
        signed_document_id=event.result.get("document_id", ""),
        outcome=convert.OUTCOMES.get(event.outcome, dossier_pb2.DOSSIER_OUTCOME_UNSPECIFIED),
    )


@integration_event.register
def _(event: ClosingRules.Returned) -> Message:
    return events_pb2.DossierReturned(
        dossier=_ref(event),
        return_time=timestamp(event.returned_at),
        method=convert.DELIVERY_METHODS[event.method],
        outcome=convert.OUTCOMES.get(event.outcome, dossier_pb2.DOSSIER_OUTCOME_UNSPECIFIED),
        due_time=timestamp(event.due_at),
    )


@integration_event.register
def _(event: ProcessingRules.Refused) -> Message:
    return events_pb2.DossierRefused(dossier=_ref(event), refuse_time=timestamp(event.refused_at), reason=event.reason)


@integration_event.register
def _(event: ClosingRules.Withdrawn) -> Message:
    return events_pb2.DossierWithdrawn(dossier=_ref(event), withdraw_time=timestamp(event.withdrawn_at))


@integration_event.register
def _(event: ProcessingRules.Assigned) -> Message:
    return events_pb2.DossierAssigned(
        dossier=_ref(event), assign_time=timestamp(event.assigned_at), assignee=event.assignee
    )


@integration_event.register
def _(event: ProcessingRules.CameDue) -> Message:
    return events_pb2.DossierCameDue(dossier=_ref(event), due_time=timestamp(event.due_at))


@integration_event.register
def _(event: ProcessingRules.BecameOverdue) -> Message:
    return events_pb2.DossierOverdue(dossier=_ref(event), due_time=timestamp(event.due_at))


@integration_event.register
def _(event: SubjectErasures.Erased) -> Message:
    # The other services holding the person's data destroy their keys of them too.
    subject_id = event.subject_id
    account_id = subject_id.removeprefix("account:") if subject_id.startswith("account:") else ""
    return events_pb2.SubjectErased(subject_id=subject_id, account_id=account_id,
                                    erase_time=timestamp(event.erased_at), version=event.originator_version,
                                    dossier_ids=[str(d) for d in event.dossier_ids])
