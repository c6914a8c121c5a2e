"""A command on procedures reaches dossiers through PostgreSQL and Kafka, in one trace;
bad input, unknown ids and concurrent writes get the statuses the API promises."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from opentelemetry.trace import SpanKind

from motcua.dossiers.v1 import dossier_service_pb2 as dossiers_pb
from motcua.procedures.v1 import procedure_pb2, procedure_service_pb2 as pb
from tests.support.auth import AGENCY
from tests.support.clients import details, field_violations, new_traceparent
from tests.support.concurrency import run_concurrently
from tests.support.procedures import create_request
from tests.support.waiting import eventually


def replica_of(dossiers, procedure_id: str):
    return dossiers.GetProcedureReplica(dossiers_pb.GetProcedureReplicaRequest(procedure_id=procedure_id)).procedure


def test_published_procedure_reaches_dossiers_with_its_vietnamese_name(procedures, dossiers):
    created = procedures.CreateProcedure(create_request(name="Cấp giấy phép xây dựng nhà ở riêng lẻ")).procedure
    assert created.state == procedure_pb2.PROCEDURE_STATE_DRAFT
    assert created.version == 1

    published = procedures.PublishProcedure(
        pb.PublishProcedureRequest(procedure_id=created.procedure_id, expected_version=created.version)
    ).procedure
    assert published.state == procedure_pb2.PROCEDURE_STATE_PUBLISHED

    replica = eventually(lambda: replica_of(dossiers, created.procedure_id), what="replica in dossiers")
    assert replica.name == "Cấp giấy phép xây dựng nhà ở riêng lẻ"
    assert replica.code == created.code
    assert replica.agency_id == AGENCY
    assert replica.procedure_version == published.version


def test_one_trace_covers_call_commit_publish_and_consume(stack, procedures, dossiers):
    created = procedures.CreateProcedure(create_request()).procedure
    traceparent, trace_id = new_traceparent()
    procedures.PublishProcedure(
        pb.PublishProcedureRequest(procedure_id=created.procedure_id), metadata=[("traceparent", traceparent)]
    )
    eventually(lambda: replica_of(dossiers, created.procedure_id), what="replica in dossiers")

    def complete(spans) -> bool:
        return any(s.service == "dossiers" and s.name == "eventstore.commit" for s in spans)

    spans = stack.collector.wait_for(trace_id, complete)
    by_id = {s.span_id: s for s in spans}

    def one(service: str, name: str, kind: SpanKind):
        matches = [s for s in spans if s.service == service and s.name == name and s.kind == kind.value + 1]
        assert len(matches) == 1, f"{service} {name}: {[(s.service, s.name) for s in spans]}"
        return matches[0]

    call = one("procedures", "/motcua.procedures.v1.ProcedureService/PublishProcedure", SpanKind.SERVER)
    commit = one("procedures", "eventstore.commit", SpanKind.CLIENT)
    publish = one("procedures", "motcua.procedures.events.v1 publish", SpanKind.PRODUCER)
    consume = one("dossiers", "motcua.procedures.events.v1 process", SpanKind.CONSUMER)
    applied = one("dossiers", "eventstore.commit", SpanKind.CLIENT)
    # Each hop is the child of the one before it.
    assert commit.parent_span_id == call.span_id
    assert publish.parent_span_id == commit.span_id
    assert consume.parent_span_id == publish.span_id
    assert applied.parent_span_id == consume.span_id
    assert by_id[call.span_id].attributes["rpc.method"] == "PublishProcedure"
    assert consume.attributes["motcua.event.type"] == "motcua.procedures.v1.ProcedurePublished"


def test_invalid_input_names_every_bad_field(procedures):
    with pytest.raises(grpc.RpcError) as failure:
        procedures.CreateProcedure(create_request(agency_id="Sở Tư pháp", processing_days=-1))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(failure.value)
    assert set(violations) == {"agency_id", "processing_days"}


def test_domain_rules_also_answer_with_field_violations(procedures):
    with pytest.raises(grpc.RpcError) as failure:
        procedures.CreateProcedure(create_request(name="   "))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(failure.value)) == {"name"}


def test_malformed_id_is_invalid_and_unknown_id_is_not_found(procedures, dossiers):
    with pytest.raises(grpc.RpcError) as malformed:
        procedures.GetProcedure(pb.GetProcedureRequest(procedure_id="not-a-uuid"))
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(malformed.value)) == {"procedure_id"}

    unknown = str(uuid.uuid4())
    with pytest.raises(grpc.RpcError) as missing:
        procedures.GetProcedure(pb.GetProcedureRequest(procedure_id=unknown))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    (info,) = details(missing.value, error_details_pb2.ResourceInfo)
    assert info.resource_name == unknown

    with pytest.raises(grpc.RpcError) as missing_replica:
        dossiers.GetProcedureReplica(dossiers_pb.GetProcedureReplicaRequest(procedure_id=unknown))
    assert missing_replica.value.code() == grpc.StatusCode.NOT_FOUND


def test_duplicate_code_already_exists(procedures):
    request = create_request()
    procedures.CreateProcedure(request)
    with pytest.raises(grpc.RpcError) as failure:
        procedures.CreateProcedure(request)
    assert failure.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_invalid_transition_names_the_current_state(procedures):
    created = procedures.CreateProcedure(create_request()).procedure
    procedures.PublishProcedure(pb.PublishProcedureRequest(procedure_id=created.procedure_id))
    with pytest.raises(grpc.RpcError) as failure:
        procedures.RenameProcedure(
            pb.RenameProcedureRequest(procedure_id=created.procedure_id, name="Tên mới", expected_version=2)
        )
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    (precondition,) = details(failure.value, error_details_pb2.PreconditionFailure)
    assert "published" in precondition.violations[0].description


def test_concurrent_writes_one_wins_the_others_are_aborted(procedures):
    created = procedures.CreateProcedure(create_request()).procedure
    names = [f"Thủ tục số {i}" for i in range(8)]
    outcomes = run_concurrently(
        len(names),
        lambda i: procedures.RenameProcedure(
            pb.RenameProcedureRequest(procedure_id=created.procedure_id, name=names[i], expected_version=1)
        ).procedure,
    )

    winners = [name for name, o in zip(names, outcomes, strict=True) if not isinstance(o, grpc.RpcError)]
    losers = [o for o in outcomes if isinstance(o, grpc.RpcError)]
    assert len(winners) == 1
    assert len(losers) == len(names) - 1
    assert {e.code() for e in losers} == {grpc.StatusCode.ABORTED}
    for error in losers:
        (info,) = details(error, error_details_pb2.ErrorInfo)
        assert info.reason == "VERSION_CONFLICT"
    final = procedures.GetProcedure(pb.GetProcedureRequest(procedure_id=created.procedure_id)).procedure
    assert final.version == 2
    assert final.name == winners[0]
