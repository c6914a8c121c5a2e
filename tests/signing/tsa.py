"""A timestamp authority on the loopback interface, for tests: RFC 3161 over HTTP,
answered by pyHanko's DummyTimeStamper with a TSA certificate the test issues."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from asn1crypto import cms, core, keys as asn1_keys, tsp, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from motcua.signing import pki


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def issue_tsa_certificate(ca_key, ca_cert: x509.Certificate, revocation_url: str = ""):
    """The TSA's certificate; with ``revocation_url`` it names where its status is published, as a
    real TSA's does: a validator wants the timestamp's chain checked for revocation too (EU DSS
    rates a signature B-LT only when the document holds revocation data for the TSA as well)."""
    key = pki.new_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        pki.with_revocation_pointers(x509.CertificateBuilder(), revocation_url)
        .subject_name(pki.name("Máy chủ cấp dấu thời gian thử nghiệm", pki.DEV_ORGANIZATION))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


class _Stamper(DummyTimeStamper):
    """pyHanko's RFC 3161 stamper with its RSA key loaded once. pyHanko's loads the key again for
    every stamp, and loading checks an RSA key (about 60-190 ms here): a timestamp would cost ten
    times what signing does, which a real TSA's answer does not."""

    def __init__(self, key: rsa.RSAPrivateKey, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key = key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str,
                       moment: dt.datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        # The attributes RFC 3161 asks a TSA to sign (ESS signing-certificate among them).
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(moment)})),
            simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        signature = self._key.sign(signed_attrs.dump(), PKCS1v15(),
                                   get_pyca_cryptography_hash(md_algorithm.upper()))
        return signature, signed_attrs


class LocalTsa:
    def __init__(self, ca_key, ca_cert: x509.Certificate, revocation_url: str = "") -> None:
        key, cert = issue_tsa_certificate(ca_key, ca_cert, revocation_url)
        der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        self.stamper = _Stamper(
            key,
            tsa_cert=_asn1(cert),
            tsa_key=asn1_keys.PrivateKeyInfo.load(der_key),
            certs_to_embed=SimpleCertificateStore.from_certs([_asn1(ca_cert)]),
        )
        self.requests = 0
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = tsa.stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
                tsa.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, name="local-tsa", daemon=True)

    def __enter__(self) -> LocalTsa:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops answering: the port is closed (idempotent)."""
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def __exit__(self, *exc: object) -> None:
        self.stop()
