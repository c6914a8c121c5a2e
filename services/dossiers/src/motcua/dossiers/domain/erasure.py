"""The record of a data subject's erasures: who erased whose personal data, when and why. Pure.

The erasure itself is the destruction of the subject's key (kernel ``subject_keys``); this
aggregate keeps the audit trail in the log, and its event masks the register's rows (the
projection), so a rebuilt register is masked too. It holds no personal data: the subject id
is an account id or a keyed pseudonym, and the dossiers are named by id.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

SUBJECT_NAMESPACE = UUID("b7c4f0a2-1e53-5d8e-a0c6-646174617375")


class SubjectErasures(Aggregate):
    """One per data subject who was ever erased (a person may file again and be erased again)."""

    if TYPE_CHECKING:
        # Set by the events; declared for the type checker alone (annotations on the class
        # would make them the creation event's fields).
        subject_id: str
        erased_at: list[datetime]

        # Made by ``@event("Erased")`` at run time; declared for the type checker.
        class Erased(Aggregate.Event):
            reason: str
            dossier_ids: list[UUID]
            erased_at: datetime
            subject_id: str

    @staticmethod
    def create_id(subject_id: str, **_: object) -> UUID:
        return uuid5(SUBJECT_NAMESPACE, subject_id)

    @classmethod
    def open(cls, subject_id: str) -> SubjectErasures:
        return cls._create(cls.Opened, subject_id=subject_id)

    class Opened(Aggregate.Created):
        subject_id: str

        def apply(self, aggregate: SubjectErasures) -> None:
            aggregate.subject_id = self.subject_id
            aggregate.erased_at = []

    @event("Erased")
    def record(self, reason: str, dossier_ids: list[UUID], erased_at: datetime, subject_id: str = "") -> None:
        # ``subject_id`` is repeated in the event so the register's projection needs no lookup.
        self.erased_at.append(erased_at)

    def erase(self, reason: str, dossier_ids: list[UUID], erased_at: datetime) -> None:
        self.record(reason=reason, dossier_ids=list(dossier_ids), erased_at=erased_at, subject_id=self.subject_id)
