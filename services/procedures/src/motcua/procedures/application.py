"""The procedures service's application: load, call, save."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from motcua.kernel.errors import VersionConflict
from motcua.kernel.eventstore import ServiceApplication

from .domain import DuplicateProcedureCode, Procedure, ProcedureCode


@dataclass(frozen=True)
class ProcedureView:
    procedure_id: UUID
    code: str
    name: str
    agency_id: str
    processing_days: int
    state: str
    version: int

    @classmethod
    def of(cls, procedure: Procedure) -> ProcedureView:
        return cls(
            procedure_id=procedure.id,
            code=procedure.code,
            name=procedure.name,
            agency_id=procedure.agency_id,
            processing_days=procedure.processing_days,
            state=procedure.state,
            version=procedure.version,
        )


class ProcedureCatalog(ServiceApplication):
    name = "procedures"
    snapshotting_intervals = {Procedure: 50}

    def create_procedure(self, code: str, name: str, agency_id: str, processing_days: int) -> ProcedureView:
        procedure = Procedure.draft(code, name, agency_id, processing_days)
        index = ProcedureCode(code=code, procedure_id=procedure.id)
        try:
            self.save(procedure, index)
        except VersionConflict:
            raise DuplicateProcedureCode("procedure", code) from None
        return ProcedureView.of(procedure)

    def get_procedure(self, procedure_id: UUID) -> ProcedureView:
        return ProcedureView.of(self.load(Procedure, procedure_id))

    def rename_procedure(self, procedure_id: UUID, name: str, expected_version: int) -> ProcedureView:
        procedure = self.load(Procedure, procedure_id, expected_version)
        procedure.rename(name)
        self.save(procedure)
        return ProcedureView.of(procedure)

    def publish_procedure(self, procedure_id: UUID, expected_version: int = 0) -> ProcedureView:
        procedure = self.load(Procedure, procedure_id, expected_version)
        procedure.publish()
        self.save(procedure)
        return ProcedureView.of(procedure)
