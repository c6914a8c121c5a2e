"""The signing service's aggregates. Pure: imports only eventsourcing and the kernel's errors.

A signed document is recorded by what identifies it, never by its content: the
SHA-256 of what was submitted and of what was returned, the key and certificate
that signed it, and when. The signed PDF itself is kept in the blob store.
"""

from __future__ import annotations

import re
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from motcua.kernel.errors import FieldViolation, InvalidArgument, NotFound

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
KEY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_REASON_LENGTH = 500
MAX_LOCATION_LENGTH = 200

# PAdES levels a signature was made at.
PADES_B_B = "B-B"
PADES_B_T = "B-T"


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

    @classmethod
    def signed(cls, document_sha256: str, signed_document_sha256: str, key_id: str, certificate_sha256: str,
               certificate_serial: str, signing_time: datetime, reason: str, location: str,
               pades_level: str) -> Document:
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
        )


def check_signing_request(reason: str, location: str, key_id: str) -> None:
    """The text fields of a signing request (the document is checked by the PDF reader)."""
    violations = []
    if len(reason) > MAX_REASON_LENGTH:
        violations.append(("reason", f"must be at most {MAX_REASON_LENGTH} characters"))
    if len(location) > MAX_LOCATION_LENGTH:
        violations.append(("location", f"must be at most {MAX_LOCATION_LENGTH} characters"))
    if not KEY_ID.match(key_id):
        violations.append(("key_id", "must be lowercase letters, digits and '-', such as agency-seal"))
    for text, field in ((reason, "reason"), (location, "location")):
        if any(ord(c) < 32 and c not in "\t" for c in text):
            violations.append((field, "must not contain control characters"))
    if violations:
        raise InvalidArgument(*(FieldViolation(f, d) for f, d in violations))


class UnknownSigningKey(NotFound):
    """No signing key with this id was loaded."""

    def __init__(self, key_id: str) -> None:
        super().__init__("SigningKey", key_id)
