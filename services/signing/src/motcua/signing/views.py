"""What the signing application returns: a signed document's record (no rules here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID


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
    purpose: str = ""
    agency_id: str = ""
    holder_account_id: str = ""
