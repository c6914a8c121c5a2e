"""Calendars over REST/JSON through the gateway, as a browser would call them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.support import Gateway, StartGateway
from tests.gateway.test_rest import assert_error, details_of, violations
from tests.support import auth
from tests.support.calendars import plain_2026
from tests.support.dossiers import fresh_agency
from tests.support.waiting import eventually

RESOURCE_INFO = "type.googleapis.com/google.rpc.ResourceInfo"


@pytest.fixture(scope="module")
def gw(services, start_module_gateway: StartGateway) -> Iterator[Gateway]:
    yield start_module_gateway(services)


def administrator_of(gw: Gateway, agency: str):
    """``gw.call`` as an administrator of the agency: only they edit its calendars."""
    headers = {"Authorization": f"Bearer {auth.issue(agency_id=agency).access_token}"}
    return lambda method, path, body=None, **kwargs: gw.call(method, path, body, headers=headers, **kwargs)


def new_calendar(agency_id: str) -> dict:
    plain = plain_2026()
    return {**plain, "agency_id": agency_id, "weekend": [d.upper() for d in plain["weekend"]]}


def test_create_correct_publish_and_read_the_copy_in_json(gw: Gateway):
    agency = fresh_agency()
    call = administrator_of(gw, agency)
    created = call("POST", "/v1/calendars", new_calendar(agency))
    assert created.status == 200, created.raw
    calendar = created.json["calendar"]
    assert calendar["state"] == "CALENDAR_STATE_DRAFT" and calendar["weekend"] == ["SATURDAY", "SUNDAY"]
    assert calendar["version"] == "1" and calendar["calendar_version"] == 1
    cid = calendar["calendar_id"]

    added = call("POST", f"/v1/calendars/{cid}:addHoliday",
                    {"holiday": {"date": "2026-11-24", "name": "Ngày Văn hóa Việt Nam"}, "expected_version": "1"})
    assert added.status == 200, added.raw
    published = call("POST", f"/v1/calendars/{cid}:publish", {})
    assert published.json["calendar"]["state"] == "CALENDAR_STATE_PUBLISHED"

    copy = eventually(
        lambda: (r := call("GET", f"/v1/calendar-replicas/2026?agency_id={agency}")).status == 200 and r.json,
        what="calendar replica over REST",
    )
    assert {"date": "2026-11-24", "name": "Ngày Văn hóa Việt Nam"} in copy["calendar"]["holidays"]
    assert copy["calendar"]["calendar_id"] == cid

    listed = call("GET", f"/v1/calendars?agency_id={agency}&year=2026")
    assert [c["calendar_id"] for c in listed.json["calendars"]] == [cid]


def test_errors_name_the_field(gw: Gateway):
    agency = fresh_agency()
    call = administrator_of(gw, agency)
    bad = {**new_calendar(agency), "reception_cutoff": "18:00", "weekend": ["SATURDAY", "FUNDAY"]}
    body = assert_error(call("POST", "/v1/calendars", bad), 400, "INVALID_ARGUMENT")
    assert "weekend" in " ".join(violations(body))

    assert call("POST", "/v1/calendars", new_calendar(agency)).status == 200
    body = assert_error(call("POST", "/v1/calendars", new_calendar(agency)), 409, "ALREADY_EXISTS")
    assert set(violations(body)) == {"year"}
    assert details_of(body, RESOURCE_INFO)[0]["resource_type"] == "calendar"
