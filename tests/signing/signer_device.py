"""An officer's signing device, for tests: what a SIM-PKI gateway or a signing app is.

It holds the officer's key in its own SoftHSM2 token (generated there, never extractable),
is told of signature requests over HTTP by the signing service (which must present the
device's own credential), and, when the officer confirms, signs the request's data in the
token and answers the service with the officer's own token."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pkcs11 import KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ecdsa_signature

from motcua.signing import pki
from motcua.signing.devtoken import generate_key, init_token, public_key
from motcua.signing.v1 import signing_service_pb2 as pb
from tests.support.hsm import softhsm_tools

KEY_LABEL = "khoa-ky-ca-nhan"


def dev_ca(directory: Path) -> tuple[pki.PrivateKey, x509.Certificate]:
    """The development PKI's root CA under ``directory`` (made if missing): the key and
    certificate that certify a device's key."""
    made = pki.ensure_dev_pki(directory)
    ca_key = serialization.load_pem_private_key((made.directory / pki.ROOT_CA_KEY).read_bytes(), None)
    assert isinstance(ca_key, pki.PrivateKey)
    return ca_key, x509.load_pem_x509_certificate(made.root_certificate.read_bytes())



class SignerDevice:
    def __init__(self, directory: Path, account_id: str, officer_name: str, organization: str,
                 ca_key: pki.PrivateKey, ca_cert: x509.Certificate, revocation_url: str = "") -> None:
        """``revocation_url``: the CA's OCSP responder and CRL, which the officer's certificate
        names."""
        self.account_id = account_id
        self.credential = secrets.token_urlsafe(24)
        self.pin = secrets.token_hex(4)
        conf, module = init_token(softhsm_tools(), directory, label="thiet-bi-ky", pin=self.pin)
        os.environ["SOFTHSM2_CONF"] = str(conf)  # this process's SoftHSM2 sees the device's token
        library = pkcs11.lib(str(module))
        library.reinitialize()
        self.session = library.get_token(token_label="thiet-bi-ky").open(user_pin=self.pin, rw=True)
        generate_key(self.session, KEY_LABEL, KeyType.EC)
        key = self.session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=KEY_LABEL)
        assert isinstance(key, pkcs11.SignMixin)
        self.key = key
        self.certificate = pki.certify_public_key(ca_key, ca_cert, public_key(self.session, KEY_LABEL),
                                                  officer_name, organization, province=pki.DEV_PROVINCE,
                                                  revocation_url=revocation_url)
        self.chain = (self.certificate, ca_cert)
        self.inbox: dict[str, dict] = {}
        self.refused_calls = 0
        device = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Authorization") != f"Bearer {device.credential}":
                    device.refused_calls += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                message = json.loads(body.decode("utf-8"))
                device.inbox[message["signature_request_id"]] = message
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/signature-requests"
        self._thread = threading.Thread(target=self.server.serve_forever, name="signer-device", daemon=True)

    def __enter__(self) -> SignerDevice:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.session.close()

    def enrol(self, remote_signers_dir: Path) -> None:
        """What enrolment leaves with the signing service: the officer's certificate and where
        their device is, with its credential."""
        remote_signers_dir.mkdir(parents=True, exist_ok=True)
        (remote_signers_dir / f"{self.account_id}.crt.pem").write_bytes(
            b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain))
        (remote_signers_dir / f"{self.account_id}.device.json").write_text(
            json.dumps({"url": self.url, "credential": self.credential}))

    def sign(self, data: bytes) -> bytes:
        """ECDSA P-256 with SHA-256 over ``data``, in the token (the token hashes nothing: plain
        CKM_ECDSA over the digest), DER-encoded as CMS wants it."""
        raw = self.key.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA)
        return encode_ecdsa_signature(raw)

    def confirm(self, officer_signing, request_id: str) -> pb.ConfirmSignatureRequestResponse:
        """The officer taps "confirm" on the request the device was told of."""
        data_to_sign = base64.b64decode(self.inbox[request_id]["data_to_sign"])
        return officer_signing.ConfirmSignatureRequest(pb.ConfirmSignatureRequestRequest(
            signature_request_id=request_id, signature_value=self.sign(data_to_sign)))


@contextlib.contextmanager
def enrolled_device(directory: Path, account_id: str, officer_name: str, organization: str) -> Iterator[SignerDevice]:
    """``account_id``'s device, its key certified by the development CA under ``directory / "pki"``,
    enrolled with a signing service whose remote signers are in ``directory / "remote-signers"``."""
    with SignerDevice(directory / "device", account_id, officer_name, organization,
                      *dev_ca(directory / "pki")) as device:
        device.enrol(directory / "remote-signers")
        yield device
