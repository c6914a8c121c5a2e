"""Who may sign with which key, for what, against a real signing process: keys belong to an
agency (its seal) or to one person and allow some purposes; every signature records whose
key signed, for what, and which dossier or document it is. A commune's desk officer never
gets a PDF sealed by the province."""

from __future__ import annotations

import json
import uuid

import grpc
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.rpc import error_details_pb2

from motcua.identity.v1.role_pb2 import Role
from motcua.signing import pki
from motcua.signing.domain import KeyOwnership, SigningKey
from motcua.signing.v1 import signature_verification_pb2 as vpb, signing_service_pb2 as pb
from tests.signing.pdfs import vietnamese_pdf
from tests.support import auth
from tests.support.clients import details, field_violations, signing_stub

PROVINCE = "000.00.00.H56"
COMMUNE = "000.21.30.H56"  # Ủy ban nhân dân phường Hạc Thành
PROVINCE_SEAL_NAME = "Ủy ban nhân dân tỉnh Thanh Hóa"
HOLDER = str(uuid.uuid4())  # an officer of the commune holding a personal key
PERSONAL_KEY = "chu-ky-ca-nhan"
COPY = pb.SIGNING_PURPOSE_CERTIFIED_COPY
RESULT = pb.SIGNING_PURPOSE_DOSSIER_RESULT
APPROVAL = pb.SIGNING_PURPOSE_PERSONAL_APPROVAL


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    return tmp_path_factory.mktemp("signing")


@pytest.fixture(scope="module")
def service(stack, directory):
    """A development PKI (the province's `agency-seal`) plus a personal key of HOLDER, declared
    beside it before the start."""
    made = pki.ensure_dev_pki(directory / "pki")
    ca_key = serialization.load_pem_private_key((made.directory / pki.ROOT_CA_KEY).read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(made.root_certificate.read_bytes())
    key, cert = pki.issue_signing_certificate(ca_key, ca_cert, "Trần Thị Thu Hà", "Ủy ban nhân dân phường Hạc Thành",
                                              key=ec.generate_private_key(ec.SECP256R1()))
    pki.write_key_pair(made.keys_dir, PERSONAL_KEY, key, [cert, ca_cert])
    pki.write_ownership(
        made.keys_dir, PERSONAL_KEY, KeyOwnership(holder_account_id=HOLDER, purposes=("personal_approval",))
    )
    process = stack.service("signing", MOTCUA_SIGNING_DIR=str(directory)).start()
    yield process
    assert process.terminate() == 0


def caller(service, agency: str, role: Role.ValueType = Role.ROLE_DESK_OFFICER, account_id: str = ""):
    return signing_stub(service.addr, auth.issue(roles=(role,), agency_id=agency, account_id=account_id).access_token)


@pytest.fixture(scope="module")
def commune_desk(service):
    return caller(service, COMMUNE)


@pytest.fixture(scope="module")
def province_leader(service):
    return caller(service, PROVINCE, Role.ROLE_LEADER)


@pytest.fixture(scope="module")
def holder(service):
    return caller(service, COMMUNE, Role.ROLE_SPECIALIST, account_id=HOLDER)


@pytest.fixture(scope="module")
def document() -> bytes:
    return vietnamese_pdf()


def refused(call, request, code=grpc.StatusCode.PERMISSION_DENIED) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failure:
        call(request)
    assert failure.value.code() == code, failure.value.details()
    return failure.value


def reason(error: grpc.RpcError) -> str:
    (info,) = details(error, error_details_pb2.ErrorInfo)
    return info.reason


def signed_events(stack) -> int:
    with psycopg.connect(stack.dsn("signing")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM signing_events WHERE topic LIKE %s", ("%:Document.Signed",)
        ).fetchone()
    assert row is not None  # count(*) always answers
    return int(row[0])


def event_of(stack, document_id: str) -> dict:
    with psycopg.connect(stack.dsn("signing")) as conn:
        ((topic, state),) = conn.execute("SELECT topic, state FROM signing_events WHERE originator_id = %s",
                                         (document_id,)).fetchall()
    assert topic.endswith(":Document.Signed")
    return json.loads(bytes(state))


def test_a_commune_desk_officer_cannot_seal_with_the_province_key(stack, commune_desk, document):
    before = signed_events(stack)
    named = refused(commune_desk.SignDocument, pb.SignDocumentRequest(
        document=document, key_id="agency-seal", purpose=COPY, document_reference="BS-2026-0001"))
    assert reason(named) == "KEY_NOT_OWNED"
    assert PROVINCE in named.details()
    on_behalf = refused(commune_desk.SignDocument, pb.SignDocumentRequest(
        document=document, agency_id=PROVINCE, purpose=COPY, document_reference="BS-2026-0001"))
    assert reason(on_behalf) == "AGENCY_SCOPE"
    assert signed_events(stack) == before  # nothing was signed, nothing recorded


def test_an_officer_seals_with_their_agencys_key(stack, commune_desk, province_leader, document):
    province = province_leader.SignDocument(
        pb.SignDocumentRequest(document=document, key_id="agency-seal", purpose=COPY, document_reference="BS-2026-0002")
    )
    assert (province.key_id, province.agency_id, province.purpose) == ("agency-seal", PROVINCE, COPY)

    # No key named: the commune's seal (the development CA issues it on first use), never the
    # province's.
    commune = commune_desk.SignDocument(
        pb.SignDocumentRequest(document=document, purpose=COPY, document_reference="BS-2026-0003")
    )
    assert (commune.key_id, commune.agency_id) == (pki.dev_seal_key_id(COMMUNE), COMMUNE)
    again = commune_desk.SignDocument(
        pb.SignDocumentRequest(document=document, purpose=COPY, document_reference="BS-2026-0004")
    )
    assert again.certificate_sha256 == commune.certificate_sha256
    (report,) = commune_desk.VerifyDocument(pb.VerifyDocumentRequest(document=commune.signed_document)).signatures
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert COMMUNE in report.signer_name and report.signer_name != PROVINCE_SEAL_NAME
    assert event_of(stack, commune.document_id)["agency_id"] == COMMUNE


def test_a_purpose_the_key_does_not_allow_is_refused(province_leader, holder, document):
    seal_for_approval = refused(province_leader.SignDocument, pb.SignDocumentRequest(
        document=document, key_id="agency-seal", purpose=APPROVAL, document_reference="TTr-15"))
    assert reason(seal_for_approval) == "PURPOSE_NOT_ALLOWED"
    personal_for_result = refused(holder.SignDocument, pb.SignDocumentRequest(
        document=document, key_id=PERSONAL_KEY, purpose=RESULT, dossier_id=str(uuid.uuid4())))
    assert reason(personal_for_result) == "PURPOSE_NOT_ALLOWED"


def test_a_person_signs_with_their_own_key_and_no_colleague_may(service, holder, commune_desk, document):
    own = holder.SignDocument(pb.SignDocumentRequest(document=document, purpose=APPROVAL, document_reference="TTr-16"))
    assert (own.key_id, own.holder_account_id, own.agency_id) == (PERSONAL_KEY, HOLDER, "")
    colleague = refused(commune_desk.SignDocument, pb.SignDocumentRequest(
        document=document, key_id=PERSONAL_KEY, purpose=APPROVAL, document_reference="TTr-16"))
    assert reason(colleague) == "KEY_NOT_OWNED"


def test_no_key_for_the_purpose_is_failed_precondition_naming_it(commune_desk, document):
    error = refused(commune_desk.SignDocument, pb.SignDocumentRequest(
        document=document, purpose=APPROVAL, document_reference="TTr-17"), grpc.StatusCode.FAILED_PRECONDITION)
    assert COMMUNE in error.details() and "PERSONAL_APPROVAL" in error.details()


def test_the_purpose_and_what_is_signed_are_required(commune_desk, document):
    no_purpose = refused(
        commune_desk.SignDocument,
        pb.SignDocumentRequest(document=document, document_reference="BS-1"),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(no_purpose)) == {"purpose"}
    no_dossier = refused(commune_desk.SignDocument, pb.SignDocumentRequest(document=document, purpose=RESULT),
                         grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(no_dossier)) == {"dossier_id"}
    nothing_named = refused(commune_desk.SignDocument, pb.SignDocumentRequest(document=document, purpose=COPY),
                            grpc.StatusCode.INVALID_ARGUMENT)
    assert set(field_violations(nothing_named)) == {"document_reference"}


def test_the_signature_event_names_the_dossier_the_keys_owner_and_the_signer(stack, commune_desk, document):
    dossier_id = str(uuid.uuid4())
    signed = commune_desk.SignDocument(pb.SignDocumentRequest(
        document=document, purpose=RESULT, dossier_id=dossier_id, dossier_code=f"{COMMUNE}-261206-0001",
        reason="Kết quả giải quyết hồ sơ"))
    data = event_of(stack, signed.document_id)
    assert (data["purpose"], data["dossier_id"], data["dossier_code"]) == (
        "dossier_result",
        dossier_id,
        f"{COMMUNE}-261206-0001",
    )
    assert (data["key_id"], data["agency_id"], data["holder_account_id"]) == (pki.dev_seal_key_id(COMMUNE), COMMUNE, "")
    assert uuid.UUID(data["signed_by"])


def test_each_keys_declaration_is_recorded_once(stack, service, commune_desk):
    with psycopg.connect(stack.dsn("signing")) as conn:
        rows = conn.execute(
            "SELECT topic, state FROM signing_events WHERE topic LIKE %s", ("%:SigningKey.Declared",)
        ).fetchall()
    declared = {json.loads(bytes(state))["key_id"]: json.loads(bytes(state)) for _, state in rows}
    assert len(rows) == len(declared)
    assert declared["agency-seal"]["agency_id"] == PROVINCE
    assert declared[PERSONAL_KEY]["holder_account_id"] == HOLDER
    assert declared[PERSONAL_KEY]["purposes"] == ["personal_approval"]


def test_a_changed_declaration_is_recorded_at_the_next_start(stack, service, directory):
    keys = directory / "pki" / "keys"
    pki.write_ownership(
        keys, PERSONAL_KEY, KeyOwnership(holder_account_id=HOLDER, purposes=("personal_approval", "certified_copy"))
    )
    restarted = stack.service("signing", MOTCUA_SIGNING_DIR=str(directory)).start()
    assert restarted.terminate() == 0
    with psycopg.connect(stack.dsn("signing")) as conn:
        rows = conn.execute(
            "SELECT topic, state FROM signing_events WHERE originator_id = %s ORDER BY originator_version",
            (SigningKey.create_id(PERSONAL_KEY),),
        ).fetchall()
    assert [topic.rsplit(":", 1)[1] for topic, _ in rows] == ["SigningKey.Declared", "SigningKey.Redeclared"]
    assert json.loads(bytes(rows[1][1]))["purposes"] == ["personal_approval", "certified_copy"]
