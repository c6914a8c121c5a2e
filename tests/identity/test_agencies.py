"""The agency tree over real gRPC: seeded from the sample file by the command-line importer
(twice: nothing changes), children of a parent, names and closures in time."""

from __future__ import annotations

import grpc
import pytest
from google.type import date_pb2

from motcua.identity.v1 import agency_pb2, events_pb2, identity_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from tests.support.clients import field_violations
from tests.support.identity import PROVINCE, identity_service_stub, seed_agencies, token, unique_eid
from tests.support.topics import find_envelope

COMMUNE = agency_pb2.AGENCY_KIND_COMMUNE
DEPARTMENT = agency_pb2.AGENCY_KIND_DEPARTMENT


def day(text: str) -> date_pb2.Date:
    year, month, dd = map(int, text.split("-"))
    return date_pb2.Date(year=year, month=month, day=dd)


def failure(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def all_pages(stub, **filters) -> list[agency_pb2.Agency]:
    agencies, page_token = [], ""
    while True:
        page = stub.ListAgencies(pb.ListAgenciesRequest(page_size=3, page_token=page_token, **filters))
        agencies += page.agencies
        page_token = page.next_page_token
        if not page_token:
            return agencies


def test_the_sample_tree_is_seeded_once_and_again_changes_nothing(identity_addr, agency_tree, province_admin):
    again = seed_agencies(identity_addr)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == "0 created, 12 unchanged, 0 different, 0 failed"
    root = province_admin.GetAgency(pb.GetAgencyRequest(agency_id=PROVINCE)).agency
    assert (root.name, root.kind, root.parent_agency_id) == \
        ("Ủy ban nhân dân tỉnh Thanh Hóa", agency_pb2.AGENCY_KIND_PROVINCE, "")
    children = all_pages(province_admin, parent_agency_id=PROVINCE)
    names = {a.agency_id: a.name for a in children}
    assert names["000.00.01.H56"] == "Trung tâm Phục vụ hành chính công tỉnh"
    assert names["000.22.40.H56"] == "Ủy ban nhân dân xã Đông Sơn"
    assert {"000.00.10.H56", "000.00.15.H56", "000.23.50.H56"} <= set(names)


def test_any_caller_reads_the_tree_but_only_administrators_above_change_it(identity_addr, agency_tree):
    citizen = identity_service_stub(identity_addr, token(Role.ROLE_APPLICANT))
    assert citizen.GetAgency(pb.GetAgencyRequest(agency_id="000.00.12.H56")).agency.name == "Sở Tài chính"
    finance_admin = identity_service_stub(identity_addr, token(Role.ROLE_ADMINISTRATOR, agency_id="000.00.12.H56"))
    error = failure(lambda: finance_admin.CreateAgency(pb.CreateAgencyRequest(
        agency_id=unique_eid(), name="Sở Mới", kind=DEPARTMENT, parent_agency_id=PROVINCE)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    unit = finance_admin.CreateAgency(pb.CreateAgencyRequest(
        agency_id=unique_eid(), name="Chi cục Tài chính doanh nghiệp", kind=DEPARTMENT,
        parent_agency_id="000.00.12.H56")).agency
    assert unit.parent_agency_id == "000.00.12.H56"


def test_an_unknown_parent_or_a_province_with_a_parent_is_invalid(province_admin):
    error = failure(lambda: province_admin.CreateAgency(pb.CreateAgencyRequest(
        agency_id=unique_eid(), name="Xã Không Tồn Tại", kind=COMMUNE, parent_agency_id="999.99.99.H56")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == {"parent_agency_id": "no agency 999.99.99.H56"}
    error = failure(lambda: province_admin.CreateAgency(pb.CreateAgencyRequest(
        agency_id=unique_eid(), name="Xã Mồ Côi", kind=COMMUNE)))
    assert "parent_agency_id" in field_violations(error)
    error = failure(lambda: province_admin.CreateAgency(pb.CreateAgencyRequest(
        agency_id=PROVINCE, name="Trùng", kind=agency_pb2.AGENCY_KIND_PROVINCE)))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS


def test_a_rename_keeps_the_old_name_for_earlier_days(stack, province_admin):
    eid = unique_eid()
    province_admin.CreateAgency(pb.CreateAgencyRequest(
        agency_id=eid, name="Ủy ban nhân dân xã Hoằng Lộc", kind=COMMUNE, parent_agency_id=PROVINCE,
        valid_from=day("2025-07-01")))
    renamed = province_admin.RenameAgency(
        pb.RenameAgencyRequest(
            agency_id=eid, name="Ủy ban nhân dân xã Hoằng Hóa", effective_date=day("2026-01-01"), expected_version=1
        )
    ).agency
    assert [n.name for n in renamed.names] == ["Ủy ban nhân dân xã Hoằng Lộc", "Ủy ban nhân dân xã Hoằng Hóa"]
    before = province_admin.GetAgency(pb.GetAgencyRequest(agency_id=eid, as_of=day("2025-12-31"))).agency
    after = province_admin.GetAgency(pb.GetAgencyRequest(agency_id=eid, as_of=day("2026-01-01"))).agency
    assert (before.name, after.name) == ("Ủy ban nhân dân xã Hoằng Lộc", "Ủy ban nhân dân xã Hoằng Hóa")
    error = failure(lambda: province_admin.RenameAgency(pb.RenameAgencyRequest(
        agency_id=eid, name="Sớm hơn", effective_date=day("2025-12-01"))))
    assert "effective_date" in field_violations(error)
    envelope = find_envelope(stack.kafka.bootstrap, "motcua.identity.events.v1",
                             lambda e: e.type == "motcua.identity.v1.AgencyRenamed" and e.aggregate_version == 2
                             and _renamed(e).agency_id == eid)
    assert _renamed(envelope).effective_date == "2026-01-01"


def _renamed(envelope) -> events_pb2.AgencyRenamed:
    event = events_pb2.AgencyRenamed()
    envelope.payload.Unpack(event)
    return event


def test_a_merged_agency_is_closed_with_its_successor_and_drops_out_of_later_days(province_admin):
    parent = unique_eid()
    province_admin.CreateAgency(pb.CreateAgencyRequest(
        agency_id=parent, name="Ủy ban nhân dân xã Hà Trung", kind=COMMUNE, parent_agency_id=PROVINCE,
        valid_from=day("2025-07-01")))
    old, new = unique_eid(), unique_eid()
    for eid, name in ((old, "Tổ một cửa Hà Ngọc"), (new, "Tổ một cửa Hà Trung")):
        province_admin.CreateAgency(pb.CreateAgencyRequest(
            agency_id=eid, name=name, kind=COMMUNE, parent_agency_id=parent, valid_from=day("2025-07-01")))
    closed = province_admin.CloseAgency(pb.CloseAgencyRequest(
        agency_id=old, close_date=day("2026-03-01"), successor_agency_id=new)).agency
    assert (closed.valid_to, closed.successor_agency_id) == (day("2026-03-01"), new)
    in_force = lambda d: {a.agency_id for a in all_pages(province_admin, parent_agency_id=parent, as_of=day(d))}
    assert in_force("2026-02-28") == {old, new}
    assert in_force("2026-03-01") == {new}
    assert {a.agency_id for a in all_pages(province_admin, parent_agency_id=parent)} == {old, new}
    error = failure(lambda: province_admin.RenameAgency(pb.RenameAgencyRequest(agency_id=old, name="Muộn rồi")))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    error = failure(lambda: province_admin.CreateAgency(pb.CreateAgencyRequest(
        agency_id=unique_eid(), name="Con của đơn vị đã đóng", kind=COMMUNE, parent_agency_id=old)))
    assert "parent_agency_id" in field_violations(error)
    error = failure(lambda: province_admin.CloseAgency(pb.CloseAgencyRequest(agency_id=unique_eid())))
    assert error.code() == grpc.StatusCode.NOT_FOUND
