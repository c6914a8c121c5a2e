"""What the running signing service seals, judged by validators this project did not write:
the EU's DSS (``validate-pdf``, a small command on its libraries that `make dss` builds from
infra/dss) and poppler's ``pdfsig`` (with an NSS database that trusts the development root).

Each PAdES level the service produces is one entry of ``LEVELS``: the service's settings for it
and what DSS must recognise.

The development PKI's certificates, the test TSA's among them, name an OCSP responder and a CRL
(tests/support/revocation.py), as a real CA's and a real TSA's do: B-LT embeds what they answer,
and DSS's default policy wants revocation data for the signer's and the TSA's certificates
(without the TSA's, DSS rates a B-LT seal only PAdES-BASELINE-T). DSS runs offline: for the B-B
and B-T seals, which embed nothing, it is handed a CRL the development root issues here, as a
validator that fetched it would have been. The same CRL with the seal listed shows that both
validators read it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from motcua.dossiers.forms import render
from motcua.identity.v1.role_pb2 import Role
from motcua.signing import pki
from motcua.signing.domain import KeyOwnership
from motcua.signing.v1 import signing_service_pb2 as pb
from tests.signing.tsa import LocalTsa
from tests.support import auth, form_samples
from tests.support.clients import signing_stub
from tests.support.pdf_tools import run, tool
from tests.support.revocation import RevocationService

REPO = Path(__file__).resolve().parents[2]
VALIDATE_PDF = REPO / ".local" / "tools" / "dss" / "bin" / "validate-pdf"

SEAL_NAME = "Ủy ban nhân dân tỉnh Thanh Hóa"
PROVINCE = "000.00.00.H56"  # whose seal the development PKI's agency-seal is
FORM = "01-giay-tiep-nhan-va-hen-tra-ket-qua"
DOSSIER_ID = "7d4f0c2e-5b1a-4c8e-9a3f-2e6b8d1c0a55"  # the samples' dossier, as the dossiers service would name it
APPLICANT = "Nguyễn Thị Hồng Nhung"  # on form 01 of the samples


@dataclass(frozen=True)
class Surroundings:
    """What the test runs beside the signing service for the levels that need it."""

    tsa: LocalTsa
    revocation: RevocationService


@dataclass(frozen=True)
class Level:
    name: str
    pades_level: pb.PadesLevel.ValueType  # what the service says it made
    dss_format: str  # what DSS must recognise
    signature_timestamps: int
    document_timestamps: int
    environment: Callable[[Surroundings], dict[str, str]]  # the service's settings for this level
    # DSS's (indication, sub-indication) when the seal is revoked just after signing: only a
    # proof of existence from before the revocation (a timestamp) keeps the signature valid.
    dss_when_revoked_after_signing: tuple[str, str | None]

    def __str__(self) -> str:
        return self.name

    @property
    def embeds_revocation_data(self) -> bool:
        """B-LT and B-LTA carry their OCSP responses and CRLs: DSS is handed none."""
        return self.document_timestamps > 0 or self.name == "B-LT"


LEVELS = (
    Level("B-B", pb.PADES_LEVEL_B_B, "PAdES-BASELINE-B", 0, 0, lambda around: {},
          ("INDETERMINATE", "REVOKED_NO_POE")),
    Level("B-T", pb.PADES_LEVEL_B_T, "PAdES-BASELINE-T", 1, 0,
          lambda around: {"MOTCUA_SIGNING_TSA_URL": around.tsa.url}, ("TOTAL_PASSED", None)),
    Level("B-LT", pb.PADES_LEVEL_B_LT, "PAdES-BASELINE-LT", 1, 0, lambda around: {
        "MOTCUA_SIGNING_TSA_URL": around.tsa.url, "MOTCUA_SIGNING_PADES_LEVEL": "B-LT",
        "MOTCUA_SIGNING_DEV_PKI_REVOCATION_URL": around.revocation.url}, ("TOTAL_PASSED", None)),
    Level("B-LTA", pb.PADES_LEVEL_B_LTA, "PAdES-BASELINE-LTA", 1, 1, lambda around: {
        "MOTCUA_SIGNING_TSA_URL": around.tsa.url, "MOTCUA_SIGNING_PADES_LEVEL": "B-LTA",
        "MOTCUA_SIGNING_DEV_PKI_REVOCATION_URL": around.revocation.url}, ("TOTAL_PASSED", None)),
)
HIGHEST = LEVELS[-1]  # the level whose tampering has the most to hide


def validate_pdf() -> str:
    if not VALIDATE_PDF.is_file():
        pytest.fail(f"{VALIDATE_PDF.relative_to(REPO)} is missing: run `make dss` (make test does)")
    return str(VALIDATE_PDF)


def dss(pdf: Path, trust: Path, crls: tuple[Path, ...] = (), online: bool = False) -> dict:
    """DSS's report (validate-pdf's JSON) on every signature of ``pdf``; its XML reports, to read
    when a verdict surprises, go to a directory beside ``pdf`` named in ``reports``."""
    reports = pdf.parent / f"dss-reports-{pdf.stem}-{next(_calls)}"
    args = [validate_pdf(), str(pdf), "--trust", str(trust), "--online" if online else "--offline",
            "--reports", str(reports)]
    for crl in crls:
        args += ["--crl", str(crl)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (reports / "detailed-report.xml").is_file()
    return {**json.loads(result.stdout), "reports": str(reports)}


_calls = itertools.count(1)


def pdfsig(pdf: Path, nss_db: Path) -> str:
    command, env = tool("pdfsig")
    # pdfsig's exit status is not its verdict (1 for a document whose signature fails); the text is.
    result = subprocess.run([command, "-nssdir", f"sql:{nss_db}", str(pdf)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert "Signature #1" in result.stdout, result.stdout + result.stderr
    return result.stdout


def write_crl(directory: Path, name: str, ca_key, ca_cert: x509.Certificate,
              revoked: tuple[x509.Certificate, ...] = (), revoked_at: dt.datetime | None = None) -> Path:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=1))
    )
    for certificate in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(certificate.serial_number)
            .revocation_date(revoked_at or now - dt.timedelta(seconds=60))
            .build()
        )
    path = directory / name
    path.write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("independent-validation")


@pytest.fixture(scope="module")
def revocation() -> Iterator[RevocationService]:
    """The development root's OCSP responder and CRL; it answers once ``root`` is known."""
    with RevocationService() as service:
        yield service


@pytest.fixture(scope="module")
def signing_dir(work, revocation) -> Path:
    """The services' directory with the development PKI made beforehand, by the service's own code,
    its certificates naming the revocation service, so that the test TSA's certificate comes from
    the same root."""
    directory = work / "signing"
    pki.ensure_dev_pki(directory / "pki", revocation_url=revocation.url)
    return directory


@dataclass(frozen=True)
class DevRoot:
    key: Any
    certificate: x509.Certificate
    pem: Path


@pytest.fixture(scope="module")
def root(signing_dir, revocation) -> DevRoot:
    directory = signing_dir / "pki"
    made = DevRoot(
        key=serialization.load_pem_private_key((directory / "dev-root-ca.key.pem").read_bytes(), None),
        certificate=x509.load_pem_x509_certificate((directory / "dev-root-ca.crt.pem").read_bytes()),
        pem=directory / "dev-root-ca.crt.pem",
    )
    revocation.issuer = (made.key, made.certificate)
    return made


@pytest.fixture(scope="module")
def seal_certificate(signing_dir) -> x509.Certificate:
    return x509.load_pem_x509_certificates((signing_dir / "pki/keys/agency-seal.crt.pem").read_bytes())[0]


@pytest.fixture(scope="module")
def crl(work, root) -> Path:
    return write_crl(work, "dev-root.crl", root.key, root.certificate)


@pytest.fixture(scope="module")
def form() -> bytes:
    return render(form_samples.SAMPLES[FORM]())


class Sealed(dict[str, Path]):
    """Level name → the signed PDF's path; ``signed_at``: a time after every signing."""

    signed_at: dt.datetime


def seal_form(stack, signing_dir: Path, form: bytes, key_id: str = "", **environment: str) -> pb.SignDocumentResponse:
    """``form`` sealed as a dossier's result by a signing service process with ``environment``."""
    process = stack.service("signing", MOTCUA_SIGNING_DIR=str(signing_dir), **environment).start()
    try:
        token = auth.issue(roles=(Role.ROLE_LEADER,), agency_id=PROVINCE).access_token
        return signing_stub(process.addr, token).SignDocument(pb.SignDocumentRequest(
            document=form, purpose=pb.SIGNING_PURPOSE_DOSSIER_RESULT, dossier_id=DOSSIER_ID,
            dossier_code=form_samples.DOSSIER.code, key_id=key_id,
            reason="Giấy tiếp nhận hồ sơ và hẹn trả kết quả", location="Xã Đông Sơn, tỉnh Thanh Hóa",
        ))
    finally:
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def sealed(stack, signing_dir, root, revocation, work, form) -> Sealed:
    """Form 01 sealed by the running service once per level, each level a service process with
    that level's settings: level name → the signed PDF's path."""
    paths = Sealed()
    with LocalTsa(root.key, root.certificate, revocation_url=revocation.url) as tsa:
        around = Surroundings(tsa=tsa, revocation=revocation)
        for level in LEVELS:
            response = seal_form(stack, signing_dir, form, **level.environment(around))
            assert response.pades_level == level.pades_level
            paths[level.name] = work / f"form-01-{level.name}.pdf"
            paths[level.name].write_bytes(response.signed_document)
    paths.signed_at = dt.datetime.now(dt.UTC)
    return paths


@pytest.fixture(scope="module")
def nss_db(work, root) -> Path:
    """An NSS database (pdfsig's trust store) trusting the development root for signing."""
    directory = work / "nss"
    directory.mkdir()
    run("certutil", "-N", "--empty-password", "-d", f"sql:{directory}")
    run("certutil", "-A", "-n", "motcua development root", "-t", "CT,C,C", "-i", root.pem, "-d", f"sql:{directory}")
    return directory


@pytest.fixture(scope="module")
def empty_nss_db(work) -> Path:
    directory = work / "nss-empty"
    directory.mkdir()
    run("certutil", "-N", "--empty-password", "-d", f"sql:{directory}")
    return directory


def tampered(pdf: Path) -> Path:
    """``pdf`` with one byte changed inside the signed range: a letter of the form's /Title (a hex
    string of UTF-16 code units), so the file still parses as before."""
    data = bytearray(pdf.read_bytes())
    at = data.index(b"/Title <feff0047") + len(b"/Title <feff004")
    data[at:at + 1] = b"8"  # "G" (0047) becomes "H" (0048)
    path = pdf.with_name(pdf.stem + "-tampered.pdf")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("level", LEVELS, ids=str)
def test_dss_judges_each_level_total_passed_at_that_level(sealed, root, crl, level):
    report = dss(sealed[level.name], trust=root.pem, crls=() if level.embeds_revocation_data else (crl,))
    (signature,) = report["signatures"]
    assert (signature["indication"], signature["sub_indication"]) == ("TOTAL_PASSED", None), report
    assert signature["signature_format"] == level.dss_format
    assert signature["errors"] == []
    assert signature["signed_by"] == SEAL_NAME
    assert signature["certificate_chain"][0] == SEAL_NAME
    assert signature["signing_time"] is not None
    kinds = [timestamp["type"] for timestamp in signature["timestamps"]]
    assert kinds.count("SIGNATURE_TIMESTAMP") == level.signature_timestamps, kinds
    assert kinds.count("DOCUMENT_TIMESTAMP") == level.document_timestamps, kinds
    for timestamp in signature["timestamps"]:
        assert timestamp["indication"] == "PASSED", timestamp
        assert "thử nghiệm" in timestamp["produced_by"]  # the test TSA's Vietnamese name, intact
        # The proof of existence the timestamp gives is when the signing happened, give or take.
        produced = dt.datetime.fromisoformat(timestamp["production_time"])
        claimed = dt.datetime.fromisoformat(signature["signing_time"])
        assert abs(produced - claimed) < dt.timedelta(minutes=5)


@pytest.mark.parametrize("level", LEVELS, ids=str)
def test_pdfsig_finds_each_level_valid_and_trusted(sealed, nss_db, level):
    out = pdfsig(sealed[level.name], nss_db)
    seal, *document_timestamps = out.split("Signature #")[1:]
    assert "Signature Validation: Signature is Valid." in seal
    assert "Certificate Validation: Certificate is Trusted." in seal
    assert f"Signer Certificate Common Name: {SEAL_NAME}" in seal
    assert "Signature Type: ETSI.CAdES.detached" in seal
    # B-LT's validation data (and B-LTA's document timestamp) are updates after the seal.
    assert ("Not total document signed" if level.embeds_revocation_data else "Total document signed") in seal
    # pdfsig lists a document timestamp but does not validate one (DSS does, above).
    assert len(document_timestamps) == level.document_timestamps
    for stamp in document_timestamps:
        assert "Signer Certificate Common Name: Máy chủ cấp dấu thời gian thử nghiệm" in stamp


@pytest.mark.parametrize("level", LEVELS, ids=str)
def test_the_vietnamese_text_of_the_form_survives_sealing(sealed, work, form, level):
    unsigned = work / "form-01.pdf"
    unsigned.write_bytes(form)
    text = run("pdftotext", "-enc", "UTF-8", sealed[level.name], "-")
    assert f"Tiếp nhận hồ sơ của: {APPLICANT}" in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert text == run("pdftotext", "-enc", "UTF-8", unsigned, "-")


def test_a_byte_flipped_in_the_signed_range_fails_for_both_validators(sealed, root, crl, nss_db):
    pdf = tampered(sealed[HIGHEST.name])
    (signature,) = dss(pdf, trust=root.pem, crls=(crl,))["signatures"]
    assert (signature["indication"], signature["sub_indication"]) == ("TOTAL_FAILED", "HASH_FAILURE")
    assert signature["signed_by"] == SEAL_NAME  # the signature is still read, and found not to match
    out = pdfsig(pdf, nss_db)
    assert "Signature Validation: Digest Mismatch." in out


def test_a_root_the_validators_do_not_trust_leaves_the_signature_indeterminate(sealed, work, crl, empty_nss_db):
    _, other_root = pki.create_root_ca("CA gốc khác", "Tổ chức khác")
    other = work / "other-root.pem"
    other.write_bytes(other_root.public_bytes(serialization.Encoding.PEM))
    (signature,) = dss(sealed["B-B"], trust=other, crls=(crl,))["signatures"]
    assert signature["indication"] == "INDETERMINATE"
    assert signature["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"
    out = pdfsig(sealed["B-B"], empty_nss_db)
    assert "Signature Validation: Signature is Valid." in out  # intact, but nobody vouches for the signer
    assert "Certificate Validation: Certificate issuer isn't Trusted." in out


@pytest.mark.parametrize("level", LEVELS, ids=str)
def test_a_seal_revoked_after_signing_is_seen_by_both_and_only_a_timestamp_proves_the_signature_older(
        sealed, work, root, seal_certificate, level):
    """A CRL listing the seal as revoked just after the signing. DSS: without a timestamp nothing
    proves the signature existed before the revocation (REVOKED_NO_POE); the B-T timestamp does.
    pdfsig checks the certificate now, without proofs of existence: revoked either way."""
    # CRLs carry whole seconds: the revocation is the first whole second after the signings, and
    # the CRL is issued once that second has come.
    revoked_at = (sealed.signed_at + dt.timedelta(seconds=1)).replace(microsecond=0)
    time.sleep(max(0.0, (revoked_at - dt.datetime.now(dt.UTC)).total_seconds()))
    revoked = write_crl(work, f"seal-revoked-{level.name}.crl", root.key, root.certificate,
                        revoked=(seal_certificate,), revoked_at=revoked_at)
    (signature,) = dss(sealed[level.name], trust=root.pem, crls=(revoked,))["signatures"]
    assert (signature["indication"], signature["sub_indication"]) == level.dss_when_revoked_after_signing

    nss = work / f"nss-revoked-{level.name}"
    nss.mkdir()
    run("certutil", "-N", "--empty-password", "-d", f"sql:{nss}")
    run("certutil", "-A", "-n", "motcua development root", "-t", "CT,C,C", "-i", root.pem, "-d", f"sql:{nss}")
    run("crlutil", "-I", "-i", revoked, "-d", f"sql:{nss}")
    out = pdfsig(sealed[level.name], nss)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate has been Revoked." in out


def test_validate_pdf_says_why_it_cannot_judge_what_is_not_a_signed_pdf(work, root):
    not_a_pdf = work / "don-xin.pdf"
    not_a_pdf.write_text("Đơn xin cấp giấy phép xây dựng", encoding="utf-8")
    for args, why in (
        ([not_a_pdf, "--trust", root.pem], "Document format not recognized"),
        ([not_a_pdf], "no trust anchor given"),
        ([not_a_pdf, "--trust", not_a_pdf], "no certificate in"),
    ):
        result = subprocess.run([validate_pdf(), *map(str, args)], capture_output=True, text=True, timeout=300)
        assert (result.returncode, result.stdout) == (2, ""), result.stderr
        assert why in result.stderr


class CrlServer:
    """Serves one CRL over HTTP on the loopback interface and counts who fetched it."""

    def __init__(self) -> None:
        self.crl = b""
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(server.crl)))
                self.end_headers()
                self.wfile.write(server.crl)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/dev-root.crl"
        self._thread = threading.Thread(target=self.http.serve_forever, name="crl-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def crl_server(crl) -> Iterator[CrlServer]:
    server = CrlServer()
    server.crl = crl.read_bytes()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sealed_by_a_seal_naming_its_crl(stack, signing_dir, root, crl_server, work, form) -> Path:
    """Form 01 sealed at B-B with a second seal of the province, whose certificate (issued by the
    development root) names where its CRL is published, as a real CA's certificates do."""
    key = pki.new_key()
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(pki.name(SEAL_NAME, SEAL_NAME, "Thanh Hóa"))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_server.url)],
            relative_name=None, reasons=None, crl_issuer=None,
        )]), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    keys = signing_dir / "pki" / "keys"
    pki.write_ownership(keys, "seal-with-crl", KeyOwnership(agency_id=PROVINCE, purposes=("dossier_result",)))
    pki.write_key_pair(keys, "seal-with-crl", key, [certificate, root.certificate])
    response = seal_form(stack, signing_dir, form, key_id="seal-with-crl")
    assert response.key_id == "seal-with-crl"
    path = work / "form-01-seal-with-crl.pdf"
    path.write_bytes(response.signed_document)
    return path


def test_online_dss_fetches_the_crl_the_certificate_names_and_offline_nothing(
        sealed_by_a_seal_naming_its_crl, root, crl_server):
    (offline,) = dss(sealed_by_a_seal_naming_its_crl, trust=root.pem)["signatures"]
    assert offline["indication"] == "INDETERMINATE"  # no revocation data: DSS's policy wants some
    assert crl_server.requests == 0

    (online,) = dss(sealed_by_a_seal_naming_its_crl, trust=root.pem, online=True)["signatures"]
    assert (online["indication"], online["sub_indication"]) == ("TOTAL_PASSED", None), online["errors"]
    assert online["signature_format"] == "PAdES-BASELINE-B"
    assert crl_server.requests >= 1
