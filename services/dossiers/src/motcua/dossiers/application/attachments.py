"""Attaching files to dossiers: the bytes checked (size; type by sniffing them, never by
what the client declares), kept in the blob store under their SHA-256, and the hash
recorded in the dossier's event; or a result issued earlier to the same applicant,
attached by reference and checked by its hash. Mixed into ``DossiersApplication``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING
from uuid import UUID

import filetype

from motcua.dossiers.application import authorization as auth
from motcua.dossiers.config import MAX_APPLICANT_BYTES_SETTING, MAX_ATTACHMENT_BYTES_SETTING
from motcua.dossiers.domain import lifecycle as lc
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.kernel.blobstore import BlobStore, FilesystemBlobStore
from motcua.kernel.context import current_actor
from motcua.kernel.errors import InvalidArgument, LimitExceeded, NotFound, PermissionDenied
from motcua.kernel.subject_keys import SubjectErased, seal_bytes, unseal_bytes

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ACCEPTED_TYPES = ("application/pdf", "image/jpeg", "image/png")


def sniffed_type(content: bytes) -> str:
    """The content type the bytes show (their signature), or "" when none is recognised."""
    kind = filetype.guess(content)
    return kind.mime if kind is not None else ""


def check_upload(content: bytes, declared_type: str) -> str:
    """The accepted content type of an upload; InvalidArgument naming the field otherwise."""
    if not content:
        raise InvalidArgument.field("content", "must not be empty")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise InvalidArgument.field("content", f"must be at most {MAX_ATTACHMENT_BYTES} bytes")
    found = sniffed_type(content)
    if found not in ACCEPTED_TYPES:
        raise InvalidArgument.field(
            "content", f"must be a PDF, JPEG or PNG file; the bytes are {found or 'of no known type'}"
        )
    declared = declared_type.split(";")[0].strip().lower()
    if declared and declared != found:
        raise InvalidArgument.field("content_type", f"says {declared} but the bytes are {found}")
    return found


if TYPE_CHECKING:
    from motcua.dossiers.application.host import DossiersHost as MixinBase
else:
    MixinBase = object


class AttachmentCommands(MixinBase):
    """Mixed into ``DossiersApplication`` (``_act``, ``_find``, ``documents_dir``)."""

    _documents: BlobStore | None = None
    max_attachment_bytes_per_dossier: int
    max_attachment_bytes_per_applicant: int

    @property
    def documents(self) -> BlobStore:
        # Created at the first upload: a replica that never stores files needs no writable
        # directory.
        if self._documents is None:
            self._documents = FilesystemBlobStore(self.documents_dir)
        return self._documents

    def add_attachment(self, dossier_id: UUID, name: str, content: bytes, declared_type: str = ""):
        content_type = check_upload(content, declared_type)
        sha256 = hashlib.sha256(content).hexdigest()
        dossier = self.load(Dossier, dossier_id)
        auth.applicant_or_desk(current_actor(), dossier, "attach a file", self.within)
        dossier.check_allowed(lc.ATTACH)
        self._check_room(dossier, len(content))  # before the bytes reach the disk
        # Stored before the event: bytes without an event are never referenced (and the same
        # bytes attached again are already there, under the same key).
        key, stored = self._sealed_blob(dossier, sha256, content)
        try:
            self.documents.put(key, stored)
        except FileExistsError:
            pass

        def attach(d: Dossier, a, now) -> None:
            self._check_room(d, len(content))  # again on the version being saved
            d.attach(now, a.subject, name, content_type, len(content), sha256)

        return self._act(dossier_id, 0, auth.applicant_or_desk, "attach a file", attach)

    def _sealed_blob(self, dossier: Dossier, sha256: str, content: bytes) -> tuple[str, bytes]:
        """Where and what to keep of an upload: sealed under the applicant's subject key, in a
        file of that subject (the same file of two people is kept once per person, so erasing
        one leaves the other's readable); as it is for a dossier from before subjects."""
        subject_id = dossier.applicant.subject_id
        if not subject_id:
            return sha256, content
        key = f"{sha256}.{self.subjects.tag(subject_id)}"
        return key, seal_bytes(self.subject_keys.key_for_writing(subject_id), content, key)

    def attachment_content(self, dossier_id: UUID, sha256: str) -> bytes:
        """The bytes of a file attached to the dossier, opened with its applicant's key;
        SubjectErased once the applicant was erased. (For the readers of attachments; the
        caller checks who may read.)"""
        dossier = self.load(Dossier, dossier_id)
        subject_id = dossier.applicant.subject_id
        if not subject_id:
            return self.documents.get(sha256)
        key = f"{sha256}.{self.subjects.tag(subject_id)}"
        data_key = self.subject_keys.key_for_reading(subject_id)
        if data_key is None:
            raise SubjectErased(subject_id)
        return unseal_bytes(data_key, self.documents.get(key), key)

    def _check_room(self, dossier: Dossier, size: int) -> None:
        """LimitExceeded when the dossier's attachments, or all of its applicant account's,
        would pass their total size limit."""
        limit = self.max_attachment_bytes_per_dossier
        if dossier.attachment_bytes() + size > limit:
            raise LimitExceeded(
                f"dossier {dossier.id}", "attachment bytes per dossier", limit, MAX_ATTACHMENT_BYTES_SETTING
            )
        account_id = dossier.applicant.account_id
        limit = self.max_attachment_bytes_per_applicant
        # From the register, kept in the transaction of each upload's event: concurrent uploads
        # of one account may pass the limit by the few saved at the same instant, never by more.
        if account_id and self.recorder.attachment_bytes(account_id) + size > limit:
            raise LimitExceeded(
                f"account {account_id}", "attachment bytes per applicant", limit, MAX_APPLICANT_BYTES_SETTING
            )

    def attach_issued_result(self, dossier_id: UUID, name: str, source_dossier_id: UUID, sha256: str):
        source = self.find(Dossier, source_dossier_id)
        if source is None:
            raise NotFound("dossier", str(source_dossier_id))

        def check(actor, dossier: Dossier, action: str, within) -> None:
            auth.applicant_or_desk(actor, dossier, action, within)
            if auth.is_owner(actor, dossier) and not auth.is_owner(actor, source):
                raise PermissionDenied(action, "applicants reuse results of their own dossiers")
            mine, theirs = dossier.applicant, source.applicant
            if (mine.kind, mine.identity_number) != (theirs.kind, theirs.identity_number):
                raise InvalidArgument.field("source_dossier_id", "is a dossier of another applicant")
            if sha256 not in source.issued_result_sha256s():
                raise InvalidArgument.field("sha256", "is not the hash of a result returned on that dossier")

        return self._act(
            dossier_id,
            0,
            check,
            "attach an issued result",
            lambda d, a, now: d.attach(now, a.subject, name, "application/pdf", 0, sha256, str(source_dossier_id)),
        )
