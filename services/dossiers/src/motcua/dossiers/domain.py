"""The dossiers service's aggregates. Pure: imports only eventsourcing and the kernel's errors."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event


class ProcedureReplica(Aggregate):
    """This service's copy of a published procedure, kept from the catalog's events.

    Its id is the procedure's id. Dossiers are checked against it without
    asking the procedures service, and stay bound to the version they pinned.
    """

    @staticmethod
    def create_id(procedure_id: UUID, **_: object) -> UUID:
        return procedure_id

    @event("Replicated")
    def __init__(self, procedure_id: UUID, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int) -> None:
        self.code = code
        self.name = name
        self.agency_id = agency_id
        self.processing_days = processing_days
        self.procedure_version = procedure_version

    def update(self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int) -> bool:
        """Applies a newer published version; an older or equal one changes nothing."""
        if procedure_version <= self.procedure_version:
            return False
        self._updated(code=code, name=name, agency_id=agency_id, processing_days=processing_days, procedure_version=procedure_version)
        return True

    @event("Updated")
    def _updated(self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int) -> None:
        self.code = code
        self.name = name
        self.agency_id = agency_id
        self.processing_days = processing_days
        self.procedure_version = procedure_version
