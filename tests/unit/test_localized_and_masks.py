"""Pure rules behind the API's polish: which language an Accept-Language asks for, which catalogue
entry an error gets, and which update_mask paths an update takes."""

from __future__ import annotations

import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2, status_pb2

from motcua.kernel.errors import InvalidArgument
from motcua.kernel.field_masks import apply_mask, check_mask, is_partial
from motcua.kernel.grpc_errors import pack_details
from motcua.kernel.localized import CATALOGUE, catalogue_key, choose_locale, localize
from motcua.procedures.v1 import procedure_pb2


@pytest.mark.parametrize(("header", "locale"), [
    (None, "vi-VN"), ("", "vi-VN"), ("fr-FR", "vi-VN"), ("en", "en"), ("en-US,en;q=0.9", "en"),
    ("vi", "vi-VN"), ("vi-VN,vi;q=0.9,en;q=0.8", "vi-VN"), ("en;q=0.4, vi;q=0.6", "vi-VN"),
    ("fr;q=1, en;q=0.7", "en"), ("en;q=0, vi;q=0", "vi-VN"), ("en;q=abc", "vi-VN"),
])
def test_the_locale_an_accept_language_asks_for(header, locale):
    assert choose_locale(header) == locale


def test_a_reason_in_the_catalogue_wins_over_the_code():
    info = error_details_pb2.ErrorInfo(reason="VERSION_CONFLICT")
    assert catalogue_key("ABORTED", pack_details(info)) == "VERSION_CONFLICT"
    assert catalogue_key("NOT_FOUND", pack_details(error_details_pb2.ErrorInfo(reason="SOMETHING_ELSE"))) == \
        "NOT_FOUND"
    assert all(vi != en and vi and en for vi, en in CATALOGUE.values())


def test_a_status_is_localized_once():
    status = status_pb2.Status(code=5, message="dossier x not found")
    localize(status, "NOT_FOUND", "en")
    localize(status, "NOT_FOUND", "vi-VN")
    (detail,) = status.details
    message = error_details_pb2.LocalizedMessage()
    detail.Unpack(message)
    assert (message.locale, message.message) == ("en", "What was asked for was not found.")


def test_mask_paths_must_name_editable_fields():
    procedure = procedure_pb2.Procedure.DESCRIPTOR
    check_mask(field_mask_pb2.FieldMask(paths=["name", "processing_time.value"]), procedure)
    with pytest.raises(InvalidArgument) as refused:
        check_mask(field_mask_pb2.FieldMask(paths=["name", "nope", "version", "fees.name", "code"]), procedure,
                   editable={"name", "fees"})
    assert [v.field for v in refused.value.violations] == ["update_mask"] * 4
    assert not is_partial(field_mask_pb2.FieldMask()) and not is_partial(field_mask_pb2.FieldMask(paths=["*"]))


def test_a_mask_takes_only_the_named_fields_and_clears_named_unset_ones():
    current = procedure_pb2.Procedure(name="Đăng ký khai sinh", field="Hộ tịch", legal_basis=["Luật Hộ tịch 2014"])
    patch = procedure_pb2.Procedure(name="Đăng ký kết hôn", field="Chứng thực")
    merged = apply_mask(current, patch, field_mask_pb2.FieldMask(paths=["name", "legal_basis"]))
    assert (merged.name, merged.field, list(merged.legal_basis)) == ("Đăng ký kết hôn", "Hộ tịch", [])
    assert current.name == "Đăng ký khai sinh"  # the current one is left as it was
