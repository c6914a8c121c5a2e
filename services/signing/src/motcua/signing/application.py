"""The signing service's application: sign (seal, keep, record), verify."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from uuid import UUID

from motcua.kernel.config import Settings
from motcua.kernel.eventstore import ServiceApplication

from motcua.kernel.blobstore import BlobStore
from .domain import PADES_B_B, PADES_B_T, Document, UnknownSigningKey, check_signing_request
from .pades import Sealer, SignatureReport, Verifier


@dataclass(frozen=True)
class SignedDocumentView:
    document_id: UUID
    signed_document: bytes
    document_sha256: str
    signed_document_sha256: str
    key_id: str
    certificate_sha256: str
    signing_time: dt.datetime
    pades_level: str


class SigningApplication(ServiceApplication):
    name = "signing"

    def __init__(self, settings: Settings, sealer: Sealer | None = None, verifier: Verifier | None = None,
                 documents: BlobStore | None = None, default_key: str = "agency-seal") -> None:
        super().__init__(settings)
        self.sealer = sealer
        self.verifier = verifier
        self.documents = documents
        self.default_key = default_key

    def sign_document(self, document: bytes, reason: str = "", location: str = "", key_id: str = "",
                      ) -> SignedDocumentView:
        assert self.sealer is not None and self.documents is not None, "built without signing keys"
        key_id = key_id or self.default_key
        check_signing_request(reason, location, key_id)
        key = self.sealer.keys.get(key_id)
        if key is None:
            raise UnknownSigningKey(key_id)
        # PDF dates have whole seconds: the event records the time the signature shows.
        signing_time = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        sealed = self.sealer.seal(document, key_id, reason, location, signing_time)
        record = Document.signed(
            document_sha256=hashlib.sha256(document).hexdigest(),
            signed_document_sha256=hashlib.sha256(sealed.document).hexdigest(),
            key_id=key_id,
            certificate_sha256=key.pair.fingerprint,
            certificate_serial=format(key.pair.certificate.serial_number, "x"),
            signing_time=signing_time,
            reason=reason,
            location=location,
            pades_level=PADES_B_T if sealed.timestamped else PADES_B_B,
        )
        # The bytes first: an event never points at a document that was not kept. A crash
        # in between leaves an unreferenced file, not a dangling record.
        self.documents.put(str(record.id), sealed.document)
        self.save(record)
        return SignedDocumentView(
            document_id=record.id,
            signed_document=sealed.document,
            document_sha256=record.document_sha256,
            signed_document_sha256=record.signed_document_sha256,
            key_id=key_id,
            certificate_sha256=record.certificate_sha256,
            signing_time=signing_time,
            pades_level=record.pades_level,
        )

    def verify_document(self, document: bytes) -> list[SignatureReport]:
        assert self.verifier is not None, "built without trust roots"
        return self.verifier.verify(document)
