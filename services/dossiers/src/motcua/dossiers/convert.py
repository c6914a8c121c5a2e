"""Every translation between the dossiers service's protos and its domain words and views:
kinds, channels, delivery methods and states and their proto enums (shared by the API and
the outbox's integration events), requests into application arguments, views into responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import TypeVar
from uuid import UUID

from google.protobuf import timestamp_pb2
from google.type import dayofweek_pb2

from motcua.dossiers.adapters.calendar_copies import CalendarReplicaView
from motcua.dossiers.application.register_reads import AGENCY, COMING_DUE, MINE, OVERDUE, UNIT, Statistics
from motcua.dossiers.application.views import DossierView, ProcedureReplicaView, Submission
from motcua.dossiers.domain import lifecycle, values as domain
from motcua.dossiers.domain.values import Applicant, Document
from motcua.dossiers.v1 import (
    calendar_replica_pb2,
    dossier_pb2,
    dossier_service_pb2 as pb,
    procedure_replica_pb2,
    reports_pb2,
)
from motcua.kernel.timestamps import timestamp
from motcua.procedures.v1 import calendar_pb2

APPLICANT_KINDS = {
    domain.CITIZEN: dossier_pb2.APPLICANT_KIND_CITIZEN,
    domain.BUSINESS: dossier_pb2.APPLICANT_KIND_BUSINESS,
}
CHANNELS = {
    domain.ONLINE: dossier_pb2.SUBMISSION_CHANNEL_ONLINE,
    domain.DESK: dossier_pb2.SUBMISSION_CHANNEL_DESK,
    domain.POSTAL: dossier_pb2.SUBMISSION_CHANNEL_POSTAL,
}
DELIVERY_METHODS = {
    domain.ONLINE: dossier_pb2.RESULT_DELIVERY_METHOD_ONLINE,
    domain.DESK: dossier_pb2.RESULT_DELIVERY_METHOD_DESK,
    domain.POSTAL: dossier_pb2.RESULT_DELIVERY_METHOD_POSTAL,
}
STATES = {
    lifecycle.DRAFT: dossier_pb2.DOSSIER_STATE_DRAFT,
    lifecycle.SUBMITTED: dossier_pb2.DOSSIER_STATE_SUBMITTED,
    lifecycle.RECEIVED: dossier_pb2.DOSSIER_STATE_RECEIVED,
    lifecycle.IN_PROCESS: dossier_pb2.DOSSIER_STATE_IN_PROCESS,
    lifecycle.AWAITING_SUPPLEMENT: dossier_pb2.DOSSIER_STATE_AWAITING_SUPPLEMENT,
    lifecycle.RESULT_READY: dossier_pb2.DOSSIER_STATE_RESULT_READY,
    lifecycle.RETURNED: dossier_pb2.DOSSIER_STATE_RETURNED,
    lifecycle.REFUSED: dossier_pb2.DOSSIER_STATE_REFUSED,
    lifecycle.WITHDRAWN: dossier_pb2.DOSSIER_STATE_WITHDRAWN,
}
OUTCOMES = {
    lifecycle.EARLY: dossier_pb2.DOSSIER_OUTCOME_EARLY,
    lifecycle.ON_TIME: dossier_pb2.DOSSIER_OUTCOME_ON_TIME,
    lifecycle.LATE: dossier_pb2.DOSSIER_OUTCOME_LATE,
}


Number = TypeVar("Number", bound=int)  # a proto enum's values


def _inverse(mapping: Mapping[str, Number]) -> dict[Number, str]:
    return {number: word for word, number in mapping.items()}


APPLICANT_KIND_OF = _inverse(APPLICANT_KINDS)
CHANNEL_OF = _inverse(CHANNELS)
DELIVERY_METHOD_OF = {**_inverse(DELIVERY_METHODS), dossier_pb2.RESULT_DELIVERY_METHOD_UNSPECIFIED: domain.DESK}


# --- requests and responses of DossierService ------------------------------------------

def utc_time(stamp: timestamp_pb2.Timestamp):
    return stamp.ToDatetime(tzinfo=UTC)


def documents_of(request) -> list[dict]:
    return [{"name": d.name, "originals": d.originals, "copies": d.copies} for d in request.documents]


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
            kind=APPLICANT_KINDS[applicant.kind],
            account_id=applicant.account_id,
            full_name=applicant.full_name,
            identity_number=applicant.identity_number,
            phone=applicant.phone,
            email=applicant.email,
            address=applicant.address,
        ),
        channel=CHANNELS[view.channel],
        result_delivery=DELIVERY_METHODS[view.result_delivery],
        documents=[
            dossier_pb2.DossierDocument(name=d.name, originals=d.originals, copies=d.copies) for d in view.documents
        ],
        state=STATES[view.state],
        submit_time=timestamp(view.submitted_at),
        receive_time=timestamp(view.received_at),
        appointed_return_time=timestamp(view.appointed_return_at),
        version=view.version,
        processing=processing_to_proto(view.processing) if view.processing else None,
        attachments=[
            dossier_pb2.Attachment(
                name=a["name"],
                content_type=a["content_type"],
                size_bytes=a["size_bytes"],
                sha256=a["sha256"],
                attach_time=timestamp(a["at"]),
                source_dossier_id=a["source_dossier_id"],
            )
            for a in view.attachments
        ],
    )


def processing_to_proto(p: dict) -> dossier_pb2.ProcessingStatus:
    return dossier_pb2.ProcessingStatus(
        due_time=timestamp(p["due_at"]),
        coming_due_time=timestamp(p["coming_due_at"]),
        clock_start_time=timestamp(p["clock_started_at"]),
        paused=p["paused"],
        step_index=p["step_index"],
        step_name=p["step_name"],
        step_due_times=[stamp for stamp in map(timestamp, p["step_due_at"]) if stamp is not None],
        assignee=p["assignee"],
        handling_agency_id=p["handling_agency_id"],
        handling_unit=p["handling_unit"],
        handovers=[
            dossier_pb2.Handover(
                kind=h["kind"],
                time=timestamp(h["at"]),
                by=h["by"],
                from_agency_id=h["from_agency_id"],
                from_unit=h["from_unit"],
                to_agency_id=h["to_agency_id"],
                to_unit=h["to_unit"],
                to_user=h["to_user"],
                step_index=h["step_index"],
                note=h["note"],
            )
            for h in p["handovers"]
        ],
        fee_total_vnd=p["fee_total_vnd"],
        payments=[
            dossier_pb2.Payment(
                idempotency_key=x["idempotency_key"],
                amount_vnd=x["amount_vnd"],
                method=x["method"],
                reference=x["reference"],
                pay_time=timestamp(x["paid_at"]),
            )
            for x in p["payments"]
        ],
        signed_document_id=p["signed_document_id"],
        signed_document_sha256=p["signed_document_sha256"],
        finish_time=timestamp(p["finished_at"]),
        return_time=timestamp(p["returned_at"]),
        outcome=OUTCOMES.get(p["outcome"], dossier_pb2.DOSSIER_OUTCOME_UNSPECIFIED),
        rating=p["rating"],
        rating_comment=p["rating_comment"],
        closing_reason=p["closing_reason"],
        supplement_items=[
            dossier_pb2.SupplementItem(document=i["document"], problem=i["problem"]) for i in p["supplement_items"]
        ],
    )


def submission_of(request: pb.SubmitDossierRequest | pb.CreateDossierDraftRequest) -> Submission:
    applicant = request.applicant
    # A draft is created without an idempotency key: its request has no request_id field, and
    # reading one off it raised (INTERNAL on every CreateDossierDraft).
    request_id = request.request_id if isinstance(request, pb.SubmitDossierRequest) else ""
    return Submission(
        procedure_id=UUID(request.procedure_id),
        agency_id=request.agency_id,
        applicant=Applicant(
            kind=APPLICANT_KIND_OF.get(applicant.kind, ""),
            full_name=applicant.full_name,
            identity_number=applicant.identity_number,
            account_id=applicant.account_id,
            phone=applicant.phone,
            email=applicant.email,
            address=applicant.address,
        ),
        channel=CHANNEL_OF.get(request.channel, ""),
        result_delivery=DELIVERY_METHOD_OF.get(request.result_delivery, ""),
        documents=tuple(Document(name=d.name, originals=d.originals, copies=d.copies) for d in request.documents),
        request_id=request_id,
    )


# --- the register's RPCs -------------------------------------------------------------------

STATE_OF = {number: word for word, number in STATES.items()}
SCOPES = {pb.WORK_QUEUE_SCOPE_MINE: MINE, pb.WORK_QUEUE_SCOPE_UNIT: UNIT, pb.WORK_QUEUE_SCOPE_AGENCY: AGENCY}
DEADLINES = {pb.DEADLINE_FILTER_COMING_DUE: COMING_DUE, pb.DEADLINE_FILTER_OVERDUE: OVERDUE}
FORMS = {
    reports_pb2.DOSSIER_FORM_RECEIPT: "receipt", reports_pb2.DOSSIER_FORM_SUPPLEMENT_REQUEST: "supplement_request",
    reports_pb2.DOSSIER_FORM_REFUSAL: "refusal", reports_pb2.DOSSIER_FORM_APOLOGY: "apology",
    reports_pb2.DOSSIER_FORM_CONTROL_SLIP: "control_slip",
}


def optional_time(request, field: str):
    return getattr(request, field).ToDatetime(tzinfo=UTC) if request.HasField(field) else None


def row_to_proto(row: dict) -> dossier_pb2.Dossier:
    """A register row as a Dossier: no documents, payments, hand-overs or attachments."""
    return dossier_pb2.Dossier(
        dossier_id=str(row["dossier_id"]),
        code=row["code"],
        procedure_id=str(row["procedure_id"]),
        procedure_version=row["procedure_version"],
        agency_id=row["agency_id"],
        applicant=dossier_pb2.Applicant(
            kind=APPLICANT_KINDS.get(row["applicant_kind"], dossier_pb2.APPLICANT_KIND_UNSPECIFIED),
            account_id=row["applicant_account_id"],
            full_name=row["applicant_name"],
        ),
        channel=CHANNELS.get(row["channel"], dossier_pb2.SUBMISSION_CHANNEL_UNSPECIFIED),
        result_delivery=DELIVERY_METHODS.get(row["result_delivery"], dossier_pb2.RESULT_DELIVERY_METHOD_UNSPECIFIED),
        state=STATES[row["state"]],
        submit_time=timestamp(row["submitted_at"]),
        receive_time=timestamp(row["received_at"]),
        appointed_return_time=timestamp(row["appointed_at"]),
        version=row["version"],
        processing=dossier_pb2.ProcessingStatus(
            due_time=timestamp(row["due_at"]),
            coming_due_time=timestamp(row["coming_due_at"]),
            step_index=row["step_index"],
            assignee=row["assignee"],
            handling_agency_id=row["handling_agency_id"],
            handling_unit=row["handling_unit"],
            finish_time=timestamp(row["finished_at"]),
            return_time=timestamp(row["returned_at"]),
            outcome=OUTCOMES.get(row["outcome"], dossier_pb2.DOSSIER_OUTCOME_UNSPECIFIED),
            rating=row["rating"] or 0,
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
