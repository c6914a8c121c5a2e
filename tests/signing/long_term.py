"""Long-term PAdES (B-T, B-LT, B-LTA) from a real signing process, for tests: the development PKI
with its certificates naming a real OCSP responder and CRL (tests/support/revocation.py), a
timestamp authority (tests/signing/tsa.py), and a signing service making signatures at the
level asked for. Independent validators are handed what ``signed_pdf`` returns and the root at
``trust_root``.

    with LongTermPki(directory) as infra:
        service = infra.signing_service(stack, "B-LTA").start()
        pdf = infra.signed_pdf(service)
"""

from __future__ import annotations

import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from motcua.identity.v1.role_pb2 import Role
from motcua.signing import pki
from motcua.signing.v1 import signing_service_pb2 as pb
from tests.signing.pdfs import vietnamese_pdf
from tests.signing.tsa import LocalTsa
from tests.support import auth
from tests.support.clients import signing_stub
from tests.support.revocation import RevocationService

PROVINCE = "000.00.00.H56"  # whose seal the development PKI's agency-seal is


class LongTermPki:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.revocation = RevocationService()

    def __enter__(self) -> LongTermPki:
        self.revocation.__enter__()
        made = pki.ensure_dev_pki(self.directory / "pki", revocation_url=self.revocation.url)
        self.trust_root = made.root_certificate
        self.keys_dir = made.keys_dir
        self.ca_key = serialization.load_pem_private_key((made.directory / pki.ROOT_CA_KEY).read_bytes(), None)
        self.ca_cert = x509.load_pem_x509_certificate(made.root_certificate.read_bytes())
        self.revocation.issuer = (self.ca_key, self.ca_cert)
        self.tsa = LocalTsa(self.ca_key, self.ca_cert, revocation_url=self.revocation.url).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.tsa.stop()
        self.revocation.__exit__(*exc)

    def signing_service(self, stack, level: str, **env: str):
        """A signing process (not started) sealing at ``level``, verifying revocation online."""
        return stack.service("signing", MOTCUA_SIGNING_DIR=str(self.directory), MOTCUA_SIGNING_TSA_URL=self.tsa.url,
                             MOTCUA_SIGNING_PADES_LEVEL=level, MOTCUA_SIGNING_VERIFY_ONLINE="true",
                             MOTCUA_SIGNING_DEV_PKI_REVOCATION_URL=self.revocation.url, **env)

    @staticmethod
    def stub(service):
        """An officer of the province, who seals with its agency-seal."""
        return signing_stub(service.addr, auth.issue(roles=(Role.ROLE_LEADER,), agency_id=PROVINCE).access_token)

    def signed(self, service, key_id: str = "", document: bytes | None = None) -> pb.SignDocumentResponse:
        return self.stub(service).SignDocument(pb.SignDocumentRequest(
            document=document or vietnamese_pdf(), key_id=key_id, purpose=pb.SIGNING_PURPOSE_DOSSIER_RESULT,
            dossier_id=str(uuid.uuid4()), dossier_code="H56.22-261207-0042", reason="Trả kết quả giải quyết hồ sơ",
            location="Thanh Hóa"))

    def signed_pdf(self, service) -> bytes:
        """A PDF sealed by the running service at its level."""
        return self.signed(service).signed_document
