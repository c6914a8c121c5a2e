"""Files attached to a dossier: uploaded by the applicant or the desk, or a result issued
earlier to the same applicant, reused by reference. Pure; ``Dossier`` inherits them.

The event records what identifies the bytes (content type found by reading them, size,
SHA-256); the bytes themselves are in the document store, under the hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate, event

from motcua.dossiers.domain import lifecycle as lc
from motcua.dossiers.domain.values import MAX_DOCUMENTS
from motcua.kernel.errors import InvalidArgument

MAX_ATTACHMENT_NAME = 500


class AttachmentRules(Aggregate):
    if TYPE_CHECKING:
        # The dossier's state and helpers these rules use, set and defined by ``Dossier``.
        # Declared for the type checker only: annotations at run time would make eventsourcing
        # turn the class into a dataclass.
        state: str
        result: dict[str, Any]
        attachments: list[dict[str, Any]]

        def check_allowed(self, action: str) -> None: ...

        def _facts(self) -> dict[str, Any]: ...

        # The events its ``@event`` methods define, with their fields (the methods' parameters),
        # as the type checker cannot see classes made at run time; a test compares the two.
        class AttachmentAdded(Aggregate.Event):
            attached_at: datetime
            attached_by: str
            name: str
            content_type: str
            size_bytes: int
            sha256: str
            source_dossier_id: str
            facts: dict[str, Any]

    def attach(self, at: datetime, by: str, name: str, content_type: str, size_bytes: int, sha256: str,
               source_dossier_id: str = "") -> None:
        self.check_allowed(lc.ATTACH)
        name = name.strip()
        if not name:
            raise InvalidArgument.field("name", "must name the document")
        if len(name) > MAX_ATTACHMENT_NAME:
            raise InvalidArgument.field("name", f"must be at most {MAX_ATTACHMENT_NAME} characters")
        if len(self.attachments) >= MAX_DOCUMENTS:
            raise InvalidArgument.field("content", f"a dossier holds at most {MAX_DOCUMENTS} attachments")
        self._attachment_added(
            attached_at=at,
            attached_by=by,
            name=name,
            content_type=content_type,
            size_bytes=size_bytes,
            sha256=sha256,
            source_dossier_id=source_dossier_id,
            facts=self._facts(),
        )

    @event("AttachmentAdded")
    def _attachment_added(self, attached_at: datetime, attached_by: str, name: str, content_type: str, size_bytes: int,
                          sha256: str, source_dossier_id: str, facts: dict[str, Any]) -> None:
        self.attachments.append({"name": name, "content_type": content_type, "size_bytes": size_bytes, "sha256": sha256,
                                 "at": attached_at, "source_dossier_id": source_dossier_id})

    def attachment_bytes(self) -> int:
        """The bytes of the files uploaded to this dossier (a reused result counts none: its bytes
        are elsewhere)."""
        return sum(a["size_bytes"] for a in self.attachments)

    def issued_result_sha256s(self) -> set[str]:
        """Hashes of this dossier's signed result, once returned: what a later dossier may reuse."""
        if self.state != lc.RETURNED:
            return set()
        return {h for h in (self.result.get("signed_document_sha256"), self.result.get("document_sha256")) if h}
