"""The procedure aggregate's rules, without any infrastructure."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from motcua.kernel.errors import InvalidArgument
from motcua.kernel.text import fold
from motcua.procedures.content import (
    WORKING_HOURS,
    Fee,
    ProcedureContent,
    ProcessingTime,
    RequiredDocument,
    Step,
)
from motcua.procedures.domain import (
    DRAFT,
    PUBLISHED,
    SUPERSEDED,
    WITHDRAWN,
    DraftAlreadyOpen,
    NothingInForce,
    Procedure,
    ProcedureCode,
    ProcedureNotDraft,
)

CODE = "1.001193.000.00.00.H56"
STEPS = (
    Step("Tiếp nhận và thẩm định", "civil_status_officer", 0.7),
    Step("Ký duyệt", "leader", 0.2),
    Step("Trả kết quả", "desk_officer", 0.1),
)


def content(**overrides) -> ProcedureContent:
    fields: dict[str, Any] = {
        "name": "  Đăng ký khai sinh ",
        "agency_id": "000.00.10.H56",
        "processing_time": ProcessingTime(3),
        "field": "Hộ tịch",
        "level": "commune",
        "online_mode": "full",
        "fees": (Fee("Lệ phí", 0),),
        "documents": (
            RequiredDocument("Tờ khai đăng ký khai sinh", 1, 0, "TK-01"),
            RequiredDocument("Giấy chứng sinh", 1, 0),
        ),
        "steps": STEPS,
        "result_type": "Giấy khai sinh",
        "legal_basis": ("Luật Hộ tịch 2014",),
    }
    fields.update(overrides)
    return ProcedureContent(**fields)


def draft(**overrides) -> Procedure:
    return Procedure.draft(CODE, content(**overrides))


def test_a_new_procedure_is_a_trimmed_draft_of_version_1():
    procedure = draft()
    assert (procedure.state, procedure.latest["number"]) == (DRAFT, 1)
    assert procedure.content.name == "Đăng ký khai sinh"
    assert procedure.content.supplement_rule == "resume"  # the default rule
    assert [type(e).__name__ for e in procedure.collect_events()] == ["Created"]


def test_publishing_records_what_was_published_and_freezes_it():
    procedure = draft()
    procedure.rename("Đăng ký khai sinh lưu động")
    procedure.publish()
    published = procedure.collect_events()[-1]
    assert type(published).__name__ == "Published"
    assert (published.number, published.superseded, published.content["name"]) == (1, 0, "Đăng ký khai sinh lưu động")
    assert procedure.state == PUBLISHED
    assert procedure.latest["effective_from"] == published.timestamp
    with pytest.raises(ProcedureNotDraft, match="version 1: it is published"):
        procedure.rename("Tên khác")
    with pytest.raises(ProcedureNotDraft, match="it is published"):
        procedure.revise(content(name="Tên khác"))
    with pytest.raises(ProcedureNotDraft):
        procedure.publish()


def test_a_change_is_a_new_version_that_supersedes_the_one_in_force_when_published():
    procedure = draft()
    procedure.publish()
    procedure.draft_next_version()
    assert [v["state"] for v in procedure.versions] == [PUBLISHED, DRAFT]
    assert procedure.content == content().trimmed()  # the draft starts from the latest version
    with pytest.raises(DraftAlreadyOpen, match="it is draft"):
        procedure.draft_next_version()
    assert procedure.revise(content(processing_time=ProcessingTime(5)))
    assert not procedure.revise(content(processing_time=ProcessingTime(5)))  # no change, no event
    procedure.publish()
    v1, v2 = procedure.versions
    assert (v1["state"], v2["state"]) == (SUPERSEDED, PUBLISHED)
    assert v1["effective_until"] == v2["effective_from"]
    assert v1["content"]["processing_time"] == {"value": 3, "unit": "working_days"}  # untouched

    published_v2 = v2["effective_from"]
    assert procedure.in_force_at(published_v2) is v2
    assert procedure.in_force_at(published_v2 - timedelta(microseconds=1)) is v1
    assert procedure.in_force_at(v1["effective_from"] - timedelta(seconds=1)) is None


def test_withdrawal_ends_the_version_in_force():
    procedure = draft()
    with pytest.raises(NothingInForce, match="it is draft"):
        procedure.withdraw()
    procedure.publish()
    procedure.withdraw()
    (v1,) = procedure.versions
    assert v1["state"] == WITHDRAWN
    assert procedure.in_force_at(v1["effective_until"]) is None
    assert procedure.in_force_at(v1["effective_from"]) is v1
    with pytest.raises(NothingInForce, match="it is withdrawn"):
        procedure.withdraw()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "đ" * 501}, "name"),
        ({"agency_id": "Sở Tư pháp"}, "agency_id"),
        ({"processing_time": ProcessingTime(0)}, "processing_time.value"),
        ({"processing_time": ProcessingTime(-2)}, "processing_time.value"),
        ({"processing_time": ProcessingTime(366)}, "processing_time.value"),
        ({"processing_time": ProcessingTime(2921, WORKING_HOURS)}, "processing_time.value"),
        ({"processing_time": ProcessingTime(3, "fortnights")}, "processing_time.unit"),
        ({"level": "district"}, "level"),
        ({"fees": (Fee("Lệ phí", -1),)}, "fees[0].amount_vnd"),
        ({"documents": (RequiredDocument("Tờ khai", 0, 0),)}, "required_documents[0]"),
        ({"steps": STEPS[:2]}, "steps"),
        ({"steps": (Step("Xử lý", "", 1),)}, "steps[0].role"),
        ({"supplement_rule": "pause"}, "supplement_rule"),
    ],
)
def test_invalid_values_name_their_field(overrides, field):
    with pytest.raises(InvalidArgument) as error:
        draft(**overrides)
    assert [v.field for v in error.value.violations] == [field]


def test_a_share_out_of_range_is_named_beside_the_sum():
    with pytest.raises(InvalidArgument) as error:
        draft(steps=(Step("Xử lý", "specialist", 1.5),))
    assert [v.field for v in error.value.violations] == ["steps[0].share", "steps"]


def test_every_bad_field_is_named_at_once_with_the_code():
    with pytest.raises(InvalidArgument) as error:
        Procedure.draft("TTHC-01", content(name="", steps=STEPS[:1]))
    assert [v.field for v in error.value.violations] == ["code", "name", "steps"]


def test_shares_written_as_decimals_sum_to_one():
    assert sum(s.share for s in STEPS) != 1  # 0.9999999999999999 in binary floats
    draft(steps=STEPS)


def test_working_hours_round_up_to_whole_days_for_the_legacy_field():
    assert ProcessingTime(4, WORKING_HOURS).days == 1
    assert ProcessingTime(12, WORKING_HOURS).days == 2
    assert ProcessingTime(3).days == 3


def test_content_round_trips_through_plain_values():
    value = content().trimmed()
    assert ProcedureContent.from_dict(value.as_dict()) == value
    assert replace(value, name="x").as_dict()["name"] == "x"


def test_events_written_before_the_full_record_are_upcast():
    created = {"code": CODE, "name": "Đăng ký khai sinh", "agency_id": "000.00.10.H56", "processing_days": 3}
    Procedure.Created.upcast_v1_v2(created)
    assert created == {"code": CODE, "content": ProcedureContent.legacy("Đăng ký khai sinh", "000.00.10.H56", 3)}
    published = {"code": CODE, "name": "Đăng ký khai sinh", "agency_id": "000.00.10.H56", "processing_days": 3}
    Procedure.Published.upcast_v1_v2(published)
    assert (published["number"], published["superseded"], published["content"]["processing_time"]) == (
        1, 0, {"value": 3, "unit": "working_days"},
    )


def test_codes_index_to_one_stable_id():
    assert ProcedureCode.create_id(CODE) == ProcedureCode.create_id(CODE)
    assert ProcedureCode.create_id(CODE) != ProcedureCode.create_id("1.000894.000.00.00.H56")


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đăng ký khai sinh", "dang ky khai sinh"),
        ("  ĐĂNG   KÝ  ", "dang ky"),
        ("Cấp Phiếu lý lịch tư pháp", "cap phieu ly lich tu phap"),
        ("Chứng thực bản sao", "chung thuc ban sao"),
        ("dang ky khai sinh", "dang ky khai sinh"),
    ],
)
def test_vietnamese_text_folds_without_diacritics(text, folded):
    assert fold(text) == folded
