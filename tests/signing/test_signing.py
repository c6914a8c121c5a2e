"""The signing service as a real process over gRPC: it seals PDFs with the agency seal of its
development PKI (made on first start), verifies signatures against its trust roots, records
each signing as an event holding hashes, and keeps the signed PDF in its blob store."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import uuid
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import grpc
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from google.rpc import error_details_pb2
from pyhanko.pdf_utils.reader import PdfFileReader

from motcua.identity.v1.role_pb2 import Role
from motcua.signing import pki
from motcua.signing.domain import KeyOwnership
from motcua.signing.v1 import signature_verification_pb2 as vpb, signing_service_pb2 as pb
from motcua.signing.v1.signing_service_pb2_grpc import SigningServiceStub
from tests.signing.pdfs import encoded_line, vietnamese_pdf
from tests.signing.tsa import LocalTsa
from tests.support import auth
from tests.support.clients import details, field_violations, signing_stub

SEAL_NAME = "Ủy ban nhân dân tỉnh Thanh Hóa"
UNTRUSTED_NAME = "Cơ quan không được tin cậy"
REASON = "Chứng thực bản sao điện tử từ bản chính"
LOCATION = "Phường Hạc Thành, tỉnh Thanh Hóa"
PROVINCE = "000.00.00.H56"  # whose seal the development PKI's agency-seal is
COPY = pb.SIGNING_PURPOSE_CERTIFIED_COPY
REFERENCE = "Số chứng thực 125/2026/SCT/BS"


@pytest.fixture(scope="module")
def signing_dir(tmp_path_factory) -> Path:
    """The service's directory, holding beforehand only a key issued by a CA it does not trust."""
    directory = tmp_path_factory.mktemp("signing")
    ca_key, ca_cert = pki.create_root_ca("CA thử nghiệm không tin cậy", "Tổ chức thử nghiệm")
    key, cert = pki.issue_signing_certificate(ca_key, ca_cert, UNTRUSTED_NAME, "Tổ chức thử nghiệm")
    pki.write_key_pair(directory / "pki" / "keys", "untrusted-seal", key, [cert, ca_cert])
    pki.write_ownership(
        directory / "pki" / "keys", "untrusted-seal", KeyOwnership(agency_id=PROVINCE, purposes=("certified_copy",))
    )
    return directory


@pytest.fixture(scope="module")
def service(stack, signing_dir):
    process = stack.service("signing", MOTCUA_SIGNING_DIR=str(signing_dir)).start()
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def signing(service) -> SigningServiceStub:
    """An officer of the province, whose seal is the development PKI's agency-seal."""
    return signing_stub(service.addr, auth.issue(roles=(Role.ROLE_LEADER,), agency_id=PROVINCE).access_token)


def sign_request(document: bytes, **fields) -> pb.SignDocumentRequest:
    return pb.SignDocumentRequest(document=document, **{"purpose": COPY, "document_reference": REFERENCE, **fields})


@pytest.fixture(scope="module")
def document() -> bytes:
    return vietnamese_pdf()


@pytest.fixture(scope="module")
def sealed(signing, document) -> pb.SignDocumentResponse:
    return signing.SignDocument(sign_request(document, reason=REASON, location=LOCATION))


def verify(signing, pdf: bytes) -> list[vpb.SignatureVerification]:
    return list(signing.VerifyDocument(pb.VerifyDocumentRequest(document=pdf)).signatures)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_development_pki_is_made_on_first_start(service, signing_dir):
    directory = signing_dir / "pki"
    root = x509.load_pem_x509_certificate((directory / "dev-root-ca.crt.pem").read_bytes())
    seal, issuer = x509.load_pem_x509_certificates((directory / "keys" / "agency-seal.crt.pem").read_bytes())
    assert issuer == root
    assert seal.issuer == root.subject
    common_name = seal.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    organization = seal.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value
    assert (common_name, organization) == (SEAL_NAME, SEAL_NAME)
    for private in ("dev-root-ca.key.pem", "keys/agency-seal.key.pem"):
        assert stat.S_IMODE(os.stat(directory / private).st_mode) == 0o600


def test_signs_a_vietnamese_pdf_with_the_agency_seal(sealed, document, signing_dir):
    signed = sealed.signed_document
    assert uuid.UUID(sealed.document_id)
    assert sealed.key_id == "agency-seal"
    assert sealed.pades_level == pb.PADES_LEVEL_B_B
    assert sealed.document_sha256 == sha256(document)
    assert sealed.signed_document_sha256 == sha256(signed)
    assert signed.startswith(document)  # an incremental update: the original bytes are untouched
    assert encoded_line("Họ, chữ đệm, tên: Nguyễn Thị Hằng") in signed

    seal = x509.load_pem_x509_certificates((signing_dir / "pki/keys/agency-seal.crt.pem").read_bytes())[0]
    assert sealed.certificate_sha256 == sha256(seal.public_bytes(serialization.Encoding.DER))

    (signature,) = PdfFileReader(BytesIO(signed)).embedded_regular_signatures
    dictionary = signature.sig_object
    assert dictionary["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert dictionary["/Reason"] == REASON
    assert dictionary["/Location"] == LOCATION


def test_the_signed_pdf_verifies_valid_and_trusted_with_the_signer_name_intact(signing, sealed):
    (report,) = verify(signing, sealed.signed_document)
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert report.integrity_ok and report.trusted and report.covers_whole_document
    assert report.modification_level == vpb.MODIFICATION_LEVEL_NONE
    assert report.signer_name == SEAL_NAME
    assert f"O={SEAL_NAME}" in report.signer_subject and f"CN={SEAL_NAME}" in report.signer_subject
    assert "CA gốc phát triển" in report.issuer
    assert report.certificate_sha256 == sealed.certificate_sha256
    assert report.signing_time == sealed.sign_time
    assert not report.timestamped
    assert report.detail.startswith("Chữ ký hợp lệ")


def test_a_byte_flipped_in_the_signed_content_fails_integrity(signing, sealed):
    tampered = bytearray(sealed.signed_document)
    at = tampered.index(encoded_line("GIẤY KHAI SINH")) + 1
    tampered[at] ^= 0x01  # "GIẤY" becomes "FIẤY": same length, so the file still parses
    (report,) = verify(signing, bytes(tampered))
    assert not report.integrity_ok
    assert report.status == vpb.VERIFICATION_STATUS_INVALID
    assert report.signer_name == SEAL_NAME
    assert "thay đổi" in report.detail


def test_a_signature_by_a_key_from_an_untrusted_ca_is_reported_untrusted(signing, document):
    sealed = signing.SignDocument(sign_request(document, reason=REASON, key_id="untrusted-seal"))
    assert sealed.key_id == "untrusted-seal"
    (report,) = verify(signing, sealed.signed_document)
    assert report.integrity_ok
    assert not report.trusted
    assert report.status == vpb.VERIFICATION_STATUS_INDETERMINATE
    assert report.signer_name == UNTRUSTED_NAME
    assert "tin cậy" in report.detail


def test_a_second_signature_keeps_the_first_valid(signing, sealed):
    twice = signing.SignDocument(sign_request(sealed.signed_document, reason="Phê duyệt"))
    first, second = verify(signing, twice.signed_document)
    assert first.field_name == "Signature1" and second.field_name == "Signature2"
    assert first.status == second.status == vpb.VERIFICATION_STATUS_VALID
    assert not first.covers_whole_document
    assert first.modification_level == vpb.MODIFICATION_LEVEL_FORM_FILLING
    assert second.covers_whole_document


def test_an_unsigned_pdf_has_no_signatures(signing, document):
    assert verify(signing, document) == []


@pytest.mark.parametrize("content", [
    b"Don xin cap giay phep xay dung",
    "Đơn xin cấp giấy phép".encode(),
    b"%PDF-1.7\n% a header and nothing else\n",
    vietnamese_pdf()[:400],  # truncated: no cross-reference table, no trailer
])
def test_what_is_not_a_pdf_is_invalid_argument_naming_the_document(signing, content):
    for call, request in ((signing.SignDocument, sign_request(content)),
                          (signing.VerifyDocument, pb.VerifyDocumentRequest(document=content))):
        with pytest.raises(grpc.RpcError) as failure:
            call(request)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(failure.value)) == {"document"}


def test_an_encrypted_pdf_is_invalid_argument(signing):
    with pytest.raises(grpc.RpcError) as failure:
        signing.SignDocument(sign_request(vietnamese_pdf(password="mật khẩu")))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "encrypted" in field_violations(failure.value)["document"]


def test_concurrent_signings_each_get_their_own_document_and_event(stack, signing, document):
    def sign(n: int) -> pb.SignDocumentResponse:
        return signing.SignDocument(sign_request(document, reason=f"Bản sao số {n}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(sign, range(16)))
    ids = {r.document_id for r in results}
    assert len(ids) == 16
    assert {r.document_sha256 for r in results} == {sha256(document)}
    for result in results[:4]:
        (report,) = verify(signing, result.signed_document)
        assert report.status == vpb.VERIFICATION_STATUS_VALID
    with psycopg.connect(stack.dsn("signing")) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM signing_events WHERE originator_id = ANY(%s)", ([uuid.UUID(i) for i in ids],),
        ).fetchone()
    assert count == 16


def test_request_fields_are_validated(signing, document):
    with pytest.raises(grpc.RpcError) as failure:
        signing.SignDocument(pb.SignDocumentRequest(document=b"", reason="x" * 501, key_id="Con Dấu"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(failure.value)) == {"document", "reason", "key_id", "purpose"}


def test_an_unknown_key_is_not_found(signing, document):
    with pytest.raises(grpc.RpcError) as failure:
        signing.SignDocument(sign_request(document, key_id="khong-co-khoa-nay"))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    (info,) = details(failure.value, error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == ("SigningKey", "khong-co-khoa-nay")


def test_each_signing_is_an_event_with_hashes_and_the_pdf_is_in_the_blob_store(stack, sealed, document, signing_dir):
    with psycopg.connect(stack.dsn("signing")) as conn:
        rows = conn.execute(
            "SELECT originator_version, topic, state FROM signing_events WHERE originator_id = %s",
            (sealed.document_id,),
        ).fetchall()
    ((version, topic, state),) = rows
    assert version == 1
    assert topic.endswith(":Document.Signed")
    data = json.loads(bytes(state))
    assert data["document_sha256"] == sha256(document) == sealed.document_sha256
    assert data["signed_document_sha256"] == sha256(sealed.signed_document)
    assert data["key_id"] == "agency-seal"
    assert data["certificate_sha256"] == sealed.certificate_sha256
    assert data["reason"] == REASON
    assert data["pades_level"] == "B-B"
    assert (data["purpose"], data["agency_id"], data["document_reference"]) == ("certified_copy", PROVINCE, REFERENCE)
    assert "signing_time" in data
    assert len(state) < 2048  # hashes, not the document

    blob = signing_dir / "documents" / sealed.document_id[:2] / f"{sealed.document_id}.pdf"
    assert blob.read_bytes() == sealed.signed_document


def test_with_a_timestamp_authority_signatures_are_pades_b_t(stack, service, signing_dir, document):
    """A second process on the same directory (the dev PKI is reused), with a TSA on loopback
    whose certificate the development CA issued; when the TSA is gone, UNAVAILABLE."""
    ca_key = serialization.load_pem_private_key((signing_dir / "pki/dev-root-ca.key.pem").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((signing_dir / "pki/dev-root-ca.crt.pem").read_bytes())
    seal_before = (signing_dir / "pki/keys/agency-seal.crt.pem").read_bytes()
    with LocalTsa(ca_key, ca_cert) as tsa:
        timestamped = stack.service(
            "signing",
            MOTCUA_SIGNING_DIR=str(signing_dir),
            MOTCUA_SIGNING_TSA_URL=tsa.url,
            MOTCUA_SIGNING_TSA_TIMEOUT="2",
        ).start()
        try:
            client = signing_stub(
                timestamped.addr, auth.issue(roles=(Role.ROLE_LEADER,), agency_id=PROVINCE).access_token
            )
            sealed = client.SignDocument(sign_request(document, reason=REASON))
            assert sealed.pades_level == pb.PADES_LEVEL_B_T
            assert tsa.requests == 1
            (report,) = verify(client, sealed.signed_document)
            assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
            assert report.timestamped
            tsa.stop()
            with pytest.raises(grpc.RpcError) as failure:
                client.SignDocument(sign_request(document))
            assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            assert timestamped.terminate() == 0
    assert (signing_dir / "pki/keys/agency-seal.crt.pem").read_bytes() == seal_before

