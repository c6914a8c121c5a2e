"""REST/JSON transcoding against real processes: the gateway in front of the procedures and dossiers
services on PostgreSQL and Kafka. Requests are plain HTTP with JSON, as a browser sends them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.gateway.support import Gateway, StartGateway
from tests.support.auth import AGENCY
from tests.support.clients import new_traceparent
from tests.support.procedures import unique_code
from tests.support.waiting import eventually

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
RESOURCE_INFO = "type.googleapis.com/google.rpc.ResourceInfo"
PRECONDITION_FAILURE = "type.googleapis.com/google.rpc.PreconditionFailure"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


def nowhere() -> str:
    from motcua.devstack import free_port

    return f"127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def gw(stack, services, start_module_gateway: StartGateway) -> Iterator[Gateway]:
    """One gateway for the module: procedures and dossiers for real, identity configured but down,
    signing not configured at all; spans exported to the test's collector."""
    yield start_module_gateway(
        {**services, "identity": nowhere()},
        OTEL_EXPORTER_OTLP_ENDPOINT=stack.collector.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
    )


def new_procedure(name: str = "Đăng ký khai sinh", **overrides) -> dict:
    return {"code": unique_code(), "name": name, "agency_id": AGENCY, "processing_days": 3, **overrides}


def details_of(body: dict, type_url: str) -> list[dict]:
    return [d for d in body["error"]["details"] if d["@type"] == type_url]


def violations(body: dict) -> dict[str, str]:
    (bad_request,) = details_of(body, BAD_REQUEST)
    return {v["field"]: v["description"] for v in bad_request["field_violations"]}


def assert_error(reply, http_status: int, status: str) -> dict:
    assert reply.status == http_status, (reply.status, reply.raw)
    assert reply.content_type == "application/json", reply.headers
    body = reply.json
    assert body["error"]["code"] == http_status
    assert body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    return body


def test_create_publish_get_a_procedure_in_json(gw: Gateway, services):
    name = "Cấp giấy phép xây dựng nhà ở riêng lẻ"
    payload = new_procedure(name)
    # lowerCamelCase is accepted beside the protos' names.
    payload["agencyId"] = payload.pop("agency_id")
    created = gw.call("POST", "/v1/procedures", payload)
    assert created.status == 200, created.raw
    assert created.content_type == "application/json"
    assert name.encode("utf-8") in created.raw  # UTF-8, not \u-escaped
    procedure = created.json["procedure"]
    uuid.UUID(procedure["procedure_id"])
    assert procedure == {
        "procedure_id": procedure["procedure_id"],
        "code": payload["code"],
        "name": name,
        "agency_id": AGENCY,
        "processing_days": 3,
        "state": "PROCEDURE_STATE_DRAFT",
        "version": "1",  # int64: a JSON string (proto3 JSON mapping)
        # Every field is present, also at its default; timestamps only once set.
        "version_number": 1,
        "field": "",
        "level": "PROCEDURE_LEVEL_UNSPECIFIED",
        "online_mode": "ONLINE_MODE_UNSPECIFIED",
        "processing_time": {"value": 3, "unit": "PROCESSING_TIME_UNIT_WORKING_DAYS"},
        "fees": [],
        "required_documents": [],
        "steps": [],
        "result_type": "",
        "legal_basis": [],
        "supplement_rule": "SUPPLEMENT_RULE_RESUME",
    }
    pid = procedure["procedure_id"]

    published = gw.call("POST", f"/v1/procedures/{pid}:publish", {"expected_version": "1"})
    assert published.status == 200, published.raw
    assert published.json["procedure"]["state"] == "PROCEDURE_STATE_PUBLISHED"
    assert published.json["procedure"]["version"] == "2"

    fetched = gw.call("GET", f"/v1/procedures/{pid}")
    assert fetched.status == 200, fetched.raw
    assert fetched.json == published.json

    # The dossiers service (another backend, by the proto package) got it through Kafka.
    def replica():
        reply = gw.call("GET", f"/v1/procedure-replicas/{pid}")
        return reply.json if reply.status == 200 else None

    body = eventually(replica, timeout=30, what="the procedure's replica in dossiers")
    assert body["procedure"]["name"] == name
    assert body["procedure"]["procedure_id"] == pid


def test_a_publish_without_a_body_and_a_rename_with_camel_case(gw: Gateway):
    pid = gw.call("POST", "/v1/procedures", new_procedure()).json["procedure"]["procedure_id"]
    renamed = gw.call("POST", f"/v1/procedures/{pid}:rename", {"name": "Đăng ký kết hôn", "expectedVersion": 1})
    assert renamed.status == 200, renamed.raw
    assert renamed.json["procedure"]["name"] == "Đăng ký kết hôn"
    published = gw.call("POST", f"/v1/procedures/{pid}:publish")  # no body at all: every field in the path
    assert published.status == 200, published.raw
    assert published.json["procedure"]["state"] == "PROCEDURE_STATE_PUBLISHED"


def test_invalid_input_is_400_with_every_field_violation(gw: Gateway):
    reply = gw.call("POST", "/v1/procedures", {"code": "x", "name": "", "agency_id": "nope", "processing_days": -1})
    body = assert_error(reply, 400, "INVALID_ARGUMENT")
    found = violations(body)
    assert set(found) == {"code", "name", "agency_id", "processing_days"}, found
    assert all(found.values())


def test_a_path_parameter_is_validated_by_the_service(gw: Gateway):
    body = assert_error(gw.call("GET", "/v1/procedures/not-a-uuid"), 400, "INVALID_ARGUMENT")
    assert set(violations(body)) == {"procedure_id"}


def test_unknown_id_is_404_with_the_resource(gw: Gateway):
    missing = str(uuid.uuid4())
    body = assert_error(gw.call("GET", f"/v1/procedures/{missing}"), 404, "NOT_FOUND")
    (info,) = details_of(body, RESOURCE_INFO)
    assert info["resource_name"] == missing
    assert info["resource_type"]


def test_duplicate_code_is_409(gw: Gateway):
    payload = new_procedure()
    assert gw.call("POST", "/v1/procedures", payload).status == 200
    body = assert_error(gw.call("POST", "/v1/procedures", payload), 409, "ALREADY_EXISTS")
    (info,) = details_of(body, RESOURCE_INFO)
    assert info["resource_name"] == payload["code"]


def test_a_transition_not_allowed_is_400_failed_precondition(gw: Gateway):
    pid = gw.call("POST", "/v1/procedures", new_procedure()).json["procedure"]["procedure_id"]
    assert gw.call("POST", f"/v1/procedures/{pid}:publish", {}).status == 200
    body = assert_error(gw.call("POST", f"/v1/procedures/{pid}:publish", {}), 400, "FAILED_PRECONDITION")
    (failure,) = details_of(body, PRECONDITION_FAILURE)
    assert failure["violations"][0]["type"] == "STATE"
    (info,) = details_of(body, ERROR_INFO)
    assert info["reason"] == "INVALID_TRANSITION"


def test_a_stale_version_is_409_aborted_with_the_current_version(gw: Gateway):
    pid = gw.call("POST", "/v1/procedures", new_procedure()).json["procedure"]["procedure_id"]
    assert gw.call("POST", f"/v1/procedures/{pid}:rename", {"name": "Tên mới", "expected_version": "1"}).status == 200
    reply = gw.call("POST", f"/v1/procedures/{pid}:rename", {"name": "Tên khác", "expected_version": "1"})
    body = assert_error(reply, 409, "ABORTED")
    (info,) = details_of(body, ERROR_INFO)
    assert info["reason"] == "VERSION_CONFLICT"
    assert info["metadata"]["current_version"] == "2"


@pytest.mark.parametrize("raw", [b'{"code": ', b"{'code': 1}", b"[1, 2", b"\xff\xfe{}", b"NaN", b'{"a": 1, "a": 2}'])
def test_malformed_json_is_400_never_500(gw: Gateway, raw: bytes):
    reply = gw.call("POST", "/v1/procedures", raw=raw, headers={"Content-Type": "application/json"})
    assert_error(reply, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("payload, field", [
    ({"code": "1.000001", "surprise": 1}, "surprise"),
    ({"processing_days": "many"}, "processing_days"),
    ({"processing_days": [1]}, "processing_days"),
    ({"name": {"vi": "Đăng ký"}}, "name"),
])
def test_a_body_that_does_not_fit_the_message_is_400_naming_the_field(gw: Gateway, payload: dict, field: str):
    body = assert_error(gw.call("POST", "/v1/procedures", payload), 400, "INVALID_ARGUMENT")
    assert field in violations(body), body


def test_what_a_body_cannot_be(gw: Gateway):
    assert_error(gw.call("POST", "/v1/procedures", [new_procedure()]), 400, "INVALID_ARGUMENT")  # not an object
    assert_error(gw.call("POST", "/v1/procedures", raw=b'{"code": "1"}', headers={"Content-Type": "text/plain"}),
                 415, "INVALID_ARGUMENT")
    body = assert_error(gw.call("GET", f"/v1/procedures/{uuid.uuid4()}", {"name": "x"}), 400, "INVALID_ARGUMENT")
    assert "takes no body" in body["error"]["message"]


def test_query_parameters_are_checked_against_the_request_message(gw: Gateway):
    pid = str(uuid.uuid4())
    body = assert_error(gw.call("GET", f"/v1/procedures/{pid}?colour=blue"), 400, "INVALID_ARGUMENT")
    assert set(violations(body)) == {"colour"}
    body = assert_error(gw.call("GET", f"/v1/procedures/{pid}?procedure_id={pid}"), 400, "INVALID_ARGUMENT")
    assert set(violations(body)) == {"procedure_id"}  # bound by the path
    body = assert_error(gw.call("POST", "/v1/procedures?name=x", new_procedure()), 400, "INVALID_ARGUMENT")
    assert set(violations(body)) == {"name"}  # body "*": every field is in the body
    body = assert_error(gw.call("GET", "/v1/dossiers?page_size=lots"), 400, "INVALID_ARGUMENT")
    assert set(violations(body)) == {"page_size"}


def test_the_body_may_not_contradict_the_path(gw: Gateway):
    pid = gw.call("POST", "/v1/procedures", new_procedure()).json["procedure"]["procedure_id"]
    other = str(uuid.uuid4())
    body = assert_error(gw.call("POST", f"/v1/procedures/{pid}:publish", {"procedure_id": other}), 400,
                        "INVALID_ARGUMENT")
    assert set(violations(body)) == {"procedure_id"}
    same = gw.call("POST", f"/v1/procedures/{pid}:publish", {"procedure_id": pid})
    assert same.status == 200, same.raw


def test_routes_methods_and_backends(gw: Gateway):
    body = assert_error(gw.call("DELETE", f"/v1/procedures/{uuid.uuid4()}"), 405, "UNIMPLEMENTED")
    assert "GET" in body["error"]["message"]
    assert_error(gw.call("GET", "/v1/nothing-here"), 404, "NOT_FOUND")
    # identity is configured but down: 503, without the backend's address.
    body = assert_error(gw.call("GET", f"/v1/accounts/{uuid.uuid4()}"), 503, "UNAVAILABLE")
    assert "127.0.0.1" not in body["error"]["message"]
    # signing has no backend in MOTCUA_BACKENDS.
    assert_error(gw.call("POST", "/v1/signatures:verify", {}), 501, "UNIMPLEMENTED")


def test_the_incoming_traceparent_is_the_parent_of_the_backend_call(stack, gw: Gateway):
    pid = gw.call("POST", "/v1/procedures", new_procedure()).json["procedure"]["procedure_id"]
    traceparent, trace_id = new_traceparent()
    caller_span = traceparent.split("-")[2]
    reply = gw.call("POST", f"/v1/procedures/{pid}:publish", {}, headers={"traceparent": traceparent})
    assert reply.status == 200, reply.raw
    rpc = "/motcua.procedures.v1.ProcedureService/PublishProcedure"

    def complete(spans) -> bool:
        return any(s.service == "procedures" and s.name == rpc for s in spans) and \
            any(s.service == "gateway" and s.name == rpc for s in spans)

    spans = stack.collector.wait_for(trace_id, complete)
    assert complete(spans), [(s.service, s.name) for s in spans]
    (http_span,) = [s for s in spans if s.service == "gateway" and s.name.startswith("POST ")]
    (client,) = [s for s in spans if s.service == "gateway" and s.name == rpc]
    (server,) = [s for s in spans if s.service == "procedures" and s.name == rpc]
    assert http_span.name == "POST /v1/procedures/{procedure_id}:publish"
    assert http_span.parent_span_id == caller_span
    assert client.parent_span_id == http_span.span_id
    assert server.parent_span_id == client.span_id


def test_without_an_exporter_the_traceparent_still_reaches_the_backend(stack, services, start_gateway: StartGateway):
    plain = start_gateway(services)  # no OTEL endpoint: the gateway records no span of its own
    pid = plain.call("POST", "/v1/procedures", new_procedure()).json["procedure"]["procedure_id"]
    traceparent, trace_id = new_traceparent()
    assert plain.call("GET", f"/v1/procedures/{pid}", headers={"traceparent": traceparent}).status == 200
    rpc = "/motcua.procedures.v1.ProcedureService/GetProcedure"
    spans = stack.collector.wait_for(trace_id, lambda spans: any(s.service == "procedures" for s in spans))
    (server,) = [s for s in spans if s.service == "procedures" and s.name == rpc]
    assert server.parent_span_id == traceparent.split("-")[2]


def test_backend_health_checks_leave_no_spans(stack, gw: Gateway):
    assert gw.get("/healthz")[1]["backends"]["identity"] == "UNREACHABLE"
    traceparent, trace_id = new_traceparent()
    assert gw.call("GET", f"/v1/procedures/{uuid.uuid4()}", headers={"traceparent": traceparent}).status == 404
    # Spans are exported in the order they end: once this call's are in, the probe's would be too.
    spans = stack.collector.wait_for(trace_id, lambda spans: any(s.service == "procedures" for s in spans))
    assert spans
    assert not [s for s in stack.collector.spans if s.service == "gateway" and "grpc.health" in s.name]
