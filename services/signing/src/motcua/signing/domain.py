"""The signing service's aggregates. Pure: imports only eventsourcing and the kernel's errors.

A signed document is recorded by what identifies it, never by its content: the
SHA-256 of what was submitted and of what was returned, the key and certificate
that signed it, whose key it is, for what purpose, which dossier or document it is,
and when. The signed PDF itself is kept in the blob store.

A signing key is recorded by whose it is (an agency, or one person) and the purposes it
allows, each time that declaration changes (``SigningKey``): who could seal what, and
since when, is in the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.kernel.agency_ids import is_agency_id
from motcua.kernel.errors import DomainError, FieldViolation, InvalidArgument, NotFound

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
KEY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_REASON_LENGTH = 500
MAX_LOCATION_LENGTH = 200

# PAdES levels a signature was made at.
PADES_B_B = "B-B"
PADES_B_T = "B-T"
PADES_B_LT = "B-LT"
PADES_B_LTA = "B-LTA"
PADES_LEVELS = (PADES_B_B, PADES_B_T, PADES_B_LT, PADES_B_LTA)

# What a signature is for (SigningPurpose in the protos, lowercased without its prefix).
DOSSIER_RESULT = "dossier_result"
CERTIFIED_COPY = "certified_copy"
PERSONAL_APPROVAL = "personal_approval"
DOSSIER_FORM = "dossier_form"  # forms 01-07 and the tracking book, sealed when rendered
PURPOSES = (DOSSIER_RESULT, CERTIFIED_COPY, PERSONAL_APPROVAL, DOSSIER_FORM)
# What an agency's seal is for, when its declaration does not say otherwise (the development
# PKI's seals).
AGENCY_SEAL_PURPOSES = (DOSSIER_RESULT, CERTIFIED_COPY, DOSSIER_FORM)

UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_DOSSIER_CODE_LENGTH = 64
MAX_DOCUMENT_REFERENCE_LENGTH = 200


@dataclass(frozen=True)
class KeyOwnership:
    """Whose a signing key is and what it may sign: an agency's (its seal) or one person's,
    never both, for the ``purposes`` listed."""

    agency_id: str = ""
    holder_account_id: str = ""
    purposes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.agency_id) == bool(self.holder_account_id):
            raise ValueError(
                "a signing key belongs to exactly one of: an agency (agency_id), a person (holder_account_id)"
            )
        if self.agency_id and not is_agency_id(self.agency_id):
            raise ValueError(f"agency_id must be an agency identifier such as 000.00.00.H56, got {self.agency_id!r}")
        if self.holder_account_id and not UUID_TEXT.match(self.holder_account_id):
            raise ValueError(
                f"holder_account_id must be an account id (a lowercase UUID), got {self.holder_account_id!r}"
            )
        if not self.purposes:
            raise ValueError(f"purposes must list what the key may sign: {', '.join(PURPOSES)}")
        unknown = sorted(set(self.purposes) - set(PURPOSES))
        if unknown:
            raise ValueError(f"unknown purposes {unknown} (known: {', '.join(PURPOSES)})")

    @property
    def owner(self) -> str:
        return f"agency {self.agency_id}" if self.agency_id else f"account {self.holder_account_id}"

    def allows(self, purpose: str) -> bool:
        return purpose in self.purposes


class SigningKey(Aggregate):
    """The declaration of one signing key (by its id): its certificate, owner and purposes."""

    @staticmethod
    def create_id(key_id: str, **_: object) -> UUID:
        return uuid5(NAMESPACE_URL, f"motcua:signing-key:{key_id}")

    @event("Declared")
    def __init__(self, key_id: str, certificate_sha256: str, agency_id: str, holder_account_id: str,
                 purposes: list[str]) -> None:
        self.key_id = key_id
        self.certificate_sha256 = certificate_sha256
        self.agency_id = agency_id
        self.holder_account_id = holder_account_id
        self.purposes = list(purposes)

    @classmethod
    def declare(cls, key_id: str, certificate_sha256: str, ownership: KeyOwnership) -> SigningKey:
        return cls(key_id=key_id, certificate_sha256=certificate_sha256, agency_id=ownership.agency_id,
                   holder_account_id=ownership.holder_account_id, purposes=list(ownership.purposes))

    def matches(self, certificate_sha256: str, ownership: KeyOwnership) -> bool:
        return (self.certificate_sha256, self.agency_id, self.holder_account_id, list(self.purposes)) == (
            certificate_sha256, ownership.agency_id, ownership.holder_account_id, list(ownership.purposes))

    def redeclare(self, certificate_sha256: str, ownership: KeyOwnership) -> None:
        """Records a changed declaration (a new certificate, owner or purposes); nothing when
        unchanged."""
        if not self.matches(certificate_sha256, ownership):
            self._redeclared(certificate_sha256=certificate_sha256, agency_id=ownership.agency_id,
                             holder_account_id=ownership.holder_account_id, purposes=list(ownership.purposes))

    @event("Redeclared")
    def _redeclared(self, certificate_sha256: str, agency_id: str, holder_account_id: str, purposes: list[str]) -> None:
        self.certificate_sha256 = certificate_sha256
        self.agency_id = agency_id
        self.holder_account_id = holder_account_id
        self.purposes = list(purposes)


class Document(Aggregate):
    """One document the service signed: created by its signing, never changed after."""

    @event("Signed")
    def __init__(
        self,
        document_sha256: str,
        signed_document_sha256: str,
        key_id: str,
        certificate_sha256: str,
        certificate_serial: str,
        signing_time: datetime,
        reason: str,
        location: str,
        pades_level: str,
        purpose: str = "",
        agency_id: str = "",
        holder_account_id: str = "",
        signed_by: str = "",
        dossier_id: str = "",
        dossier_code: str = "",
        document_reference: str = "",
        archive_timestamp_expires_at: datetime | None = None,
        countersigned_request_id: str = "",
    ) -> None:
        self.document_sha256 = document_sha256
        self.signed_document_sha256 = signed_document_sha256
        self.key_id = key_id
        self.certificate_sha256 = certificate_sha256
        self.certificate_serial = certificate_serial
        self.signing_time = signing_time
        self.reason = reason
        self.location = location
        self.pades_level = pades_level
        # Signed before keys had owners: empty.
        self.purpose = purpose
        self.agency_id = agency_id
        self.holder_account_id = holder_account_id
        self.signed_by = signed_by
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.document_reference = document_reference
        # B-LTA: when the certificate of the last document timestamp expires (None before B-LTA).
        self.archive_timestamp_expires_at = archive_timestamp_expires_at
        self.reaugmentations = 0
        # The officer's signature request whose signed document this seal was added to (empty:
        # the seal is the document's only signature).
        self.countersigned_request_id = countersigned_request_id

    @property
    def blob_key(self) -> str:
        """Where the current bytes are kept: blobs are written once, so each re-augmentation
        keeps its version beside the earlier ones (``<id>``, ``<id>.1``, ``<id>.2``…)."""
        return str(self.id) + (f".{self.reaugmentations}" if self.reaugmentations else "")

    def archive_due(self, now: datetime, margin: timedelta) -> bool:
        """An archived (B-LTA) document whose last document timestamp is within ``margin`` of
        its certificate's expiry: it needs a new one over it."""
        expiry = self.archive_timestamp_expires_at
        return self.pades_level == PADES_B_LTA and expiry is not None and now + margin >= expiry

    def reaugment(self, signed_document_sha256: str, archive_timestamp_expires_at: datetime,
                  reaugmented_at: datetime) -> None:
        if not SHA256_HEX.match(signed_document_sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {signed_document_sha256!r}")
        self._reaugmented(signed_document_sha256=signed_document_sha256,
                          archive_timestamp_expires_at=archive_timestamp_expires_at, reaugmented_at=reaugmented_at)

    @event("Reaugmented")
    def _reaugmented(self, signed_document_sha256: str, archive_timestamp_expires_at: datetime,
                     reaugmented_at: datetime) -> None:
        """A new document timestamp (and fresh validation data) over the archived document."""
        self.signed_document_sha256 = signed_document_sha256
        self.archive_timestamp_expires_at = archive_timestamp_expires_at
        self.reaugmentations += 1

    @classmethod
    def signed(cls, document_sha256: str, signed_document_sha256: str, key_id: str, certificate_sha256: str,
               certificate_serial: str, signing_time: datetime, reason: str, location: str,
               pades_level: str, purpose: str, ownership: KeyOwnership, signed_by: str,
               subject: DocumentSubject, archive_timestamp_expires_at: datetime | None = None,
               countersigned_request_id: str = "") -> Document:
        for value in (document_sha256, signed_document_sha256, certificate_sha256):
            if not SHA256_HEX.match(value):
                raise ValueError(f"not a lowercase hex SHA-256: {value!r}")
        if signing_time.tzinfo is None:
            raise ValueError("signing_time must be timezone-aware")
        return cls(
            document_sha256=document_sha256,
            signed_document_sha256=signed_document_sha256,
            key_id=key_id,
            certificate_sha256=certificate_sha256,
            certificate_serial=certificate_serial,
            signing_time=signing_time,
            reason=reason,
            location=location,
            pades_level=pades_level,
            purpose=purpose,
            agency_id=ownership.agency_id,
            holder_account_id=ownership.holder_account_id,
            signed_by=signed_by,
            dossier_id=subject.dossier_id,
            dossier_code=subject.dossier_code,
            document_reference=subject.document_reference,
            archive_timestamp_expires_at=archive_timestamp_expires_at,
            countersigned_request_id=countersigned_request_id,
        )


@dataclass(frozen=True)
class DocumentSubject:
    """What a signed document is: a dossier's (by id, and code when known), or another
    document named by its reference."""

    dossier_id: str = ""
    dossier_code: str = ""
    document_reference: str = ""


def check_signing_request(reason: str, location: str, key_id: str, purpose: str, subject: DocumentSubject) -> None:
    """The fields of a signing request (the document is checked by the PDF reader). Every
    signature says what it is for and which dossier or document it is."""
    violations = []
    if purpose not in PURPOSES:
        violations.append(("purpose", f"must be one of {', '.join(p.upper() for p in PURPOSES)}"))
    elif purpose == DOSSIER_RESULT and not subject.dossier_id:
        violations.append(("dossier_id", "must name the dossier whose result is signed"))
    elif not (subject.dossier_id or subject.document_reference.strip()):
        violations.append(("document_reference", "must say which document is signed (or give dossier_id)"))
    if subject.dossier_id and not UUID_TEXT.match(subject.dossier_id):
        violations.append(("dossier_id", "must be a dossier id (a lowercase UUID)"))
    if len(subject.dossier_code) > MAX_DOSSIER_CODE_LENGTH:
        violations.append(("dossier_code", f"must be at most {MAX_DOSSIER_CODE_LENGTH} characters"))
    if len(subject.document_reference) > MAX_DOCUMENT_REFERENCE_LENGTH:
        violations.append(("document_reference", f"must be at most {MAX_DOCUMENT_REFERENCE_LENGTH} characters"))
    if len(reason) > MAX_REASON_LENGTH:
        violations.append(("reason", f"must be at most {MAX_REASON_LENGTH} characters"))
    if len(location) > MAX_LOCATION_LENGTH:
        violations.append(("location", f"must be at most {MAX_LOCATION_LENGTH} characters"))
    if not KEY_ID.match(key_id):
        violations.append(("key_id", "must be lowercase letters, digits and '-', such as agency-seal"))
    for text, field in ((reason, "reason"), (location, "location"), (subject.dossier_code, "dossier_code"),
                        (subject.document_reference, "document_reference")):
        if any(ord(c) < 32 and c not in "\t" for c in text):
            violations.append((field, "must not contain control characters"))
    if violations:
        raise InvalidArgument(*(FieldViolation(f, d) for f, d in violations))


class UnknownSigningKey(NotFound):
    """No signing key with this id was loaded."""

    def __init__(self, key_id: str) -> None:
        super().__init__("SigningKey", key_id)


class NoSigningKey(DomainError):
    """The agency (or person) has no key for the purpose (FAILED_PRECONDITION)."""

    def __init__(self, owner: str, purpose: str) -> None:
        self.owner = owner
        self.purpose = purpose
        verb = "has no" if owner.startswith("agency") else "holds a"
        super().__init__(f"{owner} {verb} signing key for the purpose {purpose.upper()}; one must be declared for it")


# The life of a remote signature request.
REQUEST_PENDING = "pending"
REQUEST_SIGNED = "signed"
REQUEST_REFUSED = "refused"
REQUEST_EXPIRED = "expired"
REQUEST_CANCELLED = "cancelled"
MAX_DOCUMENT_NAME_LENGTH = 255
MAX_ANSWER_REASON_LENGTH = 1000


class RequestNotPending(DomainError):
    """The request was already signed, refused, cancelled, or it expired (FAILED_PRECONDITION)."""

    def __init__(self, request_id: UUID, state: str) -> None:
        self.state = state
        super().__init__(f"signature request {request_id} is {state}, no longer pending")


class RequestNotSigned(DomainError):
    """The officer has not signed the request (pending, refused, cancelled or expired): there is
    no signed document to seal after their signature (FAILED_PRECONDITION)."""

    def __init__(self, request_id: UUID, state: str) -> None:
        self.state = state
        super().__init__(f"signature request {request_id} is {state}, not signed by the officer: there is nothing "
                         "to seal after their signature")


class SignatureRequest(Aggregate):
    """A document waiting for one officer's signature, made on their own device with their own
    key: requested, then confirmed (signed), refused, expired or cancelled, each an event. What
    the device signs (``data_to_sign``: the CMS signed attributes, holding the prepared
    document's digest) is recorded; the documents themselves are in the blob store."""

    @staticmethod
    def create_id(requested_by: str, idempotency_key: str, **_: object) -> UUID:
        """One request per requester and idempotency key: a repeated call finds the first."""
        return uuid5(NAMESPACE_URL, f"motcua:signature-request:{requested_by}:{idempotency_key}")

    @event("Requested")
    def __init__(
        self,
        idempotency_key: str,
        document_name: str,
        document_sha256: str,
        signer_account_id: str,
        agency_id: str,
        dossier_id: str,
        reason: str,
        requested_by: str,
        signer_certificate_sha256: str,
        data_to_sign_hex: str,
        document_digest_hex: str,
        reserved_region_start: int,
        reserved_region_end: int,
        requested_at: datetime,
        expires_at: datetime,
    ) -> None:
        self.idempotency_key = idempotency_key
        self.document_name = document_name
        self.document_sha256 = document_sha256
        self.signer_account_id = signer_account_id
        self.agency_id = agency_id
        self.dossier_id = dossier_id
        self.reason = reason
        self.requested_by = requested_by
        self.signer_certificate_sha256 = signer_certificate_sha256
        # Hex in the event: its fields are JSON.
        self.data_to_sign_hex = data_to_sign_hex
        self.document_digest_hex = document_digest_hex
        self.reserved_region_start = reserved_region_start
        self.reserved_region_end = reserved_region_end
        self.requested_at = requested_at
        self.expires_at = expires_at
        self.state = REQUEST_PENDING
        self.answer_reason = ""
        self.answered_by = ""
        self.signed_document_sha256 = ""
        self.certificate_serial = ""
        self.signed_at: datetime | None = None

    @classmethod
    def request(cls, idempotency_key: str, document_name: str, document_sha256: str, signer_account_id: str,
                agency_id: str, dossier_id: str, reason: str, requested_by: str, signer_certificate_sha256: str,
                data_to_sign: bytes, document_digest: bytes, reserved_region: tuple[int, int],
                requested_at: datetime, expires_at: datetime) -> SignatureRequest:
        violations = []
        if not document_name.strip() or len(document_name) > MAX_DOCUMENT_NAME_LENGTH:
            violations.append(("document_name", f"must be 1 to {MAX_DOCUMENT_NAME_LENGTH} characters"))
        if any(ord(c) < 32 for c in document_name + reason):
            violations.append(("document_name" if any(ord(c) < 32 for c in document_name) else "reason",
                               "must not contain control characters"))
        if len(reason) > MAX_REASON_LENGTH:
            violations.append(("reason", f"must be at most {MAX_REASON_LENGTH} characters"))
        if not UUID_TEXT.match(signer_account_id):
            violations.append(("signer_account_id", "must be the signer's account id (a lowercase UUID)"))
        if dossier_id and not UUID_TEXT.match(dossier_id):
            violations.append(("dossier_id", "must be a dossier id (a lowercase UUID)"))
        if not is_agency_id(agency_id):
            violations.append(("agency_id", "must be an agency's electronic identifier such as 000.00.00.H56"))
        if violations:
            raise InvalidArgument(*(FieldViolation(f, d) for f, d in violations))
        if requested_at.tzinfo is None or expires_at <= requested_at:
            raise ValueError("requested_at must be timezone-aware and before expires_at")
        return cls(idempotency_key=idempotency_key, document_name=document_name, document_sha256=document_sha256,
                   signer_account_id=signer_account_id, agency_id=agency_id, dossier_id=dossier_id, reason=reason,
                   requested_by=requested_by, signer_certificate_sha256=signer_certificate_sha256,
                   data_to_sign_hex=data_to_sign.hex(), document_digest_hex=document_digest.hex(),
                   reserved_region_start=reserved_region[0], reserved_region_end=reserved_region[1],
                   requested_at=requested_at, expires_at=expires_at)

    @property
    def data_to_sign(self) -> bytes:
        return bytes.fromhex(self.data_to_sign_hex)

    @property
    def document_digest(self) -> bytes:
        return bytes.fromhex(self.document_digest_hex)

    def due(self, now: datetime) -> bool:
        """Pending past its expiry: to be recorded as expired."""
        return self.state == REQUEST_PENDING and now >= self.expires_at

    def _require_pending(self) -> None:
        if self.state != REQUEST_PENDING:
            raise RequestNotPending(self.id, self.state)

    def confirm(self, signed_document_sha256: str, certificate_serial: str, signed_at: datetime,
                confirmed_by: str) -> None:
        self._require_pending()
        if not SHA256_HEX.match(signed_document_sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {signed_document_sha256!r}")
        self._confirmed(signed_document_sha256=signed_document_sha256, certificate_serial=certificate_serial,
                        signed_at=signed_at, confirmed_by=confirmed_by, **self._addressing())

    def _addressing(self) -> dict[str, str]:
        """Whom, which dossier and which document the request concerns, repeated in each
        answer's event so that its integration event names them and the requester can be told
        (absent from events recorded before: empty)."""
        return {"signer_account_id": self.signer_account_id, "dossier_id": self.dossier_id,
                "requested_by": self.requested_by, "document_name": self.document_name}

    @event("Confirmed")
    def _confirmed(self, signed_document_sha256: str, certificate_serial: str, signed_at: datetime,
                   confirmed_by: str, signer_account_id: str = "", dossier_id: str = "", requested_by: str = "",
                   document_name: str = "") -> None:
        self.state = REQUEST_SIGNED
        self.signed_document_sha256 = signed_document_sha256
        self.certificate_serial = certificate_serial
        self.signed_at = signed_at
        self.answered_by = confirmed_by

    def refuse(self, reason: str, refused_by: str) -> None:
        self._require_pending()
        _check_answer_reason(reason)
        self._refused(reason=reason, refused_by=refused_by, **self._addressing())

    def check_sealable(self, document_sha256: str, agency_id: str, dossier_id: str) -> None:
        """The officer's signed document may take ``agency_id``'s seal for ``dossier_id``: the
        request was confirmed, for this very document, agency and dossier."""
        if self.state != REQUEST_SIGNED:
            raise RequestNotSigned(self.id, self.state)
        if document_sha256 != self.document_sha256:
            raise InvalidArgument.field("document", "must be the document the officer was asked to sign "
                                        "(its SHA-256 differs)", "NOT_THE_SIGNED_DOCUMENT")
        if agency_id != self.agency_id or (dossier_id or "") != (self.dossier_id or ""):
            raise InvalidArgument.field("signature_request_id", "names a request of another agency or dossier",
                                        "OTHER_SUBJECT")

    @event("Refused")
    def _refused(self, reason: str, refused_by: str, signer_account_id: str = "", dossier_id: str = "",
                 requested_by: str = "", document_name: str = "") -> None:
        self.state = REQUEST_REFUSED
        self.answer_reason = reason
        self.answered_by = refused_by

    def cancel(self, reason: str, cancelled_by: str) -> None:
        self._require_pending()
        _check_answer_reason(reason)
        self._cancelled(reason=reason, cancelled_by=cancelled_by, **self._addressing())

    @event("Cancelled")
    def _cancelled(self, reason: str, cancelled_by: str, signer_account_id: str = "",
                   dossier_id: str = "", requested_by: str = "", document_name: str = "") -> None:
        self.state = REQUEST_CANCELLED
        self.answer_reason = reason
        self.answered_by = cancelled_by

    def expire(self, now: datetime) -> None:
        if not self.due(now):
            raise ValueError("only a pending request past its expiry expires")
        self._expired(expired_at=self.expires_at, **self._addressing())

    @event("Expired")
    def _expired(self, expired_at: datetime, signer_account_id: str = "", dossier_id: str = "",
                 requested_by: str = "", document_name: str = "") -> None:
        self.state = REQUEST_EXPIRED


def _check_answer_reason(reason: str) -> None:
    if len(reason) > MAX_ANSWER_REASON_LENGTH:
        raise InvalidArgument.field("reason", f"must be at most {MAX_ANSWER_REASON_LENGTH} characters")
    if any(ord(c) < 32 and c not in "\t\n" for c in reason):
        raise InvalidArgument.field("reason", "must not contain control characters")
