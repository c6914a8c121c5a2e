"""The rules of an officer-signed result, without processes: which procedures need the officer's
signature before the seal, and when the officer's signature request may take the agency seal."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest

from motcua.dossiers.domain.dossier.closing import officer_signs_results
from motcua.kernel.errors import InvalidArgument
from motcua.signing.domain import REQUEST_SIGNED, RequestNotSigned, SignatureRequest

COMMUNE = "000.21.30.H56"
DOSSIER = str(uuid.uuid4())
DOCUMENT = "Giấy khai sinh".encode()


def test_the_configured_procedures_or_every_one_need_the_officers_signature():
    assert officer_signs_results(frozenset({"1.000894", "2.000123"}), "1.000894")
    assert not officer_signs_results(frozenset({"1.000894"}), "1.001193")
    assert not officer_signs_results(frozenset(), "1.000894")
    assert officer_signs_results(frozenset({"*"}), "1.001193")


def request() -> SignatureRequest:
    now = dt.datetime.now(dt.UTC)
    return SignatureRequest.request(
        idempotency_key=str(uuid.uuid4()), document_name="giay-khai-sinh.pdf",
        document_sha256=hashlib.sha256(DOCUMENT).hexdigest(), signer_account_id=str(uuid.uuid4()),
        agency_id=COMMUNE, dossier_id=DOSSIER, reason="Ký duyệt", requested_by=str(uuid.uuid4()),
        signer_certificate_sha256="a" * 64, data_to_sign=b"\x31\x00", document_digest=b"\x00" * 32,
        reserved_region=(100, 200), requested_at=now, expires_at=now + dt.timedelta(minutes=15))


def test_only_a_confirmed_request_for_the_same_document_agency_and_dossier_takes_the_seal():
    asked = request()
    with pytest.raises(RequestNotSigned, match="pending, not signed by the officer"):
        asked.check_sealable(hashlib.sha256(DOCUMENT).hexdigest(), COMMUNE, DOSSIER)
    asked.confirm("b" * 64, "1f", dt.datetime.now(dt.UTC), asked.signer_account_id)
    assert asked.state == REQUEST_SIGNED
    asked.check_sealable(hashlib.sha256(DOCUMENT).hexdigest(), COMMUNE, DOSSIER)
    with pytest.raises(InvalidArgument, match="the officer was asked to sign"):
        asked.check_sealable(hashlib.sha256(b"another").hexdigest(), COMMUNE, DOSSIER)
    with pytest.raises(InvalidArgument, match="another agency or dossier"):
        asked.check_sealable(hashlib.sha256(DOCUMENT).hexdigest(), "000.00.00.H56", DOSSIER)
    with pytest.raises(InvalidArgument, match="another agency or dossier"):
        asked.check_sealable(hashlib.sha256(DOCUMENT).hexdigest(), COMMUNE, str(uuid.uuid4()))


def test_a_refused_request_takes_no_seal():
    refused = request()
    refused.refuse("Sai họ tên", refused.signer_account_id)
    with pytest.raises(RequestNotSigned, match="refused"):
        refused.check_sealable(hashlib.sha256(DOCUMENT).hexdigest(), COMMUNE, DOSSIER)
