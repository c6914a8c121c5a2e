"""The record of a data subject's access requests: who exported whose data, when, in which
format. Pure.

Decree 13/2023/NĐ-CP gives a person the right to see the data held about them; every export is
an event, so the audit trail shows who read a person's data in full. Like ``SubjectErasures`` it
holds no personal data: the subject is an account id or a keyed pseudonym, the dossiers are named
by id, the exporter by their account.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

ACCESS_NAMESPACE = UUID("0f6c2d1e-9b47-5a3c-8e21-616363657373")


class SubjectDataExports(Aggregate):
    """One per data subject whose data was ever exported."""

    if TYPE_CHECKING:
        subject_id: str
        exports: int

        class Exported(Aggregate.Event):
            exported_by: str
            data_format: str
            dossier_ids: list[UUID]
            exported_at: datetime

    @staticmethod
    def create_id(subject_id: str, **_: object) -> UUID:
        return uuid5(ACCESS_NAMESPACE, subject_id)

    @classmethod
    def open(cls, subject_id: str) -> SubjectDataExports:
        return cls._create(cls.Opened, subject_id=subject_id)

    class Opened(Aggregate.Created):
        subject_id: str

        def apply(self, aggregate: SubjectDataExports) -> None:
            aggregate.subject_id = self.subject_id
            aggregate.exports = 0

    @event("Exported")
    def record(self, exported_by: str, data_format: str, dossier_ids: list[UUID], exported_at: datetime) -> None:
        self.exports += 1
