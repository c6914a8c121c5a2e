"""This service's copy of the catalog's published procedures (from the procedures service's
events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event


class ProcedureReplica(Aggregate):
    """This service's copy of a procedure's published versions, kept from the catalog's events.

    Its id is the procedure's id. It keeps every published version with the period it was
    in force, so a dossier is checked against, and pinned to, the version in force when it
    is submitted, without asking the procedures service. The top-level fields are the
    latest published version's. Events written before versions existed lack
    ``version_number`` and ``effective_from``: such a first version counts as in force
    from the start.
    """

    @staticmethod
    def create_id(procedure_id: UUID, **_: object) -> UUID:
        return procedure_id

    @event("Replicated")
    def __init__(
        self, procedure_id: UUID, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int = 1, effective_from: datetime | None = None, terms: dict[str, Any] | None = None,
    ) -> None:
        self.versions: list[dict[str, Any]] = []
        self._add_version(
            code, name, agency_id, processing_days, procedure_version, version_number, effective_from, 0, terms
        )

    def update(
        self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int = 0, effective_from: datetime | None = None, superseded: int = 0,
        terms: dict[str, Any] | None = None,
    ) -> bool:
        """Applies a newer published version; an event already applied changes nothing."""
        if procedure_version <= self.procedure_version:
            return False
        self._updated(
            code=code,
            name=name,
            agency_id=agency_id,
            processing_days=processing_days,
            procedure_version=procedure_version,
            version_number=version_number,
            effective_from=effective_from,
            superseded=superseded,
            terms=terms,
        )
        return True

    def withdraw(self, version_number: int, effective_until: datetime, procedure_version: int) -> bool:
        """The version stopped being in force; an event already applied changes nothing."""
        if procedure_version <= self.procedure_version:
            return False
        self._withdrawn(
            version_number=version_number, effective_until=effective_until, procedure_version=procedure_version
        )
        return True

    def in_force_at(self, moment: datetime) -> dict[str, Any] | None:
        """The version in force at ``moment``, if any."""
        for version in self.versions:
            start, end = version["effective_from"], version["effective_until"]
            if (start is None or start <= moment) and (end is None or moment < end):
                return version
        return None

    @event("Updated")
    def _updated(
        self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int = 0, effective_from: datetime | None = None, superseded: int = 0,
        terms: dict[str, Any] | None = None,
    ) -> None:
        self._add_version(
            code, name, agency_id, processing_days, procedure_version, version_number, effective_from, superseded, terms
        )

    @event("Withdrawn")
    def _withdrawn(self, version_number: int, effective_until: datetime, procedure_version: int) -> None:
        self._end(version_number, effective_until)
        self.procedure_version = procedure_version

    def _add_version(
        self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int, effective_from: datetime | None, superseded: int, terms: dict[str, Any] | None = None,
    ) -> None:
        if superseded and effective_from is not None:
            self._end(superseded, effective_from)
        self.code = code
        self.name = name
        self.agency_id = agency_id
        self.processing_days = processing_days
        self.procedure_version = procedure_version
        self.version_number = version_number or len(self.versions) + 1
        self.versions.append({
            "number": self.version_number, "name": name, "agency_id": agency_id, "processing_days": processing_days,
            "effective_from": effective_from, "effective_until": None,
            # The terms a dossier pins (terms.Terms): absent from versions replicated before they
            # were kept.
            "terms": terms,
        })

    def _end(self, version_number: int, moment: datetime) -> None:
        for version in self.versions:
            if version["number"] == version_number:
                version["effective_until"] = moment
