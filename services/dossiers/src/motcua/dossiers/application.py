"""The dossiers service's application: load, call, save."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from motcua.kernel.eventstore import ServiceApplication

from .domain import ProcedureReplica


@dataclass(frozen=True)
class ProcedureReplicaView:
    procedure_id: UUID
    code: str
    name: str
    agency_id: str
    processing_days: int
    procedure_version: int

    @classmethod
    def of(cls, replica: ProcedureReplica) -> ProcedureReplicaView:
        return cls(
            procedure_id=replica.id,
            code=replica.code,
            name=replica.name,
            agency_id=replica.agency_id,
            processing_days=replica.processing_days,
            procedure_version=replica.procedure_version,
        )


class DossierOffice(ServiceApplication):
    name = "dossiers"

    def replicate_procedure(
        self, procedure_id: UUID, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int
    ) -> ProcedureReplica:
        """The replica with the published version applied (pending events unsaved: the caller saves)."""
        try:
            replica = self.repository.get(procedure_id)
        except AggregateNotFoundError:
            return ProcedureReplica(
                procedure_id=procedure_id, code=code, name=name, agency_id=agency_id,
                processing_days=processing_days, procedure_version=procedure_version,
            )
        replica.update(code, name, agency_id, processing_days, procedure_version)
        return replica

    def get_procedure_replica(self, procedure_id: UUID) -> ProcedureReplicaView:
        return ProcedureReplicaView.of(self.load(ProcedureReplica, procedure_id))
