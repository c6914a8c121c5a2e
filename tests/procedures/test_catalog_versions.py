"""The versioned catalog over real gRPC, PostgreSQL and Kafka: the full record, its life cycle
draft → published → superseded / withdrawn, the version in force at a time, and the dossiers
service keeping every published version to pin dossiers to the one in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2

from motcua.dossiers.v1 import dossier_service_pb2 as dpb
from motcua.procedures.v1 import procedure_pb2 as p, procedure_service_pb2 as pb
from tests.support import auth
from tests.support.clients import details, field_violations
from tests.support.dossiers import fresh_agency, submit_request
from tests.support.procedures import full_create_request
from tests.support.waiting import eventually

RECORD_FIELDS = (
    "code", "name", "agency_id", "field", "level", "online_mode", "processing_time", "fees", "required_documents",
    "steps", "result_type", "legal_basis", "supplement_rule",
)


def stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromDatetime(moment)
    return value


def in_force(procedures, code: str, at: datetime | None = None) -> p.Procedure:
    request = pb.GetProcedureInForceRequest(code=code, at=stamp(at) if at else None)
    return procedures.GetProcedureInForce(request).procedure


def failure_of(call, *args) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failure:
        call(*args)
    return failure.value


def test_the_full_record_round_trips_in_vietnamese(procedures):
    request = full_create_request(name="Đăng ký khai sinh có yếu tố nước ngoài")
    created = procedures.CreateProcedure(request).procedure
    assert (created.state, created.version_number, created.version) == (p.PROCEDURE_STATE_DRAFT, 1, 1)
    for field in RECORD_FIELDS:
        assert getattr(created, field) == getattr(request, field), field
    assert created.processing_days == 3
    assert not created.HasField("effective_from")

    fetched = procedures.GetProcedure(pb.GetProcedureRequest(procedure_id=created.procedure_id)).procedure
    assert fetched == created


def test_working_hours_are_kept_with_their_unit(procedures):
    hours = p.ProcessingTime(value=4, unit=p.PROCESSING_TIME_UNIT_WORKING_HOURS)
    created = procedures.CreateProcedure(full_create_request(processing_time=hours)).procedure
    assert created.processing_time == hours
    assert created.processing_days == 1  # the deprecated field rounds up to whole days


def test_a_change_is_a_new_version_and_time_tells_which_was_in_force(procedures):
    created = procedures.CreateProcedure(full_create_request()).procedure
    before_v1 = datetime.now(UTC)
    v1 = procedures.PublishProcedure(
        pb.PublishProcedureRequest(procedure_id=created.procedure_id, expected_version=1)
    ).procedure
    assert (v1.state, v1.version_number) == (p.PROCEDURE_STATE_PUBLISHED, 1)

    # A published version never changes: editing it names its state.
    edited = p.Procedure(name="Tên khác", agency_id=v1.agency_id, processing_time=v1.processing_time)
    error = failure_of(
        procedures.UpdateProcedure,
        pb.UpdateProcedureRequest(procedure_id=v1.procedure_id, procedure=edited, expected_version=v1.version),
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    (precondition,) = details(error, error_details_pb2.PreconditionFailure)
    assert "version 1 is published" in precondition.violations[0].description

    draft = procedures.DraftProcedureVersion(
        pb.DraftProcedureVersionRequest(procedure_id=v1.procedure_id, expected_version=v1.version)
    ).procedure
    assert (draft.state, draft.version_number, draft.name) == (p.PROCEDURE_STATE_DRAFT, 2, v1.name)
    error = failure_of(procedures.DraftProcedureVersion, pb.DraftProcedureVersionRequest(procedure_id=v1.procedure_id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION  # one draft at a time

    changed = p.Procedure()
    changed.CopyFrom(draft)
    changed.processing_time.value = 5
    changed.name = "Đăng ký khai sinh (thủ tục mới)"
    updated = procedures.UpdateProcedure(
        pb.UpdateProcedureRequest(procedure_id=draft.procedure_id, procedure=changed, expected_version=draft.version)
    ).procedure
    assert (updated.processing_days, updated.name, updated.state) == (
        5,
        "Đăng ký khai sinh (thủ tục mới)",
        p.PROCEDURE_STATE_DRAFT,
    )
    between = datetime.now(UTC)
    assert in_force(procedures, v1.code).version_number == 1  # the draft is not in force yet

    v2 = procedures.PublishProcedure(
        pb.PublishProcedureRequest(procedure_id=draft.procedure_id, expected_version=updated.version)
    ).procedure
    assert (v2.state, v2.version_number) == (p.PROCEDURE_STATE_PUBLISHED, 2)
    old = procedures.GetProcedure(pb.GetProcedureRequest(procedure_id=v1.procedure_id, version_number=1)).procedure
    assert old.state == p.PROCEDURE_STATE_SUPERSEDED
    assert old.effective_until == v2.effective_from
    assert old.processing_days == 3  # the superseded version kept what it said

    assert in_force(procedures, v1.code, between).version_number == 1
    assert in_force(procedures, v1.code).version_number == 2
    missing = failure_of(in_force, procedures, v1.code, before_v1)
    assert missing.code() == grpc.StatusCode.NOT_FOUND

    withdrawn = procedures.WithdrawProcedure(pb.WithdrawProcedureRequest(procedure_id=v1.procedure_id)).procedure
    assert (withdrawn.state, withdrawn.version_number) == (p.PROCEDURE_STATE_WITHDRAWN, 2)
    assert failure_of(in_force, procedures, v1.code).code() == grpc.StatusCode.NOT_FOUND
    assert in_force(procedures, v1.code, between).version_number == 1
    again = failure_of(procedures.WithdrawProcedure, pb.WithdrawProcedureRequest(procedure_id=v1.procedure_id))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_unknown_codes_and_versions_are_not_found(procedures):
    created = procedures.CreateProcedure(full_create_request()).procedure
    error = failure_of(
        procedures.GetProcedure, pb.GetProcedureRequest(procedure_id=created.procedure_id, version_number=2)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert failure_of(in_force, procedures, "9.999999.000.00.00.T99").code() == grpc.StatusCode.NOT_FOUND
    assert failure_of(in_force, procedures, created.code).code() == grpc.StatusCode.NOT_FOUND  # a draft is not in force


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"code": "TTHC-01"}, {"code"}),
        ({"agency_id": "Sở Tư pháp"}, {"agency_id"}),
        (
            {"processing_time": p.ProcessingTime(value=0, unit=p.PROCESSING_TIME_UNIT_WORKING_DAYS)},
            {"processing_time.value"},
        ),
        (
            {"processing_time": p.ProcessingTime(value=-3, unit=p.PROCESSING_TIME_UNIT_WORKING_DAYS)},
            {"processing_time.value"},
        ),
        (
            {"processing_time": p.ProcessingTime(value=400, unit=p.PROCESSING_TIME_UNIT_WORKING_DAYS)},
            {"processing_time.value"},
        ),
        ({"processing_days": -1}, {"processing_days"}),
        ({"processing_time": None, "processing_days": 0}, {"processing_days"}),
        ({"steps": [p.ProcessingStep(name="Thẩm định", role="specialist", share=0.5)]}, {"steps"}),
        ({"fees": [p.Fee(name="Lệ phí", amount_vnd=-1000)]}, {"fees[0].amount_vnd"}),
        ({"required_documents": [p.RequiredDocument(name="Tờ khai")]}, {"required_documents[0]"}),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(procedures, overrides, fields):
    request = full_create_request(**overrides)
    error = failure_of(procedures.CreateProcedure, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == fields
    if "code" not in fields:  # nothing half-written: the code is still free
        assert not procedures.ListProcedures(pb.ListProceduresRequest(code=request.code)).procedures
        fixed = full_create_request(code=request.code)
        assert procedures.CreateProcedure(fixed).procedure.code == request.code


def test_an_update_names_the_fields_inside_the_procedure(procedures):
    created = procedures.CreateProcedure(full_create_request()).procedure
    bad = p.Procedure()
    bad.CopyFrom(created)
    del bad.steps[0]  # 0.2 + 0.1
    error = failure_of(
        procedures.UpdateProcedure,
        pb.UpdateProcedureRequest(procedure_id=created.procedure_id, procedure=bad, expected_version=1),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {"procedure.steps"}
    assert procedures.GetProcedure(pb.GetProcedureRequest(procedure_id=created.procedure_id)).procedure == created


def test_dossiers_keep_every_version_and_pin_the_one_in_force(procedures, dossiers):
    created = procedures.CreateProcedure(full_create_request()).procedure
    v1 = procedures.PublishProcedure(pb.PublishProcedureRequest(procedure_id=created.procedure_id)).procedure
    pid = v1.procedure_id
    eventually(
        lambda: dossiers.GetProcedureReplica(dpb.GetProcedureReplicaRequest(procedure_id=pid)).procedure,
        what="replica of v1",
    )
    during_v1 = datetime.now(UTC)
    # Filed at the session caller's agency, whose dossiers it reads.
    first = dossiers.SubmitDossier(submit_request(pid, auth.AGENCY)).dossier
    assert first.procedure_version == 1

    draft = procedures.DraftProcedureVersion(pb.DraftProcedureVersionRequest(procedure_id=pid)).procedure
    changed = p.Procedure()
    changed.CopyFrom(draft)
    changed.processing_time.value = 7
    procedures.UpdateProcedure(
        pb.UpdateProcedureRequest(procedure_id=pid, procedure=changed, expected_version=draft.version)
    )
    v2 = procedures.PublishProcedure(pb.PublishProcedureRequest(procedure_id=pid)).procedure

    latest = eventually(
        lambda: (
            (
                r := dossiers.GetProcedureReplica(dpb.GetProcedureReplicaRequest(procedure_id=pid)).procedure
            ).version_number
            == 2
            and r
        ),
        what="replica of v2",
    )
    assert (latest.processing_days, latest.effective_from) == (7, v2.effective_from)
    earlier = dossiers.GetProcedureReplica(
        dpb.GetProcedureReplicaRequest(procedure_id=pid, at=stamp(during_v1))
    ).procedure
    assert (earlier.version_number, earlier.processing_days, earlier.effective_until) == (1, 3, v2.effective_from)

    second = dossiers.SubmitDossier(submit_request(pid, fresh_agency())).dossier
    assert second.procedure_version == 2
    # The first dossier stays bound to the version it pinned.
    assert dossiers.GetDossier(dpb.GetDossierRequest(dossier_id=first.dossier_id)).dossier.procedure_version == 1

    procedures.WithdrawProcedure(pb.WithdrawProcedureRequest(procedure_id=pid))
    eventually(
        lambda: dossiers.GetProcedureReplica(dpb.GetProcedureReplicaRequest(procedure_id=pid)).procedure.HasField(
            "effective_until"
        ),
        what="withdrawal in the replica",
    )
    refused = failure_of(dossiers.SubmitDossier, submit_request(pid, fresh_agency()))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    before = failure_of(
        dossiers.GetProcedureReplica,
        dpb.GetProcedureReplicaRequest(procedure_id=pid, at=stamp(during_v1 - timedelta(hours=1))),
    )
    assert before.code() == grpc.StatusCode.NOT_FOUND
