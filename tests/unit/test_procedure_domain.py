"""The procedure aggregate's rules, without any infrastructure."""

from __future__ import annotations

import pytest

from motcua.kernel.errors import InvalidArgument
from motcua.procedures.domain import DRAFT, PUBLISHED, Procedure, ProcedureCode, ProcedureNotDraft


def draft(**overrides) -> Procedure:
    fields = {"code": "1.001193.000.00.00.H56", "name": "  Đăng ký khai sinh ", "agency_id": "000.00.10.H56", "processing_days": 3}
    fields.update(overrides)
    return Procedure.draft(**fields)


def test_a_new_procedure_is_a_trimmed_draft():
    procedure = draft()
    assert procedure.state == DRAFT
    assert procedure.name == "Đăng ký khai sinh"
    assert [type(e).__name__ for e in procedure.collect_events()] == ["Created"]


def test_publishing_records_what_was_published_and_freezes_it():
    procedure = draft()
    procedure.rename("Đăng ký khai sinh lưu động")
    procedure.publish()
    published = procedure.collect_events()[-1]
    assert type(published).__name__ == "Published"
    assert (published.name, published.processing_days) == ("Đăng ký khai sinh lưu động", 3)
    assert procedure.state == PUBLISHED
    with pytest.raises(ProcedureNotDraft, match="it is published"):
        procedure.rename("Tên khác")
    with pytest.raises(ProcedureNotDraft):
        procedure.publish()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "TTHC-01"),
        ("name", "   "),
        ("name", "đ" * 501),
        ("agency_id", "Sở Tư pháp"),
        ("processing_days", 0),
        ("processing_days", 366),
    ],
)
def test_invalid_values_name_their_field(field, value):
    with pytest.raises(InvalidArgument) as error:
        draft(**{field: value})
    assert [v.field for v in error.value.violations] == [field]


def test_codes_index_to_one_stable_id():
    assert ProcedureCode.create_id("1.001193.000.00.00.H56") == ProcedureCode.create_id("1.001193.000.00.00.H56")
    assert ProcedureCode.create_id("1.001193.000.00.00.H56") != ProcedureCode.create_id("1.000894.000.00.00.H56")
