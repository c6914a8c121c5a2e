"""Officers enrolled for remote signing: their certificate, and the device that holds their key.

The enrolment directory (MOTCUA_SIGNING_REMOTE_SIGNERS_DIR) has, per officer (by account id):

- ``<account id>.crt.pem``: their signing certificate, then its chain;
- ``<account id>.device.json``: ``{"url": "https://…", "credential": "…"}``, where their signing
  device (a SIM-PKI gateway, a signing app) is told of a new request: an HTTP POST of the
  request (id, document name and SHA-256, data to sign, reason, expiry) with
  ``Authorization: Bearer <credential>``. The device answers later, with the officer's own
  token, through ConfirmSignatureRequest or RefuseSignatureRequest.

Read when a request is made, so an officer enrolled while the service runs can be asked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from motcua.kernel.errors import DomainError

from .domain import SignatureRequest

log = logging.getLogger(__name__)

ACCOUNT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NOTIFY_TIMEOUT = 5.0  # seconds; an unreachable device leaves the request pending, not failed


class SignerNotEnrolled(DomainError):
    """The officer has no certificate enrolled for remote signing (FAILED_PRECONDITION)."""

    def __init__(self, account_id: str) -> None:
        super().__init__(f"officer {account_id} has no certificate enrolled for remote signing")


@dataclass(frozen=True)
class RemoteSigner:
    account_id: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


class RemoteSigners:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def signer(self, account_id: str) -> RemoteSigner:
        if not ACCOUNT_ID.match(account_id):
            raise SignerNotEnrolled(account_id)
        try:
            certificate, *chain = x509.load_pem_x509_certificates(
                (self.directory / f"{account_id}.crt.pem").read_bytes())
        except FileNotFoundError:
            raise SignerNotEnrolled(account_id) from None
        return RemoteSigner(account_id, certificate, tuple(chain))

    def _device(self, account_id: str) -> dict[str, Any] | None:
        try:
            device = json.loads((self.directory / f"{account_id}.device.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.warning("unreadable signing device enrolment", extra={"account_id": account_id, "error": str(e)})
            return None
        return device if isinstance(device, dict) and isinstance(device.get("url"), str) else None

    def notify(self, account_id: str, request: SignatureRequest) -> bool:
        """Tells the officer's device of the request; whether it took it. Failure is logged: the
        request stays pending and the device can still read it."""
        device = self._device(account_id)
        if device is None:
            return False
        body = json.dumps({
            "signature_request_id": str(request.id),
            "document_name": request.document_name,
            "document_sha256": request.document_sha256,
            "data_to_sign": base64.b64encode(request.data_to_sign).decode("ascii"),
            "reason": request.reason,
            "agency_id": request.agency_id,
            "expire_time": request.expires_at.isoformat(),
        }, ensure_ascii=False).encode("utf-8")
        http_request = urllib.request.Request(device["url"], data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {device.get('credential', '')}",
        })
        try:
            with urllib.request.urlopen(http_request, timeout=NOTIFY_TIMEOUT) as response:  # noqa: S310 - configured URL
                return 200 <= response.status < 300
        except (urllib.error.URLError, OSError) as e:
            log.warning("the signing device was not told of the request",
                        extra={"account_id": account_id, "signature_request_id": str(request.id), "error": str(e)})
            return False
