"""The whole life cycle over real gRPC between real processes (procedures, dossiers, signing;
PostgreSQL and Kafka): each branch walked by callers holding only their own role's token,
the signed result, fees, the control slip, and the integration events on Kafka."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2

from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb, events_pb2
from motcua.identity.v1.role_pb2 import Role
from tests.support import auth
from tests.support.clients import details, dossiers_stub
from tests.support.dossiers import applicant, fresh_agency, published_full_procedure
from tests.support.topics import find_envelope

from .office import Office, fails_with, pdf


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory):
    signing = stack.service("signing", MOTCUA_SIGNING_DIR=str(tmp_path_factory.mktemp("signing"))).start()
    procedures = stack.service("procedures").start()
    dossiers = stack.service("dossiers", MOTCUA_SIGNING_ADDR=signing.addr).start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr, "signing": signing.addr}
    for process in (dossiers, procedures, signing):
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def procedure(processes):
    """Đăng ký khai sinh: two required documents, three steps, 11 000 đ of fees, restart rule."""
    return published_full_procedure(processes["procedures"], processes["dossiers"])


def test_received_claimed_stepped_signed_paid_returned_rated(stack, processes, procedure, office):
    dossier = office.received(procedure)
    assert dossier.state == d.DOSSIER_STATE_RECEIVED and dossier.procedure_version == procedure.version_number
    assert len(dossier.processing.step_due_times) == 3 and dossier.processing.fee_total_vnd == 11000
    id_ = dossier.dossier_id

    # Step 1 (Tiếp nhận và thẩm định) has a role outside the platform's: any officer takes it.
    claimed = office.specialist.ClaimDossier(pb.ClaimDossierRequest(dossier_id=id_)).dossier
    assert claimed.state == d.DOSSIER_STATE_IN_PROCESS and claimed.processing.assignee == office.people["specialist"]
    office.specialist.CompleteStep(
        pb.CompleteStepRequest(dossier_id=id_, note="Hồ sơ hợp lệ", next_assignee=office.people["leader"])
    )
    # Step 2 (Ký duyệt) is the leader's: the specialist may not complete it.
    fails_with(
        grpc.StatusCode.PERMISSION_DENIED, office.specialist.CompleteStep, pb.CompleteStepRequest(dossier_id=id_)
    )
    office.leader.CompleteStep(pb.CompleteStepRequest(dossier_id=id_, note="Đồng ý"))

    ready = office.desk.MarkResultReady(
        pb.MarkResultReadyRequest(dossier_id=id_, result_document=pdf(), result_name="Giấy khai sinh")
    ).dossier
    assert ready.state == d.DOSSIER_STATE_RESULT_READY
    assert ready.processing.outcome == d.DOSSIER_OUTCOME_EARLY or ready.processing.outcome == d.DOSSIER_OUTCOME_ON_TIME
    assert uuid.UUID(ready.processing.signed_document_id)

    # No return before the fees are paid (the procedure does not allow it).
    error = fails_with(
        grpc.StatusCode.FAILED_PRECONDITION, office.desk.ReturnResult, pb.ReturnResultRequest(dossier_id=id_)
    )
    assert "11000 VND of fees unpaid" in error.details()
    key = str(uuid.uuid4())
    payment = pb.RecordPaymentRequest(
        dossier_id=id_, idempotency_key=key, amount_vnd=11000, method="cash", reference="BL-0001234"
    )
    office.desk.RecordPayment(payment)
    again = office.desk.RecordPayment(payment).dossier
    assert [p.amount_vnd for p in again.processing.payments] == [11000]

    returned = office.desk.ReturnResult(pb.ReturnResultRequest(dossier_id=id_)).dossier
    assert returned.state == d.DOSSIER_STATE_RETURNED
    fails_with(
        grpc.StatusCode.PERMISSION_DENIED, office.desk.RateDossier, pb.RateDossierRequest(dossier_id=id_, score=5)
    )
    rated = office.citizen.RateDossier(
        pb.RateDossierRequest(dossier_id=id_, score=5, comment="Cán bộ tận tình, đúng hẹn")
    ).dossier
    assert (rated.processing.rating, rated.processing.rating_comment) == (5, "Cán bộ tận tình, đúng hẹn")
    error = fails_with(
        grpc.StatusCode.FAILED_PRECONDITION, office.citizen.RateDossier, pb.RateDossierRequest(dossier_id=id_, score=1)
    )
    assert "rated" in error.details()
    assert [h.kind for h in rated.processing.handovers] == ["received", "claimed", "step", "step"]

    def of(event_type):
        return lambda e: e.aggregate_id == id_ and e.type == event_type.DESCRIPTOR.full_name

    for event_type in (events_pb2.DossierResultReady, events_pb2.DossierReturned):
        envelope = find_envelope(stack.kafka.bootstrap, "motcua.dossiers.events.v1", of(event_type))
        event = event_type()
        assert envelope.payload.Unpack(event)
        assert event.dossier.code == dossier.code and event.dossier.applicant_account_id == office.citizen_id
    assert event.outcome in (d.DOSSIER_OUTCOME_EARLY, d.DOSSIER_OUTCOME_ON_TIME)


def test_the_result_is_sealed_with_the_dossiers_agency_key_whatever_key_the_caller_names(
    stack, processes, procedure, office
):
    dossier = office.received(procedure)
    id_ = dossier.dossier_id
    office.specialist.ClaimDossier(pb.ClaimDossierRequest(dossier_id=id_))
    office.specialist.CompleteStep(
        pb.CompleteStepRequest(dossier_id=id_, note="Hồ sơ hợp lệ", next_assignee=office.people["leader"])
    )
    office.leader.CompleteStep(pb.CompleteStepRequest(dossier_id=id_, note="Đồng ý"))

    not_pdf = fails_with(grpc.StatusCode.INVALID_ARGUMENT, office.desk.MarkResultReady,
                         pb.MarkResultReadyRequest(dossier_id=id_, result_document="Giấy khai sinh".encode()))
    (bad_request,) = details(not_pdf, error_details_pb2.BadRequest)
    assert [v.field for v in bad_request.field_violations] == ["result_document"]

    # An administrator of the province passes the dossier's checks (administrators act in every
    # agency) but may not seal on behalf of this agency: refused, and the dossier is unchanged.
    province_admin = dossiers_stub(
        processes["dossiers"], auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id="000.00.00.H56").access_token
    )
    error = fails_with(grpc.StatusCode.PERMISSION_DENIED, province_admin.MarkResultReady,
                       pb.MarkResultReadyRequest(dossier_id=id_, result_document=pdf(), key_id="agency-seal"))
    (info,) = details(error, error_details_pb2.ErrorInfo)
    assert info.reason == "AGENCY_SCOPE"
    assert office.desk.GetDossier(pb.GetDossierRequest(dossier_id=id_)).dossier.state == d.DOSSIER_STATE_IN_PROCESS

    # The desk names the province's seal: the dossier's agency's seal signs all the same.
    ready = office.desk.MarkResultReady(
        pb.MarkResultReadyRequest(dossier_id=id_, result_document=pdf(), key_id="agency-seal")
    ).dossier
    assert ready.state == d.DOSSIER_STATE_RESULT_READY
    with psycopg.connect(stack.dsn("signing")) as conn:
        ((state,),) = conn.execute("SELECT state FROM signing_events WHERE originator_id = %s",
                                   (ready.processing.signed_document_id,)).fetchall()
    signed = json.loads(bytes(state))
    assert signed["key_id"] != "agency-seal" and signed["agency_id"] == office.agency
    assert (signed["purpose"], signed["dossier_id"], signed["dossier_code"]) == ("dossier_result", id_, dossier.code)
    assert signed["signed_by"] == office.people["desk"]


def test_supplement_at_reception_then_in_processing_restarts_the_clock(stack, procedure, office):
    incomplete = office.submit(procedure, documents=[d.DossierDocument(name="Tờ khai đăng ký khai sinh", originals=1)])
    error = fails_with(
        grpc.StatusCode.FAILED_PRECONDITION,
        office.desk.ReceiveDossier,
        pb.ReceiveDossierRequest(dossier_id=incomplete.dossier_id),
    )
    assert "Giấy chứng sinh" in error.details()
    items = [d.SupplementItem(document="Giấy chứng sinh", problem="Thiếu bản sao có chứng thực")]
    asked = office.desk.RequestSupplement(
        pb.RequestSupplementRequest(dossier_id=incomplete.dossier_id, items=items)
    ).dossier
    assert asked.state == d.DOSSIER_STATE_AWAITING_SUPPLEMENT and asked.processing.supplement_items == items
    back = office.citizen.SupplementDossier(
        pb.SupplementDossierRequest(
            dossier_id=incomplete.dossier_id,
            documents=[d.DossierDocument(name="Giấy chứng sinh", originals=1, copies=1)],
        )
    ).dossier
    assert back.state == d.DOSSIER_STATE_SUBMITTED
    received = office.desk.ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=incomplete.dossier_id)).dossier
    assert received.state == d.DOSSIER_STATE_RECEIVED

    office.specialist.ClaimDossier(pb.ClaimDossierRequest(dossier_id=received.dossier_id))
    paused = office.specialist.RequestSupplement(
        pb.RequestSupplementRequest(dossier_id=received.dossier_id, items=items)
    ).dossier
    assert paused.processing.paused
    resumed = office.citizen.SupplementDossier(
        pb.SupplementDossierRequest(
            dossier_id=received.dossier_id, documents=[d.DossierDocument(name="Giấy chứng sinh", originals=1, copies=2)]
        )
    ).dossier
    assert resumed.state == d.DOSSIER_STATE_IN_PROCESS and not resumed.processing.paused
    # The procedure's rule is restart: the clock counts again from the supplement.
    assert resumed.processing.clock_start_time.ToDatetime() >= paused.processing.clock_start_time.ToDatetime()
    explained = office.specialist.ExplainDueDate(pb.ExplainDueDateRequest(dossier_id=received.dossier_id))
    assert (
        explained.due_time == resumed.processing.due_time
        and explained.count_from_time.ToDatetime() > received.receive_time.ToDatetime()
    )
    assert explained.calendars and explained.text

    envelope = find_envelope(
        stack.kafka.bootstrap,
        "motcua.dossiers.events.v1",
        lambda e: e.aggregate_id == received.dossier_id and e.type.endswith("DossierSupplementRequested"),
    )
    event = events_pb2.DossierSupplementRequested()
    assert (
        envelope.payload.Unpack(event)
        and event.at_reception
        and event.items[0].problem == "Thiếu bản sao có chứng thực"
    )


def test_refusal_withdrawal_transfer_and_apology(procedure, office):
    refused = office.received(procedure)
    fails_with(grpc.StatusCode.PERMISSION_DENIED, office.specialist.RefuseDossier,
               pb.RefuseDossierRequest(dossier_id=refused.dossier_id, reason="Không thuộc thẩm quyền"))
    done = office.head.RefuseDossier(
        pb.RefuseDossierRequest(dossier_id=refused.dossier_id, reason="Không thuộc thẩm quyền")
    ).dossier
    assert done.state == d.DOSSIER_STATE_REFUSED and done.processing.closing_reason == "Không thuộc thẩm quyền"

    withdrawn = office.submit(procedure)
    gone = office.citizen.WithdrawDossier(
        pb.WithdrawDossierRequest(dossier_id=withdrawn.dossier_id, reason="Nộp nhầm")
    ).dossier
    assert gone.state == d.DOSSIER_STATE_WITHDRAWN
    error = fails_with(
        grpc.StatusCode.FAILED_PRECONDITION,
        office.desk.ReceiveDossier,
        pb.ReceiveDossierRequest(dossier_id=withdrawn.dossier_id),
    )
    assert "withdrawn" in error.details()

    moved = office.received(procedure)
    office.specialist.ClaimDossier(pb.ClaimDossierRequest(dossier_id=moved.dossier_id))
    elsewhere = fresh_agency()
    transferred = office.head.TransferDossier(pb.TransferDossierRequest(
        dossier_id=moved.dossier_id, to_agency_id=elsewhere, to_unit="Phòng Tư pháp", reason="Liên thông")).dossier
    assert transferred.processing.handling_agency_id == elsewhere
    assert (
        transferred.processing.handovers[-1].kind == "transfer"
        and transferred.processing.handovers[-1].from_agency_id == office.agency
    )
    # The first agency no longer handles it; the second one's officers do.
    fails_with(grpc.StatusCode.PERMISSION_DENIED, office.head.IssueApology, pb.IssueApologyRequest(
        dossier_id=moved.dossier_id, reason="Chờ xác minh", new_appointment_time=_later(transferred, 5)))
    other_head = dossiers_stub_for(office, elsewhere, Role.ROLE_DEPARTMENT_HEAD)
    sorry = other_head.IssueApology(
        pb.IssueApologyRequest(
            dossier_id=moved.dossier_id,
            reason="Chờ kết quả xác minh của cơ quan khác",
            new_appointment_time=_later(transferred, 5),
        )
    ).dossier
    assert sorry.appointed_return_time == _later(transferred, 5)
    assert sorry.processing.due_time == transferred.processing.due_time  # statistics keep the original date


def test_concurrent_officers_one_wins_the_other_is_aborted_with_the_version(procedure, office):
    dossier = office.received(procedure)
    office.specialist.ClaimDossier(
        pb.ClaimDossierRequest(dossier_id=dossier.dossier_id, expected_version=dossier.version)
    )
    error = fails_with(grpc.StatusCode.ABORTED, office.head.AssignDossier, pb.AssignDossierRequest(
        dossier_id=dossier.dossier_id, expected_version=dossier.version, assignee=office.people["head"]))
    (info,) = details(error, error_details_pb2.ErrorInfo)
    assert info.reason == "VERSION_CONFLICT" and info.metadata["current_version"] == str(dossier.version + 1)


def _later(dossier: d.Dossier, days: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(dossier.appointed_return_time.ToDatetime() + timedelta(days=days))
    return stamp


def dossiers_stub_for(office: Office, agency: str, role: Role.ValueType):
    """A stub for an officer of another agency."""
    return dossiers_stub(office.addr, auth.issue(roles=(role,), agency_id=agency).access_token)


def test_only_the_desk_of_the_agency_records_fees_and_only_once_the_dossier_is_received(procedure, office):
    def payment(dossier_id: str) -> pb.RecordPaymentRequest:
        return pb.RecordPaymentRequest(dossier_id=dossier_id, idempotency_key=str(uuid.uuid4()), amount_vnd=11000,
                                       method="cash", reference="BL-0005678")

    submitted = office.submit(procedure)
    error = fails_with(grpc.StatusCode.FAILED_PRECONDITION, office.desk.RecordPayment, payment(submitted.dossier_id))
    assert "submitted" in error.details()
    draft = office.citizen.CreateDossierDraft(pb.CreateDossierDraftRequest(
        procedure_id=procedure.procedure_id, agency_id=office.agency, applicant=applicant(account_id=office.citizen_id),
        channel=d.SUBMISSION_CHANNEL_ONLINE)).dossier
    error = fails_with(grpc.StatusCode.FAILED_PRECONDITION, office.desk.RecordPayment, payment(draft.dossier_id))
    assert "draft" in error.details()

    received = office.desk.ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=submitted.dossier_id)).dossier
    # The applicant cannot mark their own fees paid, on their own dossier or any other.
    fails_with(grpc.StatusCode.PERMISSION_DENIED, office.citizen.RecordPayment, payment(received.dossier_id))
    # Officers other than the desk, and the desk of another agency, record nothing either.
    fails_with(grpc.StatusCode.PERMISSION_DENIED, office.specialist.RecordPayment, payment(received.dossier_id))
    elsewhere = dossiers_stub(
        office.addr, auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=fresh_agency()).access_token
    )
    fails_with(grpc.StatusCode.PERMISSION_DENIED, elsewhere.RecordPayment, payment(received.dossier_id))
    assert (
        office.desk.GetDossier(pb.GetDossierRequest(dossier_id=received.dossier_id)).dossier.processing.payments == []
    )

    paid = office.desk.RecordPayment(payment(received.dossier_id)).dossier
    assert [(p.amount_vnd, p.reference) for p in paid.processing.payments] == [(11000, "BL-0005678")]


def test_a_draft_is_created_and_then_submitted_by_its_applicant(procedure, office):
    """CreateDossierDraft answered INTERNAL for every valid request (found by the authorization
    probe)."""
    draft = office.citizen.CreateDossierDraft(pb.CreateDossierDraftRequest(
        procedure_id=procedure.procedure_id, agency_id=office.agency, channel=d.SUBMISSION_CHANNEL_ONLINE,
        applicant=applicant(account_id=office.citizen_id, full_name="Nguyễn Thị Hồng Nhung"),
        documents=[d.DossierDocument(name="Tờ khai đăng ký khai sinh", originals=1)])).dossier
    assert (draft.state, draft.applicant.full_name) == (d.DOSSIER_STATE_DRAFT, "Nguyễn Thị Hồng Nhung")
    submitted = office.citizen.SubmitDossierDraft(pb.SubmitDossierDraftRequest(
        dossier_id=draft.dossier_id, expected_version=draft.version)).dossier
    assert (submitted.dossier_id, submitted.state) == (draft.dossier_id, d.DOSSIER_STATE_SUBMITTED)
