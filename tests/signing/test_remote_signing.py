"""Remote signing against a real signing process: a request for a document addressed to an
officer, who is told on their own device (an HTTP server holding their key in its own SoftHSM2
token), confirms there, and gets the document signed with their key at PAdES B-T; refusals,
cancellations and expiry, each an event; only the addressed officer answers."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import grpc
import psycopg
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.rpc import error_details_pb2

from motcua.identity.v1.role_pb2 import Role
from motcua.signing.domain import REQUEST_EXPIRED, RequestNotPending, SignatureRequest
from motcua.signing.v1 import (
    signature_request_pb2 as rpb,
    signature_verification_pb2 as vpb,
    signing_service_pb2 as pb,
)
from tests.signing import signer_device
from tests.signing.pdfs import vietnamese_pdf
from tests.signing.tsa import LocalTsa
from tests.support import auth
from tests.support.clients import details, field_violations, signing_stub

COMMUNE = "000.21.30.H56"  # Ủy ban nhân dân phường Hạc Thành
PROVINCE = "000.00.00.H56"
OFFICER = str(uuid.uuid4())  # the commune's chairwoman, who signs results
OFFICER_NAME = "Lê Thị Phương Thảo"
COMMUNE_NAME = "Ủy ban nhân dân phường Hạc Thành"
REQUESTER = str(uuid.uuid4())  # a specialist of the commune who prepared the result
COLLEAGUE = str(uuid.uuid4())  # another officer of the commune
REASON = "Phê duyệt kết quả giải quyết hồ sơ"


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    return tmp_path_factory.mktemp("signing-remote")


@pytest.fixture(scope="module")
def dev_ca(directory):
    return signer_device.dev_ca(directory / "pki")


@pytest.fixture(scope="module")
def device(directory):
    with signer_device.enrolled_device(directory, OFFICER, OFFICER_NAME, COMMUNE_NAME) as device:
        yield device


@pytest.fixture(scope="module")
def tsa(dev_ca):
    with LocalTsa(*dev_ca) as tsa:
        yield tsa


@pytest.fixture(scope="module")
def service(stack, directory, device, tsa):
    process = stack.service("signing", MOTCUA_SIGNING_DIR=str(directory), MOTCUA_SIGNING_TSA_URL=tsa.url,
                            MOTCUA_SIGNING_REMOTE_SIGNERS_DIR=str(directory / "remote-signers")).start()
    yield process
    assert process.terminate() == 0


def caller(service, account_id: str, role=Role.ROLE_SPECIALIST, agency: str = COMMUNE):
    return signing_stub(service.addr, auth.issue(roles=(role,), agency_id=agency, account_id=account_id).access_token)


@pytest.fixture(scope="module")
def requester(service):
    return caller(service, REQUESTER)


@pytest.fixture(scope="module")
def officer(service):
    return caller(service, OFFICER, Role.ROLE_LEADER)


@pytest.fixture(scope="module")
def colleague(service):
    return caller(service, COLLEAGUE, Role.ROLE_LEADER)


def ask(requester, document: bytes | None = None, **fields) -> rpb.SignatureRequest:
    request = pb.CreateSignatureRequestRequest(
        document=document or vietnamese_pdf(), document_name="giay-khai-sinh.pdf",
        method=rpb.SIGNATURE_METHOD_REMOTE, signer_account_id=OFFICER, agency_id=COMMUNE,
        dossier_id=str(uuid.uuid4()), reason=REASON, **fields)
    return requester.CreateSignatureRequest(request).signature_request


def events(stack, request_id: str) -> list[str]:
    with psycopg.connect(stack.dsn("signing")) as conn:
        rows = conn.execute("SELECT topic FROM signing_events WHERE originator_id = %s ORDER BY originator_version",
                            (request_id,)).fetchall()
    return [topic.rsplit(":", 1)[1] for (topic,) in rows]


def test_the_officer_confirms_on_their_device_and_the_document_is_signed_with_their_key(
        stack, requester, officer, device, tsa):
    document = vietnamese_pdf()
    asked = ask(requester, document)
    assert asked.state == rpb.SIGNATURE_REQUEST_STATE_PENDING
    assert asked.requester_account_id == REQUESTER
    assert asked.expire_time.ToDatetime() > asked.create_time.ToDatetime()
    # The device was told, with its own credential, of what it is asked to sign.
    told = device.inbox[asked.signature_request_id]
    assert (told["document_name"], told["reason"]) == ("giay-khai-sinh.pdf", REASON)
    assert told["document_sha256"] == asked.document_sha256
    assert officer.GetSignatureRequest(pb.GetSignatureRequestRequest(
        signature_request_id=asked.signature_request_id)).signature_request.data_to_sign == asked.data_to_sign

    stamps = tsa.requests
    signed = device.confirm(officer, asked.signature_request_id).signature_request
    assert signed.state == rpb.SIGNATURE_REQUEST_STATE_SIGNED
    assert signed.data_to_sign == b""
    assert tsa.requests == stamps + 1
    pdf = requester.GetSignedDocument(pb.GetSignedDocumentRequest(signature_request_id=asked.signature_request_id))
    assert pdf.media_type == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == signed.signed_document_sha256
    assert pdf.content.startswith(document)  # the officer's signature is an incremental update
    (report,) = requester.VerifyDocument(pb.VerifyDocumentRequest(document=pdf.content)).signatures
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert (report.integrity_ok, report.trusted, report.timestamped) == (True, True, True)
    assert report.signer_name == OFFICER_NAME
    assert report.certificate_sha256 == signed.signer_certificate_sha256
    assert report.certificate_sha256 == hashlib.sha256(device.certificate.public_bytes(
        serialization.Encoding.DER)).hexdigest()
    assert events(stack, asked.signature_request_id) == ["SignatureRequest.Requested", "SignatureRequest.Confirmed"]


def test_only_the_addressed_officer_answers(requester, officer, colleague, device):
    asked = ask(requester)
    signature = device.sign(asked.data_to_sign)  # even with a good signature
    for other in (colleague, requester):
        with pytest.raises(grpc.RpcError) as refused:
            other.ConfirmSignatureRequest(pb.ConfirmSignatureRequestRequest(
                signature_request_id=asked.signature_request_id, signature_value=signature))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert details(refused.value, error_details_pb2.ErrorInfo)[0].reason == "NOT_SIGNER"
        with pytest.raises(grpc.RpcError) as refused:
            other.RefuseSignatureRequest(pb.RefuseSignatureRequestRequest(signature_request_id=asked.signature_request_id))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    still = officer.GetSignatureRequest(pb.GetSignatureRequestRequest(signature_request_id=asked.signature_request_id))
    assert still.signature_request.state == rpb.SIGNATURE_REQUEST_STATE_PENDING


def test_a_signature_by_another_key_is_refused_and_the_request_stays_pending(requester, officer, device):
    asked = ask(requester)
    impostor = ec.generate_private_key(ec.SECP256R1()).sign(asked.data_to_sign, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(grpc.RpcError) as refused:
        officer.ConfirmSignatureRequest(pb.ConfirmSignatureRequestRequest(
            signature_request_id=asked.signature_request_id, signature_value=impostor))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "signature_value" in field_violations(refused.value)
    assert device.confirm(officer, asked.signature_request_id).signature_request.state == \
        rpb.SIGNATURE_REQUEST_STATE_SIGNED


def test_the_officer_refuses_and_nothing_more_can_happen(stack, requester, officer, device):
    asked = ask(requester)
    refused = officer.RefuseSignatureRequest(pb.RefuseSignatureRequestRequest(
        signature_request_id=asked.signature_request_id, reason="Sai họ tên người được khai sinh")).signature_request
    assert refused.state == rpb.SIGNATURE_REQUEST_STATE_FAILED
    assert refused.failure_reason == "Người ký từ chối ký: Sai họ tên người được khai sinh"
    with pytest.raises(grpc.RpcError) as late:
        device.confirm(officer, asked.signature_request_id)
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as missing:
        requester.GetSignedDocument(pb.GetSignedDocumentRequest(signature_request_id=asked.signature_request_id))
    assert missing.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert events(stack, asked.signature_request_id) == ["SignatureRequest.Requested", "SignatureRequest.Refused"]


def test_the_requester_cancels_before_the_officer_answers(stack, requester, officer, device):
    asked = ask(requester)
    cancelled = requester.CancelSignatureRequest(pb.CancelSignatureRequestRequest(
        signature_request_id=asked.signature_request_id, reason="Hồ sơ được rút")).signature_request
    assert cancelled.state == rpb.SIGNATURE_REQUEST_STATE_CANCELLED
    with pytest.raises(grpc.RpcError) as late:
        device.confirm(officer, asked.signature_request_id)
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert events(stack, asked.signature_request_id) == ["SignatureRequest.Requested", "SignatureRequest.Cancelled"]


def test_a_repeated_call_finds_the_first_request(requester):
    key = str(uuid.uuid4())
    first = ask(requester, request_id=key)
    again = ask(requester, request_id=key)
    assert again.signature_request_id == first.signature_request_id


def test_a_request_on_behalf_of_another_agency_is_refused(service):
    outsider = caller(service, str(uuid.uuid4()), agency=PROVINCE)
    with pytest.raises(grpc.RpcError) as refused:
        ask(outsider)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details(refused.value, error_details_pb2.ErrorInfo)[0].reason == "AGENCY_SCOPE"


def test_an_officer_without_an_enrolled_certificate_cannot_be_asked(requester):
    with pytest.raises(grpc.RpcError) as refused:
        requester.CreateSignatureRequest(pb.CreateSignatureRequestRequest(
            document=vietnamese_pdf(), document_name="to-khai.pdf", method=rpb.SIGNATURE_METHOD_REMOTE,
            signer_account_id=str(uuid.uuid4()), agency_id=COMMUNE))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no certificate enrolled for remote signing" in refused.value.details()


def test_not_a_pdf_is_a_field_violation(requester):
    with pytest.raises(grpc.RpcError) as refused:
        ask(requester, document=b"Day khong phai PDF")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "document" in field_violations(refused.value)


def test_an_unanswered_request_expires_once():
    """Pure: the request's own rule (the service records it when the request is next read)."""
    now = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
    request = SignatureRequest.request(
        idempotency_key="k", document_name="a.pdf", document_sha256="0" * 64, signer_account_id=OFFICER,
        agency_id=COMMUNE, dossier_id="", reason="", requested_by=REQUESTER, signer_certificate_sha256="1" * 64,
        data_to_sign=b"\x31\x00", document_digest=b"\x00" * 32, reserved_region=(10, 20), requested_at=now,
        expires_at=now + dt.timedelta(minutes=15))
    assert not request.due(now + dt.timedelta(minutes=14))
    request.expire(now + dt.timedelta(minutes=15))
    assert request.state == REQUEST_EXPIRED
    with pytest.raises(RequestNotPending):
        request.confirm("2" * 64, "ab", now, OFFICER)
