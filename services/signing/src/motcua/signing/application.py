"""The signing service's application: sign (choose and check the key, seal, keep,
record), verify, and record the keys' declarations."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Mapping

from eventsourcing.utils import get_topic

from motcua.kernel.access import in_agency, is_self
from motcua.kernel.blobstore import BlobNotFound, BlobStore
from motcua.kernel.config import Settings
from motcua.kernel.context import current_actor
from motcua.kernel.errors import InvalidArgument, NotFound, PermissionDenied, VersionConflict
from motcua.kernel.eventstore import ServiceApplication

from .authority import choose_key
from .domain import (
    AGENCY_SEAL_PURPOSES,
    PADES_B_LTA,
    REQUEST_PENDING,
    REQUEST_SIGNED,
    Document,
    DocumentSubject,
    KeyOwnership,
    RequestNotPending,
    SignatureRequest,
    SigningKey,
    check_signing_request,
)
from .pades import (
    ExternalSignatureEmbedder,
    PreparedSignature,
    Sealer,
    SignatureMismatch,
    SignatureReport,
    Verifier,
    last_timestamp_expiry,
    prepare_external_signature,
)
from .pki import KeyPair
from .remote import RemoteSigners
from .views import SignedDocumentView

log = logging.getLogger(__name__)

# Makes (or finds) the development seal of an agency: (its key, its declaration).
DevSealMaker = Callable[[str], tuple[KeyPair, KeyOwnership]]


class SigningApplication(ServiceApplication):
    name = "signing"

    def __init__(self, settings: Settings, sealer: Sealer | None = None, verifier: Verifier | None = None,
                 documents: BlobStore | None = None, default_key: str = "agency-seal",
                 ownerships: Mapping[str, KeyOwnership] | None = None, dev_seals: DevSealMaker | None = None,
                 remote: RemoteSigners | None = None, prepared: BlobStore | None = None,
                 request_ttl: dt.timedelta = dt.timedelta(minutes=15)) -> None:
        super().__init__(settings)
        self.sealer = sealer
        self.verifier = verifier
        self.documents = documents
        self.default_key = default_key
        self.ownerships: dict[str, KeyOwnership] = dict(ownerships or {})
        self.dev_seals = dev_seals
        self._issuing = threading.Lock()
        self.remote = remote
        self.prepared = prepared
        self.request_ttl = request_ttl
        self.embedder = ExternalSignatureEmbedder(sealer.timestamper if sealer else None)

    def sign_document(self, document: bytes, reason: str = "", location: str = "", key_id: str = "",
                      purpose: str = "", agency_id: str = "", subject: DocumentSubject | None = None,
                      signature_request_id: uuid.UUID | None = None) -> SignedDocumentView:
        """``signature_request_id``: the officer signed ``document`` through that request; the
        seal goes on the document they signed, after their signature."""
        assert self.sealer is not None and self.documents is not None, "built without signing keys"
        subject = subject or DocumentSubject()
        actor = current_actor()
        check_signing_request(reason, location, key_id or self.default_key, purpose, subject)
        key_id, ownership = choose_key(actor, self.ownerships, purpose, key_id, agency_id, preferred=self.default_key,
                                       issue=self._issue_dev_seal if self.dev_seals else None)
        key = self.sealer.keys[key_id]
        to_seal = document
        if signature_request_id is not None:
            officer_request = self.signature_request(signature_request_id)
            officer_request.check_sealable(hashlib.sha256(document).hexdigest(), ownership.agency_id,
                                           subject.dossier_id)
            to_seal = self.documents.get(str(officer_request.id))
        # PDF dates have whole seconds: the event records the time the signature shows.
        signing_time = dt.datetime.now(dt.UTC).replace(microsecond=0)
        sealed = self.sealer.seal(to_seal, key_id, reason, location, signing_time)
        record = Document.signed(
            document_sha256=hashlib.sha256(document).hexdigest(),
            signed_document_sha256=hashlib.sha256(sealed.document).hexdigest(),
            key_id=key_id,
            certificate_sha256=key.pair.fingerprint,
            certificate_serial=format(key.pair.certificate.serial_number, "x"),
            signing_time=signing_time,
            reason=reason,
            location=location,
            pades_level=sealed.level,
            purpose=purpose,
            ownership=ownership,
            signed_by=actor.subject,
            subject=subject,
            archive_timestamp_expires_at=(last_timestamp_expiry(sealed.document) if sealed.level == PADES_B_LTA
                                          else None),
            countersigned_request_id=str(signature_request_id or ""),
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

    # --- archives: re-augmentation before the evidence expires ----------------------------------

    def reaugment_due(self, now: dt.datetime, margin: dt.timedelta, limit: int = 100) -> list[uuid.UUID]:
        """Adds a document timestamp (with fresh validation data) to each archived B-LTA document
        whose last document timestamp's certificate expires within ``margin`` of ``now``; each
        is a ``Document.Reaugmented`` event, the new bytes kept as the document's next version.
        A document whose kept bytes are missing is logged and left out. Returns the documents
        re-augmented (at most ``limit``)."""
        assert self.sealer is not None and self.documents is not None
        done: list[uuid.UUID] = []
        for document_id in self._archived_documents():
            record = self.find(Document, document_id)
            if record is None or not record.archive_due(now, margin):
                continue
            try:
                kept = self.documents.get(record.blob_key)
            except BlobNotFound:
                # One lost file must not hold back every other archive's renewal (the scan
                # meets it first each round): it is reported, and the others are renewed.
                log.error("archive renewal: the archived document's bytes are missing",
                          extra={"document_id": str(document_id), "blob_key": record.blob_key})
                continue
            renewed = self.sealer.add_archive_timestamp(kept)
            expiry = last_timestamp_expiry(renewed)
            assert expiry is not None
            # The bytes first, as the next version: the event never names a document not kept.
            self.documents.put(f"{document_id}.{record.reaugmentations + 1}", renewed)
            record.reaugment(hashlib.sha256(renewed).hexdigest(), expiry, now)
            try:
                self.save(record)
            except VersionConflict:  # another replica renewed it meanwhile
                continue
            done.append(document_id)
            if len(done) >= limit:
                break
        return done

    def _archived_documents(self) -> list[uuid.UUID]:
        """Every signed document, from the log (a scan: archives are looked at once a day; the
        aggregate says whether it is a B-LTA archive)."""
        topic = get_topic(Document.Signed)  # type: ignore[attr-defined]
        ids: list[uuid.UUID] = []
        start = 1
        while True:
            page = self.recorder.select_notifications(start, 1000, topics=[topic])
            ids += [uuid.UUID(str(n.originator_id)) for n in page]
            if len(page) < 1000:
                return ids
            start = page[-1].id + 1

    # --- remote signing: a request addressed to an officer, confirmed on their device -------------

    def create_signature_request(self, document: bytes, document_name: str, signer_account_id: str,
                                 agency_id: str, dossier_id: str = "", reason: str = "",
                                 request_id: str = "", remote: bool = True) -> SignatureRequest:
        """Prepares the document for the officer's signature and asks their device for it. A
        caller asks on behalf of their own agency only; the officer must have enrolled a
        certificate (and a device) for remote signing."""
        assert self.remote is not None and self.documents is not None and self.prepared is not None
        actor = current_actor()
        if not in_agency(actor, agency_id):
            raise PermissionDenied("request a signature", f"only callers of agency {agency_id} ask on its behalf",
                                   error_reason="AGENCY_SCOPE", agencies=agency_id)
        if not remote:
            raise InvalidArgument.field("method", "only SIGNATURE_METHOD_REMOTE is requested; an agency seal is "
                                        "applied at once with SignDocument", "METHOD_NOT_REQUESTABLE")
        idempotency_key = request_id or str(uuid.uuid4())
        existing = self.find(SignatureRequest, SignatureRequest.create_id(actor.subject, idempotency_key))
        if existing is not None:
            return existing
        signer = self.remote.signer(signer_account_id)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        prepared = prepare_external_signature(document, signer.certificate, signer.chain, reason, now)
        request = SignatureRequest.request(
            idempotency_key=idempotency_key, document_name=document_name,
            document_sha256=hashlib.sha256(document).hexdigest(),
            signer_account_id=signer_account_id, agency_id=agency_id, dossier_id=dossier_id, reason=reason,
            requested_by=actor.subject, signer_certificate_sha256=signer.fingerprint,
            data_to_sign=prepared.data_to_sign, document_digest=prepared.document_digest,
            reserved_region=prepared.reserved_region, requested_at=now, expires_at=now + self.request_ttl,
        )
        self.prepared.put(str(request.id), prepared.prepared_pdf)  # the bytes before the event
        try:
            self.save(request)
        except VersionConflict:  # the same call, repeated at the same moment: the first one's
            return self.find(SignatureRequest, request.id) or request
        self.remote.notify(signer_account_id, request)
        return request

    def signature_request(self, request_id: uuid.UUID) -> SignatureRequest:
        """The request, for its requester, its signer, or an officer of its agency."""
        request = self._request(request_id)
        actor = current_actor()
        if not (is_self(actor, request.signer_account_id) or actor.subject == request.requested_by
                or in_agency(actor, request.agency_id)):
            raise PermissionDenied("read the signature request", "it is neither the caller's nor their agency's",
                                   error_reason="NOT_OWNER")
        return request

    def confirm_signature_request(self, request_id: uuid.UUID, signature_value: bytes) -> SignatureRequest:
        """The addressed officer's signature, made on their device, embedded in the document."""
        assert self.remote is not None and self.documents is not None and self.prepared is not None
        request = self._answerable(request_id)
        signer = self.remote.signer(request.signer_account_id)
        if signer.fingerprint != request.signer_certificate_sha256:
            raise RequestNotPending(request.id, "addressed to a certificate the signer no longer has")
        prepared = PreparedSignature(self.prepared.get(str(request.id)), request.data_to_sign,
                                     request.document_digest,
                                     (request.reserved_region_start, request.reserved_region_end))
        try:
            signed = self.embedder.embed(prepared, signer.certificate, signer.chain, signature_value)
        except SignatureMismatch:
            raise InvalidArgument.field("signature_value", "does not verify with the signer's certificate over "
                                        "data_to_sign (SHA-256, ECDSA or RSA PKCS#1 v1.5)", "SIGNATURE_MISMATCH"
                                        ) from None
        self.documents.put(str(request.id), signed.document)
        request.confirm(hashlib.sha256(signed.document).hexdigest(), format(signer.certificate.serial_number, "x"),
                        dt.datetime.now(dt.UTC), current_actor().subject)
        self.save(request)
        return request

    def refuse_signature_request(self, request_id: uuid.UUID, reason: str) -> SignatureRequest:
        request = self._answerable(request_id)
        request.refuse(reason, current_actor().subject)
        self.save(request)
        return request

    def cancel_signature_request(self, request_id: uuid.UUID, reason: str) -> SignatureRequest:
        request = self._request(request_id)
        actor = current_actor()
        if not (actor.subject == request.requested_by or in_agency(actor, request.agency_id)):
            raise PermissionDenied("cancel the signature request", "only its requester or an officer of its agency",
                                   error_reason="NOT_OWNER")
        request.cancel(reason, actor.subject)
        self.save(request)
        return request

    def signed_document(self, request_id: uuid.UUID) -> bytes:
        assert self.documents is not None
        request = self.signature_request(request_id)
        if request.state != REQUEST_SIGNED:
            raise RequestNotPending(request.id, f"{request.state}, not signed: there is no signed document")
        return self.documents.get(str(request.id))

    def _request(self, request_id: uuid.UUID) -> SignatureRequest:
        request = self.find(SignatureRequest, request_id)
        if request is None:
            raise NotFound("SignatureRequest", str(request_id))
        if request.due(dt.datetime.now(dt.UTC)):
            request.expire(dt.datetime.now(dt.UTC))
            try:
                self.save(request)
            except VersionConflict:  # another replica recorded it first
                request = self.find(SignatureRequest, request_id) or request
        return request

    def requested_since(self, position: int) -> tuple[list[uuid.UUID], int]:
        """The requests made after ``position`` in the log, and the log position they reach (the
        expiry worker follows the log rather than scanning it each round)."""
        topic = get_topic(SignatureRequest.Requested)  # type: ignore[attr-defined]
        ids: list[uuid.UUID] = []
        while True:
            page = self.recorder.select_notifications(position + 1, 1000, topics=[topic])
            ids += [uuid.UUID(str(n.originator_id)) for n in page]
            if page:
                position = page[-1].id
            if len(page) < 1000:
                return ids, position

    def expire_if_due(self, request_id: uuid.UUID, now: dt.datetime) -> bool:
        """Records ``Expired`` for the request if it is pending past its expiry; whether it is
        still pending (to look at again later)."""
        request = self.find(SignatureRequest, request_id)
        if request is None:
            return False
        if request.due(now):
            request.expire(now)
            try:
                self.save(request)
            except VersionConflict:  # answered, or expired by another replica, meanwhile
                return False
            log.info("signature request expired", extra={"signature_request_id": str(request_id)})
            return False
        return request.state == REQUEST_PENDING

    def _answerable(self, request_id: uuid.UUID) -> SignatureRequest:
        request = self._request(request_id)
        if not is_self(current_actor(), request.signer_account_id):
            raise PermissionDenied("answer the signature request", "only the officer it is addressed to answers it",
                                   error_reason="NOT_SIGNER")
        return request

    def verify_document(self, document: bytes) -> list[SignatureReport]:
        assert self.verifier is not None, "built without trust roots"
        return self.verifier.verify(document)
