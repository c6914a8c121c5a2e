"""The dossier codes' daily numbering, one aggregate per agency and day."""

from __future__ import annotations

import functools
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.dossiers.domain.values import MAX_SEQUENCE, DossierCodesExhausted, dossier_code
from motcua.kernel.agency_ids import check_agency_id


class DossierCodeSequence(Aggregate):
    """The dossier numbers one agency issued on one (local) day: 1, 2, 3… without gaps.

    Saved in the same transaction as the dossier that takes a number, so a number is
    issued only if its dossier is saved; two dossiers taking the same number collide on
    this aggregate's version and one of them retries.
    """

    @staticmethod
    @functools.lru_cache(maxsize=4096)  # asked on every command that uses it; uuid5 costs microseconds
    def create_id(agency_id: str, day: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/motcua/dossier-code-sequences/{agency_id}/{day}")

    @classmethod
    def id_for(cls, agency_id: str, day: date) -> UUID:
        return cls.create_id(agency_id, day.isoformat())

    @classmethod
    def open(cls, agency_id: str, day: date) -> DossierCodeSequence:
        check_agency_id(agency_id)
        return cls(agency_id=agency_id, day=day.isoformat())

    @event("Opened")
    def __init__(self, agency_id: str, day: str) -> None:
        self.agency_id = agency_id
        self.day = day
        self.last_number = 0

    @property
    def calendar_day(self) -> date:
        return date.fromisoformat(self.day)

    def issue(self, dossier_id: UUID) -> str:
        """The next dossier code of the day, for ``dossier_id``."""
        if self.last_number >= MAX_SEQUENCE:
            raise DossierCodesExhausted(self.agency_id, self.calendar_day)
        self._issued(number=self.last_number + 1, dossier_id=dossier_id)
        return dossier_code(self.agency_id, self.calendar_day, self.last_number)

    @event("Issued")
    def _issued(self, number: int, dossier_id: UUID) -> None:
        self.last_number = number
