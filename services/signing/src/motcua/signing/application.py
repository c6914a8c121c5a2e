"""The signing service's application: sign (choose and check the key, seal, keep,
record), verify, and record the keys' declarations."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Mapping

from motcua.kernel.blobstore import BlobStore
from motcua.kernel.config import Settings
from motcua.kernel.context import current_actor
from motcua.kernel.errors import VersionConflict
from motcua.kernel.eventstore import ServiceApplication

from .authority import choose_key
from .domain import (
    AGENCY_SEAL_PURPOSES,
    PADES_B_B,
    PADES_B_T,
    Document,
    DocumentSubject,
    KeyOwnership,
    SigningKey,
    check_signing_request,
)
from .pades import Sealer, SignatureReport, Verifier
from .pki import KeyPair
from .views import SignedDocumentView

# Makes (or finds) the development seal of an agency: (its key, its declaration).
DevSealMaker = Callable[[str], tuple[KeyPair, KeyOwnership]]


class SigningApplication(ServiceApplication):
    name = "signing"

    def __init__(self, settings: Settings, sealer: Sealer | None = None, verifier: Verifier | None = None,
                 documents: BlobStore | None = None, default_key: str = "agency-seal",
                 ownerships: Mapping[str, KeyOwnership] | None = None, dev_seals: DevSealMaker | None = None) -> None:
        super().__init__(settings)
        self.sealer = sealer
        self.verifier = verifier
        self.documents = documents
        self.default_key = default_key
        self.ownerships: dict[str, KeyOwnership] = dict(ownerships or {})
        self.dev_seals = dev_seals
        self._issuing = threading.Lock()

    def sign_document(self, document: bytes, reason: str = "", location: str = "", key_id: str = "",
                      purpose: str = "", agency_id: str = "", subject: DocumentSubject | None = None,
                      ) -> SignedDocumentView:
        assert self.sealer is not None and self.documents is not None, "built without signing keys"
        subject = subject or DocumentSubject()
        actor = current_actor()
        check_signing_request(reason, location, key_id or self.default_key, purpose, subject)
        key_id, ownership = choose_key(actor, self.ownerships, purpose, key_id, agency_id, preferred=self.default_key,
                                       issue=self._issue_dev_seal if self.dev_seals else None)
        key = self.sealer.keys[key_id]
        # PDF dates have whole seconds: the event records the time the signature shows.
        signing_time = dt.datetime.now(dt.UTC).replace(microsecond=0)
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
            purpose=purpose,
            ownership=ownership,
            signed_by=actor.subject,
            subject=subject,
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
            purpose=purpose,
            agency_id=ownership.agency_id,
            holder_account_id=ownership.holder_account_id,
        )

    def _issue_dev_seal(self, agency_id: str, purpose: str) -> tuple[str, KeyOwnership] | None:
        """The development PKI's seal of an agency that has none yet, made, declared and loaded
        (none for a purpose no seal allows: that needs a person's own key)."""
        assert self.dev_seals is not None and self.sealer is not None
        if purpose not in AGENCY_SEAL_PURPOSES:
            return None
        with self._issuing:
            pair, ownership = self.dev_seals(agency_id)
            if pair.key_id not in self.sealer.keys:
                self.sealer.add(pair)
                self.declare_keys({pair.key_id: (pair.fingerprint, ownership)})
                # Replaced, not changed in place: requests iterate over the keys meanwhile.
                self.ownerships = {**self.ownerships, pair.key_id: ownership}
        return pair.key_id, ownership

    def declare_keys(self, declarations: Mapping[str, tuple[str, KeyOwnership]]) -> None:
        """Records each key's declaration (certificate, owner, purposes) when it is new or
        changed, so that the log tells who could sign what, and from when. Replicas starting
        together record it once (the first write wins; the others find it recorded)."""
        for key_id, (certificate_sha256, ownership) in declarations.items():
            for _ in range(2):
                recorded = self.find(SigningKey, SigningKey.create_id(key_id))
                if recorded is None:
                    change = SigningKey.declare(key_id, certificate_sha256, ownership)
                elif recorded.matches(certificate_sha256, ownership):
                    break
                else:
                    recorded.redeclare(certificate_sha256, ownership)
                    change = recorded
                try:
                    self.save(change)
                    break
                except VersionConflict:
                    continue

    def verify_document(self, document: bytes) -> list[SignatureReport]:
        assert self.verifier is not None, "built without trust roots"
        return self.verifier.verify(document)
