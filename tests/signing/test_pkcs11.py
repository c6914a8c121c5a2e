"""Agency seals in a PKCS#11 token (SoftHSM2), used by a real signing process: RSA-2048 and
ECDSA P-256 keys generated inside the token sign PAdES B-T documents, the private keys are
never extractable and never written to a file, and a token the service cannot open, or a key
file beside token keys, fails the start with a message saying why."""

from __future__ import annotations

import hashlib
import uuid
from concurrent.futures import ThreadPoolExecutor

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import Attribute, ObjectClass

from motcua.identity.v1.role_pb2 import Role
from motcua.signing import pki
from motcua.signing.devtoken import EC_SEAL, RSA_SEAL
from motcua.signing.v1 import signature_verification_pb2 as vpb, signing_service_pb2 as pb
from tests.signing.pdfs import vietnamese_pdf
from tests.signing.tsa import LocalTsa
from tests.support import auth
from tests.support.clients import signing_stub
from tests.support.hsm import dev_token

PROVINCE = "000.00.00.H56"  # whose seals the development token's keys are
SEAL_NAME = "Ủy ban nhân dân tỉnh Thanh Hóa"
PIN = "2468"


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    return tmp_path_factory.mktemp("signing-hsm")


@pytest.fixture(scope="module")
def token(directory):
    return dev_token(directory, pin=PIN)


@pytest.fixture(scope="module")
def tsa(directory, token):
    ca_key = serialization.load_pem_private_key((directory / "pki" / pki.ROOT_CA_KEY).read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(token.root_certificate.read_bytes())
    with LocalTsa(ca_key, ca_cert) as tsa:
        yield tsa


@pytest.fixture(scope="module")
def service(stack, directory, token, tsa):
    # A patient timestamp authority: concurrent requests queue at the test's one-process TSA.
    process = stack.service("signing", MOTCUA_SIGNING_DIR=str(directory), MOTCUA_SIGNING_TSA_URL=tsa.url,
                            MOTCUA_SIGNING_TSA_TIMEOUT="60", **token.service_env()).start()
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def signing(service):
    return signing_stub(service.addr, auth.issue(roles=(Role.ROLE_LEADER,), agency_id=PROVINCE).access_token)


def fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


@pytest.mark.parametrize(("key_id", "key_type", "size"), [(RSA_SEAL, rsa.RSAPublicKey, 2048),
                                                          (EC_SEAL, ec.EllipticCurvePublicKey, 256)])
def test_seals_at_b_t_with_a_key_in_the_token(signing, token, tsa, key_id, key_type, size):
    certificate = x509.load_pem_x509_certificates((token.keys_dir / f"{key_id}.crt.pem").read_bytes())[0]
    assert isinstance(certificate.public_key(), key_type) and certificate.public_key().key_size == size
    stamps = tsa.requests
    sealed = signing.SignDocument(pb.SignDocumentRequest(
        document=vietnamese_pdf(), key_id=key_id, purpose=pb.SIGNING_PURPOSE_DOSSIER_RESULT,
        reason="Trả kết quả hồ sơ", location="Thanh Hóa", dossier_code="H56.22-261207-0001",
        dossier_id=str(uuid.uuid4())))
    assert sealed.key_id == key_id
    assert sealed.pades_level == pb.PADES_LEVEL_B_T
    assert sealed.certificate_sha256 == fingerprint(certificate)
    assert tsa.requests == stamps + 1
    (report,) = signing.VerifyDocument(pb.VerifyDocumentRequest(document=sealed.signed_document)).signatures
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert (report.integrity_ok, report.trusted, report.timestamped) == (True, True, True)
    assert report.signer_name == SEAL_NAME
    assert report.certificate_sha256 == fingerprint(certificate)


def test_requests_sign_in_turn_on_one_token_session(signing):
    """The gRPC workers share the token's session: concurrent requests all get valid signatures."""

    def seal(i: int) -> bytes:
        key_id = (RSA_SEAL, EC_SEAL)[i % 2]
        return signing.SignDocument(pb.SignDocumentRequest(
            document=vietnamese_pdf(), key_id=key_id, purpose=pb.SIGNING_PURPOSE_CERTIFIED_COPY,
            document_reference=f"Số chứng thực {i}/2026/SCT/BS")).signed_document

    with ThreadPoolExecutor(4) as pool:
        signed = list(pool.map(seal, range(8)))
    for document in signed:
        (report,) = signing.VerifyDocument(pb.VerifyDocumentRequest(document=document)).signatures
        assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail


def test_the_private_keys_never_leave_the_token(service, token):
    assert not list(token.keys_dir.glob("*.key.pem"))
    library = pkcs11.lib(str(token.module))
    with library.get_token(token_label=token.token_label).open(user_pin=PIN) as session:
        keys = {k.label: k for k in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})}
        assert set(keys) == {RSA_SEAL, EC_SEAL}
        for key in keys.values():
            assert key[Attribute.EXTRACTABLE] is False
            assert key[Attribute.NEVER_EXTRACTABLE] is True
            assert key[Attribute.SENSITIVE] is True
            with pytest.raises(pkcs11.AttributeSensitive):
                key[Attribute.VALUE if key.key_type == pkcs11.KeyType.EC else Attribute.PRIVATE_EXPONENT]


def test_a_wrong_pin_fails_the_start_without_showing_it(stack, directory, token):
    process = stack.service("signing", MOTCUA_SIGNING_DIR=str(directory),
                            **{**token.service_env(), "MOTCUA_SIGNING_PKCS11_PIN": "97531"})
    with pytest.raises(RuntimeError,
                       match=r"(?s)exited with code 1.*cannot open PKCS#11 token 'motcua-test'.*PinIncorrect"):
        process.start(timeout=60)
    assert "97531" not in process.log_path.read_text(encoding="utf-8")


def test_a_key_file_beside_token_keys_fails_the_start(stack, tmp_path, token):
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    for file in token.keys_dir.iterdir():
        (keys_dir / file.name).write_bytes(file.read_bytes())
    ca_key, ca_cert = pki.create_root_ca("CA thử nghiệm", "Tổ chức thử nghiệm")
    key, cert = pki.issue_signing_certificate(ca_key, ca_cert, "Con dấu trong tệp", "Tổ chức thử nghiệm")
    pki.write_key_pair(keys_dir, "seal-in-a-file", key, [cert, ca_cert])
    process = stack.service("signing", MOTCUA_SIGNING_DIR=str(tmp_path),
                            **{**token.service_env(), "MOTCUA_SIGNING_KEYS_DIR": str(keys_dir)})
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 1.*seal-in-a-file.key.pem: with a PKCS#11 token"):
        process.start(timeout=60)
