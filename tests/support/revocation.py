"""Revocation services of the development CA, for tests: an OCSP responder (RFC 6960, built on
`cryptography`'s OCSP builder, signed by the CA itself) and the CA's CRL, over HTTP on the
loopback interface. Certificates issued with ``revocation_url=service.url`` point at them."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

UPDATE = dt.timedelta(hours=1)


class RevocationService:
    """Starts without an issuer (its URL goes into the CA's certificates first); ``issuer`` is
    set once the CA exists."""

    def __init__(self) -> None:
        self.issuer: tuple[object, x509.Certificate] | None = None
        self.revoked: dict[int, dt.datetime] = {}
        self.ocsp_requests = 0
        self.crl_requests = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                service.ocsp_requests += 1
                self._answer(service.ocsp_response(body), "application/ocsp-response")

            def do_GET(self) -> None:  # noqa: N802
                if not self.path.startswith("/crl"):
                    self.send_response(404)
                    self.end_headers()
                    return
                service.crl_requests += 1
                self._answer(service.crl(), "application/pkix-crl")

            def _answer(self, body: bytes, media_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="revocation", daemon=True)

    def __enter__(self) -> RevocationService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def revoke(self, certificate: x509.Certificate, when: dt.datetime | None = None) -> None:
        self.revoked[certificate.serial_number] = when or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)

    def ocsp_response(self, der: bytes) -> bytes:
        assert self.issuer is not None, "the CA is not set yet"
        ca_key, ca_cert = self.issuer
        request = ocsp.load_der_ocsp_request(der)
        now = dt.datetime.now(dt.UTC)
        revoked_at = self.revoked.get(request.serial_number)
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number, algorithm=request.hash_algorithm,
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD,
            this_update=now - dt.timedelta(minutes=1), next_update=now + UPDATE,
            revocation_time=revoked_at, revocation_reason=x509.ReasonFlags.key_compromise if revoked_at else None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, ca_cert)
        nonce = _nonce(request)
        if nonce is not None:
            builder = builder.add_extension(nonce, critical=False)
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]

    def crl(self) -> bytes:
        assert self.issuer is not None, "the CA is not set yet"
        ca_key, ca_cert = self.issuer
        now = dt.datetime.now(dt.UTC)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
                   .last_update(now - dt.timedelta(minutes=1)).next_update(now + UPDATE))
        for serial, when in self.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]


def _nonce(request: ocsp.OCSPRequest) -> x509.OCSPNonce | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value
    except x509.ExtensionNotFound:
        return None
