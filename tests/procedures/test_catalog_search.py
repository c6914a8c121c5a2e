"""Listing and searching the catalog over real gRPC and PostgreSQL: filters, Vietnamese text
with or without diacritics, stable pages; and the search table rebuilt from the event log."""

from __future__ import annotations

import uuid

import grpc
import psycopg
import pytest

from motcua.procedures.application import ProceduresApplication
from motcua.procedures.v1 import procedure_pb2 as p, procedure_service_pb2 as pb
from tests.support import auth
from tests.support.clients import field_violations, procedures_stub
from tests.support.dossiers import fresh_agency
from tests.support.procedures import full_create_request


@pytest.fixture(scope="module")
def catalog(services):
    """Procedures of one fresh agency (so other tests' rows never match), some published, by
    that agency's administrator."""
    agency = fresh_agency()
    procedures = procedures_stub(services[0].addr, auth.issue(agency_id=agency).access_token)
    made = {}
    for key, name, field, level, mode in [
        ("birth", "Đăng ký khai sinh", "Hộ tịch", p.PROCEDURE_LEVEL_COMMUNE, p.ONLINE_MODE_FULL),
        ("late_birth", "Đăng ký lại khai sinh", "Hộ tịch", p.PROCEDURE_LEVEL_COMMUNE, p.ONLINE_MODE_PARTIAL),
        ("marriage", "Đăng ký kết hôn", "Hộ tịch", p.PROCEDURE_LEVEL_COMMUNE, p.ONLINE_MODE_PARTIAL),
        ("record", "Cấp Phiếu lý lịch tư pháp", "Lý lịch tư pháp", p.PROCEDURE_LEVEL_PROVINCE, p.ONLINE_MODE_FULL),
        ("permit", "Cấp giấy phép xây dựng", "Hoạt động xây dựng", p.PROCEDURE_LEVEL_PROVINCE, p.ONLINE_MODE_PARTIAL),
    ]:
        request = full_create_request(name=name, agency_id=agency, field=field, level=level, online_mode=mode)
        made[key] = procedures.CreateProcedure(request).procedure
    for key in ("birth", "record"):
        procedures.PublishProcedure(pb.PublishProcedureRequest(procedure_id=made[key].procedure_id))
    return agency, made


def names(procedures, **filters) -> list[str]:
    return [v.name for v in procedures.ListProcedures(pb.ListProceduresRequest(page_size=100, **filters)).procedures]


@pytest.mark.parametrize("query", ["dang ky khai sinh", "Đăng ký khai sinh", "ĐĂNG KÝ KHAI SINH", "khai  sinh dang"])
def test_free_text_matches_with_or_without_diacritics(procedures, catalog, query):
    agency, _ = catalog
    assert sorted(names(procedures, agency_id=agency, query=query)) == ["Đăng ký khai sinh", "Đăng ký lại khai sinh"]


def test_free_text_matches_the_code_and_escapes_wildcards(procedures, catalog):
    agency, made = catalog
    assert names(procedures, agency_id=agency, query=made["marriage"].code) == ["Đăng ký kết hôn"]
    assert names(procedures, agency_id=agency, query="%") == []
    assert names(procedures, agency_id=agency, query="ket hon xyz") == []


def test_filters_by_field_level_online_mode_and_state(procedures, catalog):
    agency, _ = catalog
    assert len(names(procedures, agency_id=agency)) == 5
    assert sorted(names(procedures, agency_id=agency, field="ho tich")) == [
        "Đăng ký khai sinh",
        "Đăng ký kết hôn",
        "Đăng ký lại khai sinh",
    ]
    assert sorted(names(procedures, agency_id=agency, level=p.PROCEDURE_LEVEL_PROVINCE)) == [
        "Cấp Phiếu lý lịch tư pháp",
        "Cấp giấy phép xây dựng",
    ]
    assert names(procedures, agency_id=agency, level=p.PROCEDURE_LEVEL_PROVINCE, online_mode=p.ONLINE_MODE_FULL) == [
        "Cấp Phiếu lý lịch tư pháp"
    ]
    assert sorted(names(procedures, agency_id=agency, state=p.PROCEDURE_STATE_PUBLISHED)) == [
        "Cấp Phiếu lý lịch tư pháp",
        "Đăng ký khai sinh",
    ]


def test_every_version_is_listed_with_its_state(services, catalog):
    agency, made = catalog
    procedures = procedures_stub(
        services[0].addr, auth.issue(agency_id=agency).access_token
    )  # the agency's administrator
    pid = made["birth"].procedure_id
    draft = procedures.DraftProcedureVersion(pb.DraftProcedureVersionRequest(procedure_id=pid)).procedure
    renamed = procedures.RenameProcedure(
        pb.RenameProcedureRequest(procedure_id=pid, name="Đăng ký khai sinh lưu động", expected_version=draft.version)
    ).procedure
    listed = procedures.ListProcedures(pb.ListProceduresRequest(code=made["birth"].code)).procedures
    assert [(v.version_number, v.state, v.name) for v in listed] == [
        (1, p.PROCEDURE_STATE_PUBLISHED, "Đăng ký khai sinh"),
        (2, p.PROCEDURE_STATE_DRAFT, "Đăng ký khai sinh lưu động"),
    ]
    assert {v.version for v in listed} == {renamed.version}  # the aggregate's, for expected_version
    assert names(procedures, agency_id=agency, query="luu dong") == ["Đăng ký khai sinh lưu động"]
    procedures.PublishProcedure(pb.PublishProcedureRequest(procedure_id=pid))
    listed = procedures.ListProcedures(pb.ListProceduresRequest(code=made["birth"].code)).procedures
    assert [v.state for v in listed] == [p.PROCEDURE_STATE_SUPERSEDED, p.PROCEDURE_STATE_PUBLISHED]
    assert listed[0].effective_until == listed[1].effective_from


def test_pages_walk_every_match_once_in_code_order(procedures, catalog):
    agency, _ = catalog
    everything = procedures.ListProcedures(pb.ListProceduresRequest(agency_id=agency, page_size=100)).procedures
    walked, token, pages = [], "", 0
    while True:
        page = procedures.ListProcedures(pb.ListProceduresRequest(agency_id=agency, page_size=2, page_token=token))
        walked += page.procedures
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert [(v.code, v.version_number) for v in walked] == [(v.code, v.version_number) for v in everything]
    assert [(v.code, v.version_number) for v in walked] == sorted((v.code, v.version_number) for v in walked)
    assert pages == (len(everything) + 1) // 2


def test_a_foreign_page_token_is_invalid(procedures):
    with pytest.raises(grpc.RpcError) as failure:
        procedures.ListProcedures(pb.ListProceduresRequest(page_token="not-ours"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(failure.value)) == {"page_token"}


def test_a_page_token_continues_only_its_own_query(procedures, catalog):
    agency, _ = catalog
    everything = procedures.ListProcedures(pb.ListProceduresRequest(agency_id=agency, page_size=100)).procedures
    first = procedures.ListProcedures(pb.ListProceduresRequest(agency_id=agency, page_size=2))
    assert first.next_page_token
    # Larger pages of the same query are fine: the page size is not part of the query.
    rest = procedures.ListProcedures(
        pb.ListProceduresRequest(agency_id=agency, page_size=100, page_token=first.next_page_token)
    )
    assert [*first.procedures, *rest.procedures] == list(everything) and not rest.next_page_token
    for other_query in [
        pb.ListProceduresRequest(agency_id=agency, state=p.PROCEDURE_STATE_PUBLISHED, page_token=first.next_page_token),
        pb.ListProceduresRequest(agency_id=agency, query="khai sinh", page_token=first.next_page_token),
        pb.ListProceduresRequest(page_token=first.next_page_token),
    ]:
        with pytest.raises(grpc.RpcError) as failure:
            procedures.ListProcedures(other_query)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(failure.value)) == {"page_token"}


def test_the_search_table_is_rebuilt_from_the_log(stack, procedures, catalog):
    def rows() -> list[tuple]:
        with psycopg.connect(stack.dsn("procedures")) as conn:
            return conn.execute("SELECT * FROM procedures_catalog ORDER BY code, version_number").fetchall()

    before = rows()
    assert before
    with psycopg.connect(stack.dsn("procedures")) as conn:
        conn.execute("DROP TABLE procedures_catalog")
    # A catalog that starts beside a log without its table creates and derives it.
    app = ProceduresApplication(stack.settings("procedures", POSTGRES_POOL_SIZE="2"))
    try:
        app.prepare()
        assert rows() == before
        # Rebuilding an existing table gives the same rows again.
        assert app.recorder.rebuild() > 0
        assert rows() == before
    finally:
        app.close()
    # The running service writes into the rebuilt table.
    created = procedures.CreateProcedure(full_create_request(name=f"Thủ tục {uuid.uuid4().hex[:6]}")).procedure
    assert procedures.ListProcedures(pb.ListProceduresRequest(code=created.code)).procedures[0].name == created.name
