"""Long-term PAdES against a real signing process, a real OCSP responder and CRL, and a timestamp
authority: B-LT seals carry the validation data in the document security store, B-LTA a
document timestamp over it; VerifyDocument reports per signature the revocation status and its
source, what proves the signing time, the level reached; a revoked and an expired certificate
are reported as such, and no long-term seal is made with them."""

from __future__ import annotations

import datetime as dt
import uuid
from io import BytesIO

import grpc
import psycopg
import pytest
from asn1crypto import keys as asn1_keys, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from motcua.kernel.blobstore import FilesystemBlobStore
from motcua.signing import pki
from motcua.signing.application import SigningApplication
from motcua.signing.domain import KeyOwnership
from motcua.signing.pades import Sealer, last_timestamp_expiry
from motcua.signing.v1 import signature_verification_pb2 as vpb, signing_service_pb2 as pb
from tests.signing.long_term import PROVINCE, LongTermPki
from tests.signing.pdfs import vietnamese_pdf
from tests.signing.tsa import LocalTsa

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


def test_archived_documents_get_a_new_document_timestamp_before_the_last_one_expires(stack, infra, lta_service):
    """The clock moved to near the expiry of the timestamp authority's certificate: the
    re-augmentation adds a document timestamp (from the authority's renewed certificate) over
    fresh validation data, records it, and the document still verifies at B-LTA."""
    sealed = infra.signed(lta_service)
    document_id = uuid.UUID(sealed.document_id)
    expiry = last_timestamp_expiry(sealed.signed_document)
    assert expiry is not None
    with LocalTsa(infra.ca_key, infra.ca_cert) as renewed_tsa:
        # The authority's renewed certificate, valid for a year (RSA: pyHanko's test TSA signs
        # with RSA only).
        key = pki.new_key()
        certificate = _as_tsa(infra, key)
        renewed_tsa.stamper = DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
            tsa_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
            certs_to_embed=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(
                infra.ca_cert.public_bytes(serialization.Encoding.DER))]))
        app = SigningApplication(
            stack.settings("signing"),
            sealer=Sealer([], tsa_url=renewed_tsa.url, level="B-LTA", trust_roots=[infra.ca_cert]),
            documents=FilesystemBlobStore(infra.directory / "documents", suffix=".pdf"))
        margin = dt.timedelta(days=7)
        assert document_id not in app.reaugment_due(expiry - margin - dt.timedelta(days=1), margin)
        assert document_id in app.reaugment_due(expiry - margin + dt.timedelta(hours=1), margin)
        # Renewed: not due again at that time.
        assert document_id not in app.reaugment_due(expiry - margin + dt.timedelta(hours=2), margin)
    renewed = FilesystemBlobStore(infra.directory / "documents", suffix=".pdf").get(f"{document_id}.1")
    assert renewed.startswith(sealed.signed_document)
    assert len(PdfFileReader(BytesIO(renewed)).embedded_timestamp_signatures) == 2
    assert last_timestamp_expiry(renewed) == certificate.not_valid_after_utc
    report = verify(infra, lta_service, renewed)
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert report.pades_level == vpb.VERIFIED_PADES_LEVEL_B_LTA
    with psycopg.connect(stack.dsn("signing")) as conn:
        rows = conn.execute("SELECT topic FROM signing_events WHERE originator_id = %s ORDER BY originator_version",
                            (document_id,)).fetchall()
    assert [topic.rsplit(":", 1)[1] for (topic,) in rows] == ["Document.Signed", "Document.Reaugmented"]


def _as_tsa(infra, key):
    """A timestamping certificate (extended key usage time stamping) for ``key``, for a year."""
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder()
            .subject_name(pki.name("Máy chủ cấp dấu thời gian (gia hạn)", pki.DEV_ORGANIZATION))
            .issuer_name(infra.ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(infra.ca_key, hashes.SHA256()))


def test_an_archive_whose_bytes_are_missing_does_not_hold_back_the_others_renewal(stack, infra, lta_service):
    """The signing log names an archived document whose file is gone (lost, or kept by another
    store): it is left out of the renewal, the others are still re-augmented."""
    lost, kept = (uuid.UUID(infra.signed(lta_service).document_id) for _ in range(2))
    documents = FilesystemBlobStore(infra.directory / "documents", suffix=".pdf")
    expiry = last_timestamp_expiry(documents.get(str(kept)))
    assert expiry is not None
    documents.path(str(lost)).unlink()
    app = SigningApplication(
        stack.settings("signing"),
        sealer=Sealer([], tsa_url=infra.tsa.url, level="B-LTA", trust_roots=[infra.ca_cert]),
        documents=documents)
    margin = dt.timedelta(days=7)
    renewed = app.reaugment_due(expiry - margin + dt.timedelta(hours=1), margin)
    assert kept in renewed and lost not in renewed
    with psycopg.connect(stack.dsn("signing")) as conn:
        topics = {document_id: [topic.rsplit(":", 1)[1] for (topic,) in conn.execute(
            "SELECT topic FROM signing_events WHERE originator_id = %s ORDER BY originator_version",
            (document_id,)).fetchall()] for document_id in (lost, kept)}
    assert topics == {lost: ["Document.Signed"], kept: ["Document.Signed", "Document.Reaugmented"]}


def test_a_b_lta_seal_stays_valid_after_its_certificate_is_revoked(infra, lta_service):
    """The document proves the certificate was good when it was sealed (OCSP response and
    timestamps); a later revocation does not undo that."""
    sealed = infra.signed(lta_service)
    infra.revocation.revoke(pki.load_key_pairs(infra.keys_dir)["agency-seal"].certificate, dt.datetime.now(dt.UTC))
    report = verify(infra, lta_service, sealed.signed_document)
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert report.revocation_status == vpb.REVOCATION_STATUS_GOOD
    assert report.revocation_source == vpb.REVOCATION_SOURCE_EMBEDDED_OCSP
