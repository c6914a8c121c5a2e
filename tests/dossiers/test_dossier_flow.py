"""Dossiers over real gRPC, PostgreSQL and Kafka: a procedure published in the procedures
service reaches the dossiers service, which submits, numbers and receives dossiers and
publishes their events."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta

import grpc
import pytest
from google.rpc import error_details_pb2

from motcua.dossiers.v1 import dossier_pb2, dossier_service_pb2 as dpb, events_pb2
from motcua.identity.v1.role_pb2 import Role
from motcua.procedures.v1 import procedure_service_pb2 as pb
from tests.support import auth
from tests.support.clients import details, dossiers_stub, field_violations
from tests.support.concurrency import run_concurrently
from tests.support.dossiers import CODE, VIETNAM, applicant, fresh_agency, submit_request, today_in_vietnam
from tests.support.procedures import create_request
from tests.support.topics import find_envelope
from tests.support.waiting import eventually

TOPIC = "motcua.dossiers.events.v1"


def publish_procedure(procedures, dossiers, processing_days: int = 3, name: str = "Đăng ký khai sinh"):
    """A procedure published in the procedures service, once the dossiers service has its
    replica."""
    created = procedures.CreateProcedure(create_request(name=name, processing_days=processing_days)).procedure
    procedures.PublishProcedure(pb.PublishProcedureRequest(procedure_id=created.procedure_id))
    return eventually(
        lambda: (
            dossiers.GetProcedureReplica(dpb.GetProcedureReplicaRequest(procedure_id=created.procedure_id)).procedure
        ),
        what="replica in dossiers",
    )


@pytest.fixture(scope="module")
def procedure(procedures, dossiers):
    return publish_procedure(procedures, dossiers)


def desk_of(services, agency: str):
    """A stub for an officer holding every role at ``agency`` (roles are granted per agency)."""
    return dossiers_stub(services[1].addr, auth.issue(agency_id=agency).access_token)


def submit(dossiers, procedure, agency: str, **overrides) -> dossier_pb2.Dossier:
    return dossiers.SubmitDossier(submit_request(procedure.procedure_id, agency, **overrides)).dossier


def number(code: str) -> int:
    match = CODE.match(code)
    assert match, code
    return int(match["number"])


def local(stamp) -> datetime:
    return stamp.ToDatetime(tzinfo=VIETNAM)


def test_a_submitted_dossier_gets_todays_code_and_pins_the_procedure(services, dossiers, procedure):
    agency = fresh_agency()
    before = today_in_vietnam()
    dossier = submit(dossiers, procedure, agency)
    after = today_in_vietnam()

    match = CODE.match(dossier.code)
    assert match, dossier.code
    assert match["agency"] == agency
    assert match["day"] in {before.strftime("%y%m%d"), after.strftime("%y%m%d")}
    assert match["number"] == "0001"
    assert local(dossier.submit_time).date() in {before, after}
    assert dossier.state == dossier_pb2.DOSSIER_STATE_SUBMITTED
    assert (dossier.procedure_id, dossier.procedure_version) == (procedure.procedure_id, procedure.version_number)
    assert dossier.version == 1
    assert not dossier.HasField("receive_time") and not dossier.HasField("appointed_return_time")

    # Read by the desk of its agency (the session's caller holds its roles at another agency).
    fetched = desk_of(services, agency).GetDossier(dpb.GetDossierRequest(dossier_id=dossier.dossier_id)).dossier
    assert fetched == dossier
    # Vietnamese text comes back exactly as it was sent.
    assert fetched.applicant == applicant()
    assert [d.name for d in fetched.documents] == ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"]
    assert fetched.result_delivery == dossier_pb2.RESULT_DELIVERY_METHOD_DESK  # the default


def submit_concurrently(stubs, procedure, agency: str, count: int) -> list[dossier_pb2.Dossier]:
    """``count`` submissions started at once, spread over ``stubs``; all must succeed."""
    outcomes = run_concurrently(count, lambda i: submit(stubs[i % len(stubs)], procedure, agency))
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert not failures, failures
    return outcomes  # type: ignore[return-value]


def assert_numbered_without_gaps(dossiers: list[dossier_pb2.Dossier], agency: str) -> None:
    codes = [d.code for d in dossiers]
    assert len(set(codes)) == len(codes)
    assert len({d.dossier_id for d in dossiers}) == len(dossiers)
    by_day: dict[str, list[int]] = defaultdict(list)
    for code in codes:
        match = CODE.match(code)
        assert match and match["agency"] == agency, code
        by_day[match["day"]].append(int(match["number"]))
    # 0001..00NN without a gap (split in two runs only if the test straddled midnight in Vietnam).
    for numbers in by_day.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_concurrent_submissions_take_every_number_of_the_day_once(dossiers, procedure):
    agency = fresh_agency()
    assert_numbered_without_gaps(submit_concurrently([dossiers], procedure, agency, 50), agency)


def test_two_replicas_share_the_numbers_of_the_day(stack, dossiers, procedure):
    second = stack.service("dossiers").start()
    try:
        agency = fresh_agency()
        stubs = [dossiers, dossiers_stub(second.addr)]
        assert_numbered_without_gaps(submit_concurrently(stubs, procedure, agency, 50), agency)
    finally:
        assert second.terminate() == 0


def test_the_same_request_id_returns_the_same_dossier(services, procedure):
    agency = fresh_agency()
    desk = desk_of(services, agency)  # a desk submission, retried: the desk may read what it filed
    request_id = str(uuid.uuid4())
    first = submit(desk, procedure, agency, request_id=request_id)
    again = submit(desk, procedure, agency, request_id=request_id)
    assert again == first

    # Racing retries of one request: still one dossier, and one number taken.
    racing_id = str(uuid.uuid4())
    results = run_concurrently(8, lambda _: submit(desk, procedure, agency, request_id=racing_id))
    assert all(isinstance(r, dossier_pb2.Dossier) for r in results), results
    assert len({(d.dossier_id, d.code) for d in results}) == 1
    assert results[0].dossier_id != first.dossier_id

    following = submit(desk, procedure, agency)
    if CODE.match(following.code)["day"] == CODE.match(first.code)["day"]:
        assert [number(first.code), number(results[0].code), number(following.code)] == [1, 2, 3]


def test_a_known_request_id_returns_the_dossier_only_to_who_may_read_it(services, procedure):
    addr = services[1].addr
    agency = fresh_agency()
    citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Trần Thị Mai")
    own = dossiers_stub(addr, citizen.access_token)
    request_id = str(uuid.uuid4())
    first = own.SubmitDossier(submit_request(procedure.procedure_id, agency, request_id=request_id,
                                             applicant=applicant(account_id=citizen.account_id))).dossier

    # Another applicant re-using the request id (filing for themselves) learns nothing of the
    # dossier.
    other = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Lê Văn Hùng")
    stranger = dossiers_stub(addr, other.access_token)
    with pytest.raises(grpc.RpcError) as refused:
        stranger.SubmitDossier(submit_request(procedure.procedure_id, agency, request_id=request_id,
                                              applicant=applicant(account_id=other.account_id)))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    (info,) = details(refused.value, error_details_pb2.ErrorInfo)
    assert info.reason == "NOT_OWNER" and first.code not in refused.value.details()
    # Nor does the desk of another agency.
    other_agency = fresh_agency()
    desk = dossiers_stub(addr, auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=other_agency).access_token)
    with pytest.raises(grpc.RpcError) as elsewhere:
        desk.SubmitDossier(submit_request(procedure.procedure_id, other_agency, request_id=request_id))
    assert elsewhere.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # The applicant's own retry still gets the dossier of the first call.
    assert own.SubmitDossier(submit_request(procedure.procedure_id, agency, request_id=request_id,
                                            applicant=applicant(account_id=citizen.account_id))).dossier == first


def test_an_unknown_procedure_is_a_failed_precondition_naming_it(dossiers):
    unknown = str(uuid.uuid4())
    with pytest.raises(grpc.RpcError) as failure:
        dossiers.SubmitDossier(submit_request(unknown, fresh_agency()))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert unknown in failure.value.details()


def test_invalid_submissions_name_every_bad_field(dossiers, procedure):
    request = submit_request(
        procedure.procedure_id,
        "Sở Tư pháp",
        applicant=applicant(identity_number="12345"),
        channel=dossier_pb2.SUBMISSION_CHANNEL_UNSPECIFIED,
    )
    with pytest.raises(grpc.RpcError) as failure:
        dossiers.SubmitDossier(request)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(failure.value)) == {"agency_id", "applicant", "channel"}


def weekdays_between(start: date, end: date) -> int:
    """Monday–Friday days after ``start`` up to and including ``end``."""
    return sum((start + timedelta(days=i)).weekday() < 5 for i in range(1, (end - start).days + 1))


def test_reception_appoints_the_return_in_working_days(procedures, services, dossiers):
    # Any six working days span a weekend, whatever day the test runs.
    six_days = publish_procedure(procedures, dossiers, processing_days=6, name="Cấp giấy phép xây dựng")
    agency = fresh_agency()
    submitted = submit(dossiers, six_days, agency)
    dossiers = desk_of(services, agency)
    received = dossiers.ReceiveDossier(
        dpb.ReceiveDossierRequest(
            dossier_id=submitted.dossier_id, expected_version=submitted.version, note="Hồ sơ đủ thành phần"
        )
    ).dossier

    assert received.state == dossier_pb2.DOSSIER_STATE_RECEIVED
    assert received.version == 2
    assert received.code == submitted.code
    # No calendar published for the agency: Monday–Friday, 07:30–17:00, cut-off 15:00. The
    # clock starts on the (deemed) reception day, which is not counted; due at 17:00.
    clock_start, due = local(received.processing.clock_start_time), local(received.appointed_return_time)
    assert clock_start >= local(received.receive_time) and clock_start.weekday() < 5
    assert due.weekday() < 5
    assert weekdays_between(clock_start.date(), due.date()) == 6
    assert (due.date() - clock_start.date()).days >= 8  # at least one weekend skipped
    assert due.time() == time(17, 0)
    assert received.processing.due_time == received.appointed_return_time
    assert dossiers.GetDossier(dpb.GetDossierRequest(dossier_id=submitted.dossier_id)).dossier == received


def test_a_dossier_is_received_once(services, dossiers, procedure):
    agency = fresh_agency()
    submitted = submit(dossiers, procedure, agency)
    dossiers = desk_of(services, agency)
    dossiers.ReceiveDossier(dpb.ReceiveDossierRequest(dossier_id=submitted.dossier_id))
    with pytest.raises(grpc.RpcError) as failure:
        dossiers.ReceiveDossier(dpb.ReceiveDossierRequest(dossier_id=submitted.dossier_id))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    (precondition,) = details(failure.value, error_details_pb2.PreconditionFailure)
    assert "received" in precondition.violations[0].description
    (info,) = details(failure.value, error_details_pb2.ErrorInfo)
    assert info.metadata["current_state"] == "received"


def test_a_stale_expected_version_is_aborted(services, dossiers, procedure):
    agency = fresh_agency()
    submitted = submit(dossiers, procedure, agency)
    dossiers = desk_of(services, agency)
    with pytest.raises(grpc.RpcError) as failure:
        dossiers.ReceiveDossier(dpb.ReceiveDossierRequest(dossier_id=submitted.dossier_id, expected_version=7))
    assert failure.value.code() == grpc.StatusCode.ABORTED
    (info,) = details(failure.value, error_details_pb2.ErrorInfo)
    assert (info.reason, info.metadata["current_version"]) == ("VERSION_CONFLICT", "1")


def test_submitted_and_received_events_reach_kafka(stack, services, dossiers, procedure):
    agency = fresh_agency()
    submitted = submit(desk_of(services, agency), procedure, agency, applicant=applicant(account_id=str(uuid.uuid4())))
    received = (
        desk_of(services, agency).ReceiveDossier(dpb.ReceiveDossierRequest(dossier_id=submitted.dossier_id)).dossier
    )

    def of(event_type):
        return lambda e: e.aggregate_id == submitted.dossier_id and e.type == event_type.DESCRIPTOR.full_name

    envelope = find_envelope(stack.kafka.bootstrap, TOPIC, of(events_pb2.DossierReceived))
    assert (envelope.source, envelope.aggregate_version) == ("dossiers", 2)
    event = events_pb2.DossierReceived()
    assert envelope.payload.Unpack(event)
    assert event == events_pb2.DossierReceived(
        dossier_id=submitted.dossier_id,
        code=submitted.code,
        procedure_id=procedure.procedure_id,
        procedure_version=procedure.version_number,
        agency_id=submitted.agency_id,
        applicant_account_id=submitted.applicant.account_id,
        receive_time=received.receive_time,
        appointed_return_time=received.appointed_return_time,
        version=2,
    )

    envelope = find_envelope(stack.kafka.bootstrap, TOPIC, of(events_pb2.DossierSubmitted))
    event = events_pb2.DossierSubmitted()
    assert envelope.payload.Unpack(event)
    assert (event.code, event.channel, event.applicant_kind, event.version) == (
        submitted.code, dossier_pb2.SUBMISSION_CHANNEL_ONLINE, dossier_pb2.APPLICANT_KIND_CITIZEN, 1,
    )
    assert event.submit_time == submitted.submit_time
    # No personal data leaves the service.
    assert applicant().full_name.encode() not in envelope.SerializeToString()


def test_unknown_dossier_is_not_found(dossiers):
    unknown = str(uuid.uuid4())
    with pytest.raises(grpc.RpcError) as missing:
        dossiers.GetDossier(dpb.GetDossierRequest(dossier_id=unknown))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    (info,) = details(missing.value, error_details_pb2.ResourceInfo)
    assert info.resource_name == unknown
