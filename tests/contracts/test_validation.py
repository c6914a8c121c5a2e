"""Contract tests: the generated stubs import, and protovalidate enforces the protos' rules.

Needs the stubs from `make gen` (protos/gen/python, on sys.path through motcua-contracts).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import protovalidate
import pytest
from buf.validate import validate_pb2
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from motcua.dossiers.v1 import dossier_pb2, dossier_service_pb2
from motcua.procedures.v1 import procedure_service_pb2 as ps

GEN = Path(__file__).resolve().parents[2] / "protos" / "gen"
PROCEDURE_ID = "3f2b8c1e-9a7d-4c5e-8f1a-2b3c4d5e6f70"


def _path(path: validate_pb2.FieldPath) -> str:
    return ".".join(element.field_name for element in path.elements)


def violations(message) -> set[tuple[str, str, str]]:
    """(field path, rule id, rule path) of every violation."""
    protos = [validate_pb2.Violation.FromString(v.proto.to_binary()) for v in protovalidate.collect_violations(message)]
    return {(_path(p.field), p.rule_id, _path(p.rule)) for p in protos}


def valid_create(**overrides) -> ps.CreateProcedureRequest:
    fields = {
        "code": "1.001193.000.00.00.H56",
        "name": "Đăng ký khai sinh",
        "agency_id": "000.00.12.H56",
        "processing_days": 1,
    }
    return ps.CreateProcedureRequest(**{**fields, **overrides})


def generated_modules() -> list[str]:
    root = GEN / "python"
    return sorted(
        ".".join(path.relative_to(root).with_suffix("").parts) for path in root.rglob("*.py")
    )


@pytest.mark.parametrize("module", generated_modules())
def test_generated_module_imports(module: str) -> None:
    importlib.import_module(module)


def test_stubs_were_generated() -> None:
    modules = generated_modules()
    assert "buf.validate.validate_pb2" in modules
    assert "motcua.procedures.v1.procedure_service_pb2_grpc" in modules
    # google/api and google/rpc come from googleapis-common-protos, never from us.
    assert not [m for m in modules if m.startswith("google.")]


def test_valid_vietnamese_procedure_passes() -> None:
    assert violations(valid_create()) == set()
    protovalidate.validate(valid_create())


def test_processing_days_out_of_range_is_rejected() -> None:
    assert violations(valid_create(processing_days=-1)) == {
        ("processing_days", "int32.gte_lte", "int32.gte"),
    }
    # Left out (0), it may be replaced by processing_time: the service checks that one of them is
    # given.
    assert violations(valid_create(processing_days=0)) == set()


def test_processing_time_must_be_positive_with_a_unit() -> None:
    from motcua.procedures.v1 import procedure_pb2 as p

    assert (
        violations(
            valid_create(
                processing_days=0, processing_time=p.ProcessingTime(value=4, unit=p.PROCESSING_TIME_UNIT_WORKING_HOURS)
            )
        )
        == set()
    )
    assert violations(valid_create(processing_time=p.ProcessingTime(value=0))) == {
        ("processing_time.value", "int32.gt", "int32.gt"),
        ("processing_time.unit", "enum.not_in", "enum.not_in"),
    }
    assert violations(valid_create(fees=[p.Fee(name="Lệ phí", amount_vnd=-5)])) == {
        ("fees.amount_vnd", "int64.gte", "int64.gte")
    }


def test_bad_agency_id_is_rejected() -> None:
    assert violations(valid_create(agency_id="000.00.12")) == {
        ("agency_id", "string.pattern", "string.pattern"),
    }


def test_every_violation_is_reported_with_its_field() -> None:
    found = violations(valid_create(code="ABC", agency_id="H56", processing_days=366))
    assert found == {
        ("code", "string.pattern", "string.pattern"),
        ("agency_id", "string.pattern", "string.pattern"),
        ("processing_days", "int32.gte_lte", "int32.gte"),  # the range rule sits on gte
    }
    with pytest.raises(protovalidate.ValidationError):
        protovalidate.validate(valid_create(processing_days=-1))


def test_empty_request_names_required_fields() -> None:
    found = {(field, rule) for field, rule, _ in violations(ps.CreateProcedureRequest())}
    assert found == {
        ("code", "required"),
        ("name", "required"),
        ("agency_id", "required"),
    }


def test_name_length_counts_characters_not_bytes() -> None:
    # "Đ" is 2 bytes in UTF-8: 500 of them are 1000 bytes but 500 characters.
    assert violations(valid_create(name="Đ" * 500)) == set()
    assert violations(valid_create(name="Đ" * 501)) == {("name", "string.max_len", "string.max_len")}


def test_rename_requires_an_expected_version() -> None:
    request = ps.RenameProcedureRequest(procedure_id=PROCEDURE_ID, name="Đăng ký kết hôn")
    assert violations(request) == {("expected_version", "int64.gte", "int64.gte")}
    request.expected_version = 3
    assert violations(request) == set()


def test_publish_accepts_version_zero_and_needs_a_uuid() -> None:
    assert violations(ps.PublishProcedureRequest(procedure_id=PROCEDURE_ID)) == set()
    assert violations(ps.PublishProcedureRequest(procedure_id="not-a-uuid")) == {
        ("procedure_id", "string.uuid", "string.uuid"),
    }
    assert violations(ps.GetProcedureRequest()) == {("procedure_id", "string.uuid_empty", "string.uuid")}


def test_nested_and_message_rules_report_paths() -> None:
    request = dossier_service_pb2.SubmitDossierRequest(
        procedure_id=PROCEDURE_ID,
        agency_id="000.00.12.H56",
        channel=dossier_pb2.SUBMISSION_CHANNEL_ONLINE,
        applicant=dossier_pb2.Applicant(
            kind=dossier_pb2.APPLICANT_KIND_CITIZEN,
            full_name="Nguyễn Văn An",
            identity_number="0380",
            email="not-an-email",
        ),
    )
    found = {(field, rule) for field, rule, _ in violations(request)}
    assert found == {
        ("applicant", "applicant.citizen_identity_number"),
        ("applicant.email", "string.email"),
    }
    request.applicant.identity_number = "038090001234"
    request.applicant.email = "an.nguyen@example.vn"
    assert violations(request) == set()


def test_descriptor_set_carries_http_annotations() -> None:
    fds = descriptor_pb2.FileDescriptorSet.FromString((GEN / "descriptor_set.binpb").read_bytes())
    files = {f.name: f for f in fds.file}
    assert {"google/api/http.proto", "buf/validate/validate.proto"} <= files.keys()
    service = files["motcua/procedures/v1/procedure_service.proto"]
    assert service.source_code_info.location, "source info (comments) must be included"
    (procedure_service,) = service.service
    rules = {}
    for method in procedure_service.method:
        options = descriptor_pb2.MethodOptions.FromString(method.options.SerializeToString())
        rules[method.name] = options.Extensions[annotations_pb2.http]
    assert rules["PublishProcedure"].post == "/v1/procedures/{procedure_id}:publish"
    assert rules["GetProcedure"].get == "/v1/procedures/{procedure_id}"
