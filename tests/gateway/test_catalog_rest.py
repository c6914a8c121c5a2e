"""The versioned catalog over REST/JSON through the gateway: search without diacritics, the
version in force, an update naming the bad field inside the procedure."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest

from tests.gateway.support import Gateway, StartGateway
from tests.gateway.test_rest import assert_error, violations
from tests.support import auth
from tests.support.dossiers import fresh_agency
from tests.support.procedures import unique_code


@pytest.fixture(scope="module")
def gw(services, start_module_gateway: StartGateway) -> Iterator[Gateway]:
    yield start_module_gateway(services)


def administrator_of(gw: Gateway, agency: str):
    """``gw.call`` as an administrator of the agency: only they edit its procedures."""
    headers = {"Authorization": f"Bearer {auth.issue(agency_id=agency).access_token}"}
    return lambda method, path, body=None, **kwargs: gw.call(method, path, body, headers=headers, **kwargs)


def record(name: str, agency: str, **overrides) -> dict:
    return {
        "code": unique_code(),
        "name": name,
        "agency_id": agency,
        "field": "Hộ tịch",
        "level": "PROCEDURE_LEVEL_COMMUNE",
        "online_mode": "ONLINE_MODE_FULL",
        "processing_time": {"value": 1, "unit": "PROCESSING_TIME_UNIT_WORKING_DAYS"},
        "fees": [{"name": "Lệ phí", "amount_vnd": "8000"}],
        "steps": [
            {"name": "Thẩm định", "role": "civil_status_officer", "share": 0.7},
            {"name": "Ký duyệt", "role": "leader", "share": 0.3},
        ],
        **overrides,
    }


def test_search_without_diacritics_finds_vietnamese_names(gw: Gateway):
    agency = fresh_agency()
    call = administrator_of(gw, agency)
    for name in ("Đăng ký khai sinh", "Đăng ký kết hôn"):
        created = call("POST", "/v1/procedures", record(name, agency))
        assert created.status == 200, created.raw
    query = urllib.parse.urlencode({"query": "dang ky khai sinh", "agency_id": agency, "page_size": 10})
    found = call("GET", f"/v1/procedures?{query}")
    assert found.status == 200, found.raw
    assert [p["name"] for p in found.json["procedures"]] == ["Đăng ký khai sinh"]
    assert "Đăng ký khai sinh".encode() in found.raw  # UTF-8 as is
    assert found.json["next_page_token"] == ""

    by_field = call("GET", f"/v1/procedures?agency_id={agency}&field=ho%20tich&level=PROCEDURE_LEVEL_COMMUNE")
    assert sorted(p["name"] for p in by_field.json["procedures"]) == ["Đăng ký khai sinh", "Đăng ký kết hôn"]


def test_the_version_in_force_by_code_and_time(gw: Gateway):
    agency = fresh_agency()
    call = administrator_of(gw, agency)
    body = record("Đăng ký khai tử", agency)
    pid = call("POST", "/v1/procedures", body).json["procedure"]["procedure_id"]
    missing = call("GET", "/v1/procedures:inForce?code=" + body["code"])
    assert_error(missing, 404, "NOT_FOUND")
    published = call("POST", f"/v1/procedures/{pid}:publish").json["procedure"]
    assert published["version_number"] == 1 and published["effective_from"]

    found = call(
        "GET", f"/v1/procedures:inForce?code={body['code']}&at={urllib.parse.quote(published['effective_from'])}"
    )
    assert found.status == 200, found.raw
    assert found.json["procedure"] == published
    before = call("GET", f"/v1/procedures:inForce?code={body['code']}&at=2020-01-01T00:00:00Z")
    assert_error(before, 404, "NOT_FOUND")


def test_an_update_of_a_draft_and_of_a_published_version(gw: Gateway):
    agency = fresh_agency()
    call = administrator_of(gw, agency)
    body = record("Đăng ký giám hộ", agency)
    created = call("POST", "/v1/procedures", body).json["procedure"]
    pid = created["procedure_id"]
    bad = {**created, "steps": [{"name": "Thẩm định", "role": "specialist", "share": 0.5}]}
    reply = call("PATCH", f"/v1/procedures/{pid}", {"procedure": bad, "expected_version": "1"})
    assert violations(assert_error(reply, 400, "INVALID_ARGUMENT")) == {
        "procedure.steps": "shares must sum to 1, not 0.5"
    }

    good = {**created, "result_type": "Quyết định công nhận việc giám hộ"}
    updated = call("PATCH", f"/v1/procedures/{pid}", {"procedure": good, "expected_version": "1"})
    assert updated.status == 200, updated.raw
    assert updated.json["procedure"]["result_type"] == "Quyết định công nhận việc giám hộ"

    call("POST", f"/v1/procedures/{pid}:publish")
    frozen = call("PATCH", f"/v1/procedures/{pid}", {"procedure": good, "expected_version": "3"})
    assert_error(frozen, 400, "FAILED_PRECONDITION")
    drafted = call("POST", f"/v1/procedures/{pid}:draftVersion", {})
    assert drafted.status == 200, drafted.raw
    assert (drafted.json["procedure"]["version_number"], drafted.json["procedure"]["state"]) == (
        2,
        "PROCEDURE_STATE_DRAFT",
    )
