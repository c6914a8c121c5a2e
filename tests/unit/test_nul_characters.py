"""Text fields with a NUL character are refused by name before a service sees them: valid
UTF-8, but never text a person wrote, and PostgreSQL cannot store it (the fuzzer's 500 on
GET /v1/dossiers?query=%00)."""

from __future__ import annotations

import pytest

from motcua.dossiers.v1 import dossier_service_pb2 as dpb
from motcua.kernel.errors import InvalidArgument
from motcua.kernel.validation import nul_fields, validate_request
from motcua.notifications.v1 import notification_service_pb2 as npb


def test_every_text_field_holding_nul_is_named():
    request = dpb.SubmitDossierRequest(agency_id="000.00.10.H56")
    request.applicant.full_name = "Nguyễn\x00Thị Hằng"
    request.documents.add(name="Tờ khai")
    request.documents.add(name="Căn\x00cước")
    assert list(nul_fields(request)) == ["applicant.full_name", "documents[1].name"]
    send = npb.SendNotificationRequest(parameters={"ngay": "12/03\x00/2026", "noi": "Thanh Hóa"})
    assert list(nul_fields(send)) == ['parameters["ngay"]']


def test_a_list_query_with_nul_is_an_invalid_argument_naming_it():
    with pytest.raises(InvalidArgument) as refused:
        validate_request(dpb.ListDossiersRequest(query="nguyen\x00"))
    assert [v.field for v in refused.value.violations] == ["query"]
    validate_request(dpb.ListDossiersRequest(query="nguyễn thị"))  # Vietnamese text passes
