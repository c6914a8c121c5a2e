"""A dossier's result signed by the competent officer on their own device, then sealed by the
agency at PAdES B-LTA, between real processes (procedures, dossiers, signing; a signer-device
simulator holding the officer's key in its own SoftHSM2 token; an OCSP responder, a CRL and a
TSA): the procedure's results need the officer's signature
(MOTCUA_DOSSIERS_OFFICER_SIGNED_PROCEDURES), so the result is not ready until the officer
confirmed; a refused request leaves the dossier where it was. EU DSS and poppler's pdfsig
judge the final PDF; a revoked officer certificate is reported revoked by VerifyDocument and by
DSS, and the agency does not seal over it."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import grpc
import psycopg
import pytest

from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as dpb
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.blobstore import FilesystemBlobStore
from motcua.signing.v1 import (
    signature_request_pb2 as rpb,
    signature_verification_pb2 as vpb,
    signing_service_pb2 as spb,
)
from tests.dossiers.office import Office, fails_with, pdf
from tests.signing.long_term import LongTermPki
from tests.signing.signer_device import SignerDevice
from tests.signing.test_independent_validation import dss, pdfsig
from tests.support import auth
from tests.support.clients import signing_stub
from tests.support.dossiers import fresh_agency, published_full_procedure
from tests.support.pdf_tools import run

# Four service processes, two of them long-term signing's (OCSP, CRL, TSA), start within the
# module's first test: more than the default budget on a loaded machine.
pytestmark = pytest.mark.timeout(1200)

OFFICER = str(uuid.uuid4())  # the chairman who signs the results
OFFICER_NAME = "Trần Văn Đức"
SEAL_ORGANIZATION = "Ủy ban nhân dân phường Hạc Thành"
RESULT = "Giấy khai sinh"


@pytest.fixture(scope="module")
def infra(tmp_path_factory):
    with LongTermPki(tmp_path_factory.mktemp("officer-signed-result")) as infra:
        yield infra


@pytest.fixture(scope="module")
def device(infra):
    with SignerDevice(infra.directory / "device", OFFICER, OFFICER_NAME, SEAL_ORGANIZATION, infra.ca_key,
                      infra.ca_cert, revocation_url=infra.revocation.url) as device:
        device.enrol(infra.directory / "remote-signers")
        yield device


@pytest.fixture(scope="module")
def processes(stack, infra, device):
    signing = infra.signing_service(
        stack, "B-LTA", MOTCUA_SIGNING_REMOTE_SIGNERS_DIR=str(infra.directory / "remote-signers"),
    ).start(timeout=300)
    procedures = stack.service("procedures").start(timeout=300)
    dossiers = stack.service("dossiers", MOTCUA_SIGNING_ADDR=signing.addr,
                             MOTCUA_DOSSIERS_OFFICER_SIGNED_PROCEDURES="*").start(timeout=300)
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr, "signing": signing.addr}
    for process in (dossiers, procedures, signing):
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def procedure(processes):
    return published_full_procedure(processes["procedures"], processes["dossiers"])


@pytest.fixture(scope="module")
def agency() -> str:
    return fresh_agency()


@pytest.fixture(scope="module")
def office(processes, agency) -> Office:
    return Office(processes["dossiers"], agency)


@pytest.fixture(scope="module")
def officer(processes, agency):
    """The officer's own calls to the signing service (what their device's app makes)."""
    return signing_stub(processes["signing"], auth.issue(roles=(Role.ROLE_LEADER,), agency_id=agency,
                                                         account_id=OFFICER).access_token)


@pytest.fixture(scope="module")
def specialist_signing(processes, office):
    return signing_stub(processes["signing"], auth.issue(roles=(Role.ROLE_SPECIALIST,), agency_id=office.agency,
                                                         account_id=office.people["specialist"]).access_token)


def processed(office: Office, procedure) -> d.Dossier:
    """A dossier received and through its steps, its result to be made."""
    dossier = office.received(procedure)
    office.specialist.ClaimDossier(dpb.ClaimDossierRequest(dossier_id=dossier.dossier_id))
    office.specialist.CompleteStep(dpb.CompleteStepRequest(dossier_id=dossier.dossier_id, note="Hồ sơ hợp lệ",
                                                           next_assignee=office.people["leader"]))
    return office.leader.CompleteStep(dpb.CompleteStepRequest(dossier_id=dossier.dossier_id, note="Đồng ý")).dossier


def ask_officer(specialist_signing, office: Office, dossier: d.Dossier, document: bytes) -> rpb.SignatureRequest:
    return specialist_signing.CreateSignatureRequest(spb.CreateSignatureRequestRequest(
        document=document, document_name="giay-khai-sinh.pdf", method=rpb.SIGNATURE_METHOD_REMOTE,
        signer_account_id=OFFICER, agency_id=office.agency, dossier_id=dossier.dossier_id,
        reason="Ký duyệt kết quả giải quyết hồ sơ")).signature_request


def mark_ready(office: Office, dossier: d.Dossier, document: bytes, request_id: str = "") -> d.Dossier:
    return office.desk.MarkResultReady(dpb.MarkResultReadyRequest(
        dossier_id=dossier.dossier_id, result_document=document, result_name=RESULT,
        signature_request_id=request_id)).dossier


def state_of(office: Office, dossier: d.Dossier) -> d.DossierState.ValueType:
    return office.desk.GetDossier(dpb.GetDossierRequest(dossier_id=dossier.dossier_id)).dossier.state


def signing_events(stack, aggregate_id: str) -> list[str]:
    with psycopg.connect(stack.dsn("signing")) as conn:
        rows = conn.execute("SELECT topic FROM signing_events WHERE originator_id = %s ORDER BY originator_version",
                            (aggregate_id,)).fetchall()
    return [topic.rsplit(".", 1)[1] for (topic,) in rows]  # module:Class.Event


@pytest.fixture(scope="module")
def final_pdf(stack, infra, office, procedure, device, officer, specialist_signing, tmp_path_factory) -> Path:
    """The result of one dossier walked through: refused once by the officer, then confirmed on
    their device, then sealed; the PDF as the signing service keeps it."""
    dossier = processed(office, procedure)
    document = pdf()

    # The procedure's results are the officer's to sign first: no seal alone.
    error = fails_with(grpc.StatusCode.FAILED_PRECONDITION, mark_ready, office, dossier, document)
    assert "signed by the competent officer" in error.details()
    assert state_of(office, dossier) == d.DOSSIER_STATE_IN_PROCESS

    # Asked, the officer is told on their device; they refuse: still nothing to seal.
    refused = ask_officer(specialist_signing, office, dossier, document)
    assert refused.signature_request_id in device.inbox
    officer.RefuseSignatureRequest(spb.RefuseSignatureRequestRequest(
        signature_request_id=refused.signature_request_id, reason="Sai họ tên người được khai sinh"))
    error = fails_with(grpc.StatusCode.FAILED_PRECONDITION, mark_ready, office, dossier, document,
                       refused.signature_request_id)
    assert "refused" in error.details()
    assert state_of(office, dossier) == d.DOSSIER_STATE_IN_PROCESS

    # Asked again and confirmed on the device: the seal goes on after the officer's signature.
    asked = ask_officer(specialist_signing, office, dossier, document)
    # A pending request is no signature yet either.
    fails_with(grpc.StatusCode.FAILED_PRECONDITION, mark_ready, office, dossier, document, asked.signature_request_id)
    device.confirm(officer, asked.signature_request_id)
    # Only the document the officer signed takes the seal through their request.
    other = fails_with(grpc.StatusCode.INVALID_ARGUMENT, mark_ready, office, dossier, pdf() + b"\n%khac\n",
                       asked.signature_request_id)
    assert "the officer was asked to sign" in other.details()
    ready = mark_ready(office, dossier, document, asked.signature_request_id)
    assert ready.state == d.DOSSIER_STATE_RESULT_READY

    document_id = ready.processing.signed_document_id
    assert signing_events(stack, asked.signature_request_id) == ["Requested", "Confirmed"]
    assert signing_events(stack, refused.signature_request_id) == ["Requested", "Refused"]
    assert signing_events(stack, document_id) == ["Signed"]
    with psycopg.connect(stack.dsn("signing")) as conn:
        row = conn.execute("SELECT convert_from(state, 'UTF8') FROM signing_events WHERE originator_id = %s",
                           (document_id,)).fetchone()
    assert row is not None
    (state,) = row
    assert asked.signature_request_id in state  # the seal's event names the officer's request

    path = tmp_path_factory.mktemp("officer-signed") / "giay-khai-sinh.pdf"
    path.write_bytes(FilesystemBlobStore(infra.directory / "documents", suffix=".pdf").get(document_id))
    return path


def test_the_result_carries_the_officers_signature_then_the_agency_seal_at_b_lta(infra, processes, office, final_pdf):
    stub = signing_stub(processes["signing"], auth.issue(roles=(Role.ROLE_DESK_OFFICER,),
                                                         agency_id=office.agency).access_token)
    officer_report, seal_report = stub.VerifyDocument(spb.VerifyDocumentRequest(
        document=final_pdf.read_bytes())).signatures
    assert officer_report.signer_name == OFFICER_NAME
    assert officer_report.status == vpb.VERIFICATION_STATUS_VALID, officer_report.detail
    assert officer_report.revocation_status == vpb.REVOCATION_STATUS_GOOD
    assert seal_report.status == vpb.VERIFICATION_STATUS_VALID, seal_report.detail
    assert seal_report.pades_level == vpb.VERIFIED_PADES_LEVEL_B_LTA
    assert seal_report.revocation_status == vpb.REVOCATION_STATUS_GOOD


def test_dss_and_pdfsig_find_both_signatures_valid(infra, final_pdf, tmp_path):
    report = dss(final_pdf, trust=infra.trust_root)
    officer_signature, seal = sorted(report["signatures"], key=lambda s: s["signing_time"])
    for signature in (officer_signature, seal):
        assert (signature["indication"], signature["sub_indication"]) == ("TOTAL_PASSED", None), signature
    assert officer_signature["signed_by"] == OFFICER_NAME
    # The seal's document timestamp and the validation data cover the officer's signature too.
    assert officer_signature["signature_format"] == "PAdES-BASELINE-LTA"
    assert seal["signature_format"] == "PAdES-BASELINE-LTA"

    nss = tmp_path / "nss"
    nss.mkdir()
    run("certutil", "-N", "--empty-password", "-d", f"sql:{nss}")
    run("certutil", "-A", "-n", "motcua development root", "-t", "CT,C,C", "-i", infra.trust_root, "-d", f"sql:{nss}")
    out = pdfsig(final_pdf, nss)
    officer_block, seal_block = out.split("Signature #")[1:3]
    assert f"Signer Certificate Common Name: {OFFICER_NAME}" in officer_block
    for block in (officer_block, seal_block):
        assert "Signature Validation: Signature is Valid." in block
        assert "Certificate Validation: Certificate is Trusted." in block


def test_a_revoked_officer_certificate_is_reported_revoked_and_not_sealed_over(
        infra, processes, office, procedure, device, officer, specialist_signing, final_pdf, tmp_path):
    infra.revocation.revoke(device.certificate)
    dossier = processed(office, procedure)
    document = pdf()
    asked = ask_officer(specialist_signing, office, dossier, document)
    device.confirm(officer, asked.signature_request_id)
    signed = specialist_signing.GetSignedDocument(spb.GetSignedDocumentRequest(
        signature_request_id=asked.signature_request_id)).content

    (report,) = specialist_signing.VerifyDocument(spb.VerifyDocumentRequest(document=signed)).signatures
    assert report.revocation_status == vpb.REVOCATION_STATUS_REVOKED
    assert report.status != vpb.VERIFICATION_STATUS_VALID

    path = tmp_path / "revoked-officer.pdf"
    path.write_bytes(signed)
    crl = tmp_path / "dev-root.crl"
    crl.write_bytes(infra.revocation.crl())
    (signature,) = dss(path, trust=infra.trust_root, crls=(crl,))["signatures"]
    assert signature["indication"] != "TOTAL_PASSED"
    assert signature["sub_indication"] in ("REVOKED", "REVOKED_NO_POE"), signature

    # The agency does not seal over a revoked signature: the result is not ready.
    error = fails_with(grpc.StatusCode.INVALID_ARGUMENT, mark_ready, office, dossier, document,
                       asked.signature_request_id)
    assert "does not validate" in error.details()
    assert state_of(office, dossier) == d.DOSSIER_STATE_IN_PROCESS
    assert dt.datetime.now(dt.UTC) > dt.datetime.fromisoformat(signature["signing_time"])
