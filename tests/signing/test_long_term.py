"""Long-term PAdES against a real signing process, a real OCSP responder and CRL, and a timestamp
authority: B-LT seals carry the validation data in the document security store, B-LTA a
document timestamp over it; VerifyDocument reports per signature the revocation status and its
source, what proves the signing time, the level reached; a revoked and an expired certificate
are reported as such, and no long-term seal is made with them."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader

from motcua.signing import pki
from motcua.signing.domain import KeyOwnership
from motcua.signing.pades import Sealer
from motcua.signing.v1 import signature_verification_pb2 as vpb, signing_service_pb2 as pb
from tests.signing.long_term import PROVINCE, LongTermPki
from tests.signing.pdfs import vietnamese_pdf

REVOKED_KEY = "con-dau-bi-thu-hoi"
EXPIRED_KEY = "con-dau-het-han"


@pytest.fixture(scope="module")
def infra(tmp_path_factory):
    with LongTermPki(tmp_path_factory.mktemp("signing-long-term")) as infra:
        # Two more seals of the province: one revoked, one expired long ago.
        seal = KeyOwnership(agency_id=PROVINCE, purposes=("dossier_result", "certified_copy"))
        key, cert = pki.issue_signing_certificate(infra.ca_key, infra.ca_cert, "Con dấu đã bị thu hồi",
                                                  pki.DEV_ORGANIZATION, key=ec.generate_private_key(ec.SECP256R1()),
                                                  revocation_url=infra.revocation.url)
        pki.write_key_pair(infra.keys_dir, REVOKED_KEY, key, [cert, infra.ca_cert])
        pki.write_ownership(infra.keys_dir, REVOKED_KEY, seal)
        infra.revocation.revoke(cert)
        key = ec.generate_private_key(ec.SECP256R1())
        # Valid for five minutes from the CA's own start (an hour before it was made): expired
        # some 55 minutes ago.
        cert = pki.certify_public_key(infra.ca_key, infra.ca_cert, key.public_key(), "Con dấu đã hết hạn",
                                      pki.DEV_ORGANIZATION, validity=dt.timedelta(minutes=5) - pki.CLOCK_SKEW,
                                      revocation_url=infra.revocation.url,
                                      not_before=infra.ca_cert.not_valid_before_utc)
        assert cert.not_valid_after_utc < dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
        pki.write_key_pair(infra.keys_dir, EXPIRED_KEY, key, [cert, infra.ca_cert])
        pki.write_ownership(infra.keys_dir, EXPIRED_KEY, seal)
        yield infra


@pytest.fixture(scope="module")
def lt_service(stack, infra):
    process = infra.signing_service(stack, "B-LT").start()
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def lta_service(stack, infra):
    process = infra.signing_service(stack, "B-LTA").start()
    yield process
    assert process.terminate() == 0


def verify(infra, service, document: bytes) -> vpb.SignatureVerification:
    (report,) = infra.stub(service).VerifyDocument(pb.VerifyDocumentRequest(document=document)).signatures
    return report


def dss(document: bytes) -> dict[str, int]:
    store = PdfFileReader(BytesIO(document)).root["/DSS"]
    return {kind: len(store.get(f"/{kind}", [])) for kind in ("Certs", "OCSPs", "CRLs")}


def test_b_lt_seals_carry_the_validation_data(infra, lt_service):
    asked = infra.revocation.ocsp_requests
    sealed = infra.signed(lt_service)
    assert sealed.pades_level == pb.PADES_LEVEL_B_LT
    assert infra.revocation.ocsp_requests > asked  # fetched from the responder the certificate names
    embedded = dss(sealed.signed_document)
    assert embedded["Certs"] >= 1 and embedded["OCSPs"] + embedded["CRLs"] >= 1
    assert not PdfFileReader(BytesIO(sealed.signed_document)).embedded_timestamp_signatures
    report = verify(infra, lt_service, sealed.signed_document)
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert report.revocation_status == vpb.REVOCATION_STATUS_GOOD
    assert report.revocation_source == vpb.REVOCATION_SOURCE_EMBEDDED_OCSP
    assert report.signing_time_proof == vpb.SIGNING_TIME_PROOF_SIGNATURE_TIMESTAMP
    assert report.pades_level == vpb.VERIFIED_PADES_LEVEL_B_LT
    assert report.modification_level == vpb.MODIFICATION_LEVEL_LTA_UPDATES


def test_b_lta_seals_add_a_document_timestamp(infra, lta_service):
    stamps = infra.tsa.requests
    sealed = infra.signed(lta_service)
    assert sealed.pades_level == pb.PADES_LEVEL_B_LTA
    assert infra.tsa.requests >= stamps + 2  # at least the signature's timestamp and the document's
    assert len(PdfFileReader(BytesIO(sealed.signed_document)).embedded_timestamp_signatures) == 1
    report = verify(infra, lta_service, sealed.signed_document)
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert report.pades_level == vpb.VERIFIED_PADES_LEVEL_B_LTA
    assert report.revocation_status == vpb.REVOCATION_STATUS_GOOD


def test_a_b_t_signature_by_a_revoked_certificate_is_reported_revoked(infra, lta_service):
    pair = pki.load_key_pairs(infra.keys_dir)[REVOKED_KEY]
    signed = Sealer([pair], tsa_url=infra.tsa.url).seal(vietnamese_pdf(), REVOKED_KEY, "", "",
                                                       dt.datetime.now(dt.UTC).replace(microsecond=0)).document
    report = verify(infra, lta_service, signed)
    assert report.status == vpb.VERIFICATION_STATUS_INVALID
    assert report.revocation_status == vpb.REVOCATION_STATUS_REVOKED
    assert report.revocation_source == vpb.REVOCATION_SOURCE_ONLINE
    assert report.pades_level == vpb.VERIFIED_PADES_LEVEL_B_T
    assert "đã bị thu hồi" in report.detail


def test_a_signature_by_an_expired_certificate_is_reported_expired(infra, lta_service):
    pair = pki.load_key_pairs(infra.keys_dir)[EXPIRED_KEY]
    signed = Sealer([pair], tsa_url=infra.tsa.url).seal(vietnamese_pdf(), EXPIRED_KEY, "", "",
                                                       dt.datetime.now(dt.UTC).replace(microsecond=0)).document
    report = verify(infra, lta_service, signed)
    assert report.status == vpb.VERIFICATION_STATUS_INVALID
    assert report.certificate_expired
    assert "đã hết hạn" in report.detail


@pytest.mark.parametrize("key_id", [REVOKED_KEY, EXPIRED_KEY])
def test_no_long_term_seal_is_made_with_a_revoked_or_expired_certificate(infra, lta_service, key_id):
    with pytest.raises(grpc.RpcError) as refused:
        infra.signed(lta_service, key_id=key_id)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"the certificate of signing key {key_id} cannot be validated" in refused.value.details()


def test_a_b_lta_seal_stays_valid_after_its_certificate_is_revoked(infra, lta_service):
    """The document proves the certificate was good when it was sealed (OCSP response and
    timestamps); a later revocation does not undo that."""
    sealed = infra.signed(lta_service)
    infra.revocation.revoke(pki.load_key_pairs(infra.keys_dir)["agency-seal"].certificate, dt.datetime.now(dt.UTC))
    report = verify(infra, lta_service, sealed.signed_document)
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert report.revocation_status == vpb.REVOCATION_STATUS_GOOD
    assert report.revocation_source == vpb.REVOCATION_SOURCE_EMBEDDED_OCSP
