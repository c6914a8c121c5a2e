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
from motcua.kernel.access import require_role
from motcua.kernel.context import current_actor
from motcua.kernel.errors import NotFound
from motcua.kernel.roles import DATA_PROTECTION_OFFICER
from motcua.kernel.subject_keys import SubjectKeyStore

if TYPE_CHECKING:
    from motcua.dossiers.application.host import DossiersHost
else:
    DossiersHost = object


ERASE = "erase a person's personal data"


@dataclass(frozen=True)
class ErasureView:
    subject_id: str
    dossiers: int
    erased_at: datetime


class ErasureCommands(DossiersHost):
    subjects: Subjects
    subject_keys: SubjectKeyStore
    retention: Retention

    def erase_account(self, account_id: str, reason: str, authorization: str = "") -> ErasureView:
        return self._erase([self.subjects.of_account(account_id)], reason, account_id, authorization)

    def erase_person(self, kind: str, identity_number: str, reason: str) -> ErasureView:
        # Either number of a corrected applicant reaches the subject first filed.
        return self._erase(self.subjects.of_person_now(kind, identity_number, self.recorder.subjects_numbered),
                           reason)

    def _erase(self, subject_ids: list[str], reason: str, account_id: str = "",
               authorization: str = "") -> ErasureView:
        actor = current_actor()
        held = {subject_id: self.recorder.subject_dossiers(subject_id) for subject_id in subject_ids}
        rows = [row for subject_rows in held.values() for row in subject_rows]
        if rows or not account_id or not self.holders.asks_identity:
            auth.data_protection(actor, sorted({row["agency_id"] for row in rows}), self.within)
        if not rows:
            if not account_id or not self.holders.asks_identity:
                # Nothing of theirs here (or never filed): no erasure to record, and no way for
                # an officer of one agency to record erasures of people of others.
                raise NotFound("dossiers of the data subject", "the person named")
            # An account holder without a dossier still has an account, notices and contact
            # points elsewhere: identity, which holds the account, says whether it exists
            # (NOT_FOUND) and whether this officer covers it (an officer's agency, else the top
            # of the tree), as for the export. No dossier, so no retention period applies; the
            # recorded erasure's event reaches identity and notifications as for any other.
            require_role(actor, ERASE, DATA_PROTECTION_OFFICER)
            self.holders.account_data(account_id, authorization, ERASE)
        now = self.clock()
        codes: dict[UUID, str] = {}
        for row in rows:
            if row["procedure_id"] not in codes:
                replica = self.find(ProcedureReplica, row["procedure_id"])
                codes[row["procedure_id"]] = replica.code if replica is not None else ""
        self.retention.check([{**row, "procedure_code": codes[row["procedure_id"]]} for row in rows], now)
        erased = [subject_id for subject_id, subject_rows in held.items() if subject_rows or account_id]
        records = []
        for subject_id in erased:
            erasures = self.find(SubjectErasures, SubjectErasures.create_id(subject_id)) \
                or SubjectErasures.open(subject_id)
            erasures.erase(reason.strip(), [row["dossier_id"] for row in held[subject_id]], now)
            records.append(erasures)
        self.save(*records)
        for subject_id in erased:
            self.subject_keys.destroy(subject_id, actor.subject, reason.strip())
        return ErasureView(erased[0], len(rows), now)
