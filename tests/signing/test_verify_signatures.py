"""VerifySignatures, served by the real signing service and through the real gateway
(`POST /v1/signatures:verify`, the PDF as JSON base64 or as the request's body): the same
report as VerifyDocument for a signed, a tampered and an unsigned PDF, for the roles the RPC
declares only."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import grpc
import pytest

from motcua.identity.v1.role_pb2 import Role
from motcua.signing.v1 import signature_verification_pb2 as vpb, signing_service_pb2 as pb
from motcua.signing.v1.signing_service_pb2_grpc import SigningServiceStub
from tests.gateway.support import Gateway, GatewayStarter, http
from tests.signing.pdfs import encoded_line, vietnamese_pdf
from tests.support import auth
from tests.support.clients import field_violations, signing_stub

PROVINCE = "000.00.00.H56"  # whose seal the development PKI's agency-seal is
SEAL_NAME = "Ủy ban nhân dân tỉnh Thanh Hóa"


@pytest.fixture(scope="module")
def service(stack, tmp_path_factory):
    process = stack.service("signing", MOTCUA_SIGNING_DIR=str(tmp_path_factory.mktemp("signing"))).start()
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def gateway(stack, service) -> Iterator[Gateway]:
    starter = GatewayStarter(stack)
    yield starter({"signing": service.addr})
    starter.stop()


@pytest.fixture(scope="module")
def leader(service):
    return signing_stub(service.addr, auth.issue(roles=(Role.ROLE_LEADER,), agency_id=PROVINCE).access_token)


@pytest.fixture(scope="module")
def citizen_token() -> str:
    return auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Trần Văn Bình").access_token


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return vietnamese_pdf()


@pytest.fixture(scope="module")
def signed(leader, unsigned) -> bytes:
    return leader.SignDocument(pb.SignDocumentRequest(
        document=unsigned, purpose=pb.SIGNING_PURPOSE_CERTIFIED_COPY, reason="Chứng thực bản sao điện tử",
        document_reference="Số chứng thực 127/2026/SCT/BS")).signed_document


@pytest.fixture(scope="module")
def tampered(signed) -> bytes:
    changed = bytearray(signed)
    at = changed.index(encoded_line("GIẤY KHAI SINH")) + 1
    changed[at] ^= 0x01  # same length: the file still parses, the signed bytes differ
    return bytes(changed)


def test_a_signed_pdf_is_reported_as_verify_document_reports_it(leader, signed):
    (report,) = leader.VerifySignatures(pb.VerifySignaturesRequest(document=signed)).signatures
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert report.integrity_ok and report.trusted and report.covers_whole_document
    assert report.signer_name == SEAL_NAME
    assert list(leader.VerifyDocument(pb.VerifyDocumentRequest(document=signed)).signatures) == [report]


def test_a_tampered_pdf_is_invalid_and_an_unsigned_one_has_no_signatures(leader, tampered, unsigned):
    (report,) = leader.VerifySignatures(pb.VerifySignaturesRequest(document=tampered)).signatures
    assert report.status == vpb.VERIFICATION_STATUS_INVALID
    assert not report.integrity_ok
    assert list(leader.VerifySignatures(pb.VerifySignaturesRequest(document=unsigned)).signatures) == []


def test_what_is_not_a_pdf_is_invalid_argument_naming_the_document(leader):
    with pytest.raises(grpc.RpcError) as failure:
        leader.VerifySignatures(pb.VerifySignaturesRequest(document="Đơn đề nghị cấp bản sao".encode()))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(failure.value)) == {"document"}


def test_only_the_declared_roles_verify(service, signed):
    anonymous = SigningServiceStub(grpc.insecure_channel(service.addr))  # no bearer token
    with pytest.raises(grpc.RpcError) as failure:
        anonymous.VerifySignatures(pb.VerifySignaturesRequest(document=signed))
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # A data-protection officer is not among VerifySignatures' roles.
    outsider = signing_stub(service.addr, auth.issue(roles=(Role.ROLE_DATA_PROTECTION_OFFICER,),
                                                     agency_id=PROVINCE).access_token)
    with pytest.raises(grpc.RpcError) as failure:
        outsider.VerifySignatures(pb.VerifySignaturesRequest(document=signed))
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_citizen_verifies_through_the_gateway_as_json_or_as_a_pdf_body(gateway, citizen_token, signed, tampered,
                                                                         unsigned):
    authorization = {"Authorization": f"Bearer {citizen_token}"}
    as_json = http("POST", f"{gateway.url}/v1/signatures:verify", {"document": base64.b64encode(signed).decode()},
                   headers=authorization)
    assert as_json.status == 200, as_json.raw[:500]
    (signature,) = as_json.json["signatures"]
    assert signature["status"] == "VERIFICATION_STATUS_VALID" and signature["signer_name"] == SEAL_NAME

    def as_file(document: bytes):
        reply = http("POST", f"{gateway.url}/v1/signatures:verify", raw=document,
                     headers={**authorization, "Content-Type": "application/pdf"})
        assert reply.status == 200, reply.raw[:500]
        return reply.json.get("signatures", [])

    (valid,) = as_file(signed)
    assert valid == signature
    (broken,) = as_file(tampered)
    assert broken["status"] == "VERIFICATION_STATUS_INVALID"
    assert as_file(unsigned) == []


def test_bad_input_through_the_gateway_is_400_naming_the_document(gateway, citizen_token):
    reply = http("POST", f"{gateway.url}/v1/signatures:verify", raw=b"not a pdf at all",
                 headers={"Authorization": f"Bearer {citizen_token}", "Content-Type": "application/pdf"})
    assert reply.status == 400, reply.raw[:500]
    fields = {v["field"] for d in reply.json["error"]["details"] for v in d.get("field_violations", [])}
    assert fields == {"document"}, reply.json
    anonymous = http("POST", f"{gateway.url}/v1/signatures:verify", raw=b"%PDF-1.7\n",
                     headers={"Content-Type": "application/pdf"})
    assert anonymous.status == 401, anonymous.raw[:300]
