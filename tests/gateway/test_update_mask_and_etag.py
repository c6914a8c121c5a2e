"""Edits of versioned resources as HTTP and AIP-134 expect them, with real processes: a GET says
the resource's version as its ETag, If-Match becomes the edit's expected_version (a stale one is
412), and a PATCH's update_mask changes only the fields it names; a path that names no editable
field is a 400 naming update_mask, over REST and over gRPC, and nothing changes."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from motcua.procedures.v1 import procedure_pb2, procedure_service_pb2 as pb
from tests.gateway.support import Gateway, StartGateway
from tests.gateway.test_catalog_rest import record
from tests.support import auth
from tests.support.clients import details, procedures_stub
from tests.support.dossiers import fresh_agency


@pytest.fixture(scope="module")
def backends(services: dict[str, str]) -> dict[str, str]:
    return services


@pytest.fixture(scope="module")
def gw(backends: dict[str, str], start_module_gateway: StartGateway) -> Iterator[Gateway]:
    yield start_module_gateway(backends)


def new_procedure(gw: Gateway) -> tuple[str, dict[str, str], dict]:
    """A draft procedure of a fresh agency, the headers of its administrator, the procedure."""
    agency = fresh_agency()
    headers = {"Authorization": f"Bearer {auth.issue(agency_id=agency).access_token}"}
    created = gw.call("POST", "/v1/procedures", record("Đăng ký khai sinh", agency), headers=headers)
    assert created.status == 200, created.raw
    return agency, headers, created.json["procedure"]


def test_a_get_has_the_version_as_etag_and_a_matching_if_none_match_is_304(gw: Gateway):
    _, admin, procedure = new_procedure(gw)
    path = f"/v1/procedures/{procedure['procedure_id']}"
    read = gw.call("GET", path, headers=admin)
    assert read.status == 200 and read.headers["etag"] == '"1"', (read.status, read.headers)
    not_modified = gw.call("GET", path, headers={**admin, "If-None-Match": '"1"'})
    assert not_modified.status == 304 and not_modified.headers["etag"] == '"1"'
    assert gw.call("GET", path, headers={**admin, "If-None-Match": '"7"'}).status == 200


def test_a_patch_with_an_update_mask_changes_only_the_named_fields(gw: Gateway):
    _, admin, procedure = new_procedure(gw)
    pid = procedure["procedure_id"]
    patched = gw.call("PATCH", f"/v1/procedures/{pid}",
                      {"procedure": {"name": "Đăng ký khai sinh có yếu tố nước ngoài", "fees": []},
                       "update_mask": "name"},
                      headers={**admin, "If-Match": '"1"'})
    assert patched.status == 200, patched.raw
    after = patched.json["procedure"]
    assert after["name"] == "Đăng ký khai sinh có yếu tố nước ngoài"
    assert after["fees"] == procedure["fees"] and after["steps"] == procedure["steps"]  # not named: kept
    assert after["processing_time"] == procedure["processing_time"]
    assert patched.headers["etag"] == f'"{after["version"]}"' == '"2"'

    # The days alone replace the processing time they stand for.
    days = gw.call("PATCH", f"/v1/procedures/{pid}",
                   {"procedure": {"processing_days": 5}, "update_mask": "processingDays", "expected_version": "2"},
                   headers=admin)
    assert days.status == 200, days.raw
    assert days.json["procedure"]["processing_days"] == 5
    assert days.json["procedure"]["name"] == "Đăng ký khai sinh có yếu tố nước ngoài"


def test_a_stale_if_match_is_412_and_changes_nothing(gw: Gateway):
    _, admin, procedure = new_procedure(gw)
    pid = procedure["procedure_id"]
    first = gw.call("PATCH", f"/v1/procedures/{pid}", {"procedure": {"name": "Tên mới"}, "update_mask": "name"},
                    headers={**admin, "If-Match": '"1"'})
    assert first.status == 200, first.raw
    stale = gw.call("PATCH", f"/v1/procedures/{pid}", {"procedure": {"name": "Tên khác"}, "update_mask": "name"},
                    headers={**admin, "If-Match": '"1"'})
    assert stale.status == 412, stale.raw
    assert stale.json["error"]["status"] == "FAILED_PRECONDITION"
    assert any(d.get("reason") == "VERSION_CONFLICT" for d in stale.json["error"]["details"])
    assert gw.call("GET", f"/v1/procedures/{pid}", headers=admin).json["procedure"]["name"] == "Tên mới"

    # An If-Match that is no ETag of ours, or one that disagrees with the body, is named.
    for if_match, body_version in (("3", None), ('"2"', "1")):
        body = {"procedure": {"name": "x"}, "update_mask": "name",
                **({"expected_version": body_version} if body_version else {})}
        refused = gw.call("PATCH", f"/v1/procedures/{pid}", body,
                          headers={**admin, "If-Match": if_match})
        assert refused.status == 400, refused.raw
        assert refused.json["error"]["details"][0]["field_violations"][0]["field"] == "If-Match"
    # An edit that takes no expected version cannot honour it: refused, not ignored.
    agency = fresh_agency()
    create = gw.call("POST", "/v1/procedures", record("Đăng ký kết hôn", agency),
                     headers={"Authorization": f"Bearer {auth.issue(agency_id=agency).access_token}",
                              "If-Match": '"1"'})
    assert create.status == 400 and create.json["error"]["details"][0]["field_violations"][0]["field"] == "If-Match"


def test_an_update_mask_naming_no_editable_field_is_refused_naming_it(gw: Gateway, backends: dict[str, str]):
    agency, admin, procedure = new_procedure(gw)
    pid = procedure["procedure_id"]
    refused = gw.call("PATCH", f"/v1/procedures/{pid}",
                      {"procedure": {"name": "x"}, "update_mask": "name,nickname,version", "expected_version": "1"},
                      headers=admin)
    assert refused.status == 400, refused.raw
    violations = refused.json["error"]["details"][0]["field_violations"]
    assert [v["field"] for v in violations] == ["update_mask", "update_mask"]
    assert "nickname" in violations[0]["description"] and "version" in violations[1]["description"]
    unchanged = gw.call("GET", f"/v1/procedures/{pid}", headers=admin).json["procedure"]
    assert unchanged["version"] == "1" and unchanged["name"] == "Đăng ký khai sinh"

    # The same over gRPC.
    stub = procedures_stub(backends["procedures"], auth.issue(agency_id=agency).access_token)
    with pytest.raises(grpc.RpcError) as failure:
        stub.UpdateProcedure(pb.UpdateProcedureRequest(
            procedure_id=pid, procedure=procedure_pb2.Procedure(name="x"), expected_version=1,
            update_mask=field_mask_pb2.FieldMask(paths=["code", "fees.name"])), timeout=20)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    (bad_request,) = details(failure.value, error_details_pb2.BadRequest)
    described = [(v.field, v.description) for v in bad_request.field_violations]
    assert [f for f, _ in described] == ["update_mask", "update_mask"], described  # code: not editable
    assert "'code'" in described[0][1] and "'fees.name'" in described[1][1]
    masked = stub.UpdateProcedure(pb.UpdateProcedureRequest(
        procedure_id=pid, procedure=procedure_pb2.Procedure(field="Chứng thực"), expected_version=1,
        update_mask=field_mask_pb2.FieldMask(paths=["field"])), timeout=20)
    assert (masked.procedure.field, masked.procedure.name) == ("Chứng thực", "Đăng ký khai sinh")
