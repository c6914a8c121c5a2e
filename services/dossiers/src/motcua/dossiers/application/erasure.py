"""Erasing a data subject's personal data (crypto-shredding), for a data-protection officer.

The order is what makes a failure safe to retry: the erasure is recorded first (its event
masks the register in the same transaction), then the key is destroyed. A crash between the
two leaves a recorded erasure whose key still exists; the officer's retry destroys it. The
reverse order could destroy data with no record of who did it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from motcua.dossiers.application import authorization as auth
from motcua.dossiers.application.personal_data import Retention, Subjects
from motcua.dossiers.domain.erasure import SubjectErasures
from motcua.dossiers.domain.procedure_replica import ProcedureReplica
from motcua.kernel.context import current_actor
from motcua.kernel.errors import NotFound
from motcua.kernel.subject_keys import SubjectKeyStore

if TYPE_CHECKING:
    from motcua.dossiers.application.host import DossiersHost
else:
    DossiersHost = object


@dataclass(frozen=True)
class ErasureView:
    subject_id: str
    dossiers: int
    erased_at: datetime


class ErasureCommands(DossiersHost):
    subjects: Subjects
    subject_keys: SubjectKeyStore
    retention: Retention

    def erase_account(self, account_id: str, reason: str) -> ErasureView:
        return self._erase(self.subjects.of_account(account_id), reason)

    def erase_person(self, kind: str, identity_number: str, reason: str) -> ErasureView:
        return self._erase(self.subjects.of_person(kind, identity_number), reason)

    def _erase(self, subject_id: str, reason: str) -> ErasureView:
        actor = current_actor()
        rows = self.recorder.subject_dossiers(subject_id)
        agencies = {row["agency_id"] for row in rows}
        auth.data_protection(actor, sorted(agencies), self.within)
        if not rows:
            # Nothing of theirs here (or never filed): no erasure to record, and no way for an
            # officer of one agency to record erasures of people of others.
            raise NotFound("dossiers of the data subject", "the person named")
        now = self.clock()
        codes: dict[UUID, str] = {}
        for row in rows:
            if row["procedure_id"] not in codes:
                replica = self.find(ProcedureReplica, row["procedure_id"])
                codes[row["procedure_id"]] = replica.code if replica is not None else ""
        self.retention.check([{**row, "procedure_code": codes[row["procedure_id"]]} for row in rows], now)
        erasures = self.find(SubjectErasures, SubjectErasures.create_id(subject_id)) or SubjectErasures.open(subject_id)
        erasures.erase(reason.strip(), [row["dossier_id"] for row in rows], now)
        self.save(erasures)
        self.subject_keys.destroy(subject_id, actor.subject, reason.strip())
        return ErasureView(subject_id, len(rows), now)
