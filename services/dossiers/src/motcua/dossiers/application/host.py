"""What the use cases mixed into ``DossiersApplication`` (lifecycle commands, register reads,
attachments) use of it: the event store's load and save, the register's recorder, the clock and
the collaborators it builds. A declaration for the type checker: the mixins name it as their base
only then, so that at run time ``DossiersApplication`` is the one application class."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from motcua.dossiers.adapters.calendar_copies import CalendarCopies
from motcua.dossiers.adapters.lookup_throttle import LookupThrottle
from motcua.dossiers.adapters.personal_data_holders import PersonalDataHolders
from motcua.dossiers.adapters.register_projection import DossierRecorder
from motcua.dossiers.adapters.signing_client import ResultSigner
from motcua.dossiers.application.personal_data import Subjects
from motcua.dossiers.application.views import DossierView
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.kernel.agencies import AgencyTree
from motcua.kernel.readmodel import ReadModelApplication
from motcua.kernel.subject_keys import SubjectKeyStore


class DossiersHost(ReadModelApplication):
    recorder: DossierRecorder
    clock: Callable[[], datetime]
    signer: ResultSigner
    holders: PersonalDataHolders
    officer_signed_procedures: frozenset[str]
    calendars: CalendarCopies
    documents_dir: Path
    agency_tree: AgencyTree
    lookup_throttle: LookupThrottle
    max_attachment_bytes_per_dossier: int
    max_attachment_bytes_per_applicant: int
    subjects: Subjects
    subject_keys: SubjectKeyStore

    def within(self, agency_id: str, ancestor_id: str) -> bool:
        raise NotImplementedError

    def view(self, dossier: Dossier) -> DossierView:
        raise NotImplementedError

    def _act(self, dossier_id: UUID, expected_version: int, check: Callable[..., None], action: str,
             command: Callable[..., Any]) -> DossierView:
        raise NotImplementedError
