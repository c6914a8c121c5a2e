"""A person's right of access (Decree 13/2023/NĐ-CP): everything this service holds about them,
as JSON or as a PDF in Vietnamese, for the person themself or a data-protection officer.

The person is found as an erasure finds them (their account, or the keyed pseudonym of their kind
and number); their dossiers are read from the log, so the fields come unsealed by their key (or
masked once erased). Each export is recorded (who, whose, when, which dossiers) before the data
leaves, so no export goes unrecorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from motcua.dossiers.application import authorization as auth
from motcua.dossiers.application.views import DossierView
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.subject_access import SubjectDataExports
from motcua.dossiers.domain.values import PERSONAL_APPLICANT_FIELDS
from motcua.kernel.context import current_actor
from motcua.kernel.errors import InvalidTransition
from motcua.kernel.subject_keys import MASKED

if TYPE_CHECKING:
    from motcua.dossiers.application.host import DossiersHost
else:
    DossiersHost = object

JSON = "json"
PDF = "pdf"
FORMATS = (JSON, PDF)
# The applicant's fields a correction may change: their personal data.
CORRECTABLE = PERSONAL_APPLICANT_FIELDS
EXPORT = "export a person's personal data"


@dataclass(frozen=True)
class Correction:
    dossier: DossierView
    corrected_fields: list[str]


@dataclass(frozen=True)
class SubjectExport:
    document: dict[str, Any]
    pdf: bytes
    exported_at: datetime


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def dossier_record(dossier: Dossier) -> dict[str, Any]:
    """What a dossier holds about its applicant, and what it is: no officer's notes, no step."""
    return {
        "dossier_id": str(dossier.id),
        "code": dossier.code,
        "procedure_name": dossier.procedure_name,
        "agency_id": dossier.agency_id,
        "state": dossier.state,
        "drafted_at": _iso(getattr(dossier, "drafted_at", None)),
        "submitted_at": _iso(getattr(dossier, "submitted_at", None)),
        "received_at": _iso(getattr(dossier, "received_at", None)),
        "appointed_return_at": _iso(getattr(dossier, "appointed_return_at", None)),
        "returned_at": _iso(getattr(dossier, "returned_at", None)),
        "applicant": {k: v for k, v in dossier.applicant_data.items() if k != "subject_id"},
        "attachments": [
            {"name": a["name"], "content_type": a["content_type"], "size_bytes": a["size_bytes"],
             "sha256": a["sha256"], "attached_at": _iso(a["at"])}
            for a in dossier.attachments
        ],
    }


class SubjectAccessQueries(DossiersHost):
    def correct_applicant_details(self, dossier_id: UUID, corrections: dict[str, str], reason: str,
                                  expected_version: int = 0) -> Correction:
        """Corrects the applicant's personal fields as a new event, sealed under their key like
        the originals; the register follows (name, search, blind index of the number)."""

        def correct(dossier: Dossier, actor: Any, now: datetime) -> None:
            if dossier.applicant_data.get("full_name") == MASKED:
                # Their key is destroyed: writing new data would bring an erased person back.
                raise InvalidTransition(f"the applicant of dossier {dossier.code or dossier.id}", "erased",
                                        "correct the personal data of")
            changed[:] = dossier.correct_applicant(corrections, reason, actor.subject, now,
                                                   subject_id=self.subjects.of(dossier.applicant))

        changed: list[str] = []
        view = self._act(dossier_id, expected_version, auth.applicant_corrector, "correct the applicant's data",
                         correct)
        return Correction(view, list(changed))

    def export_account(self, account_id: str, data_format: str, authorization: str = "") -> SubjectExport:
        return self._export([self.subjects.of_account(account_id)], account_id, data_format, authorization)

    def export_person(self, kind: str, identity_number: str, data_format: str,
                      authorization: str = "") -> SubjectExport:
        # Either number of a corrected applicant reaches the subject first filed.
        subject_ids = self.subjects.of_person_now(kind, identity_number, self.recorder.subjects_numbered)
        return self._export(subject_ids, "", data_format, authorization)

    def _export(self, subject_ids: list[str], account_id: str, data_format: str,
                authorization: str) -> SubjectExport:
        actor = current_actor()
        held = {subject_id: self.recorder.subject_dossiers(subject_id) for subject_id in subject_ids}
        rows = [row for subject_rows in held.values() for row in subject_rows]
        if rows or not account_id or not self.holders.asks_identity:
            auth.subject_access(actor, account_id, sorted({row["agency_id"] for row in rows}), self.within)
        # Else a person with an account and no dossier here: identity, which holds the account,
        # decides whether the caller may see it (NOT_FOUND when it holds no such account).
        account = self.holders.account_data(account_id, authorization, EXPORT) if account_id else None
        # Notices to an account are the account's; to an applicant without one, their dossiers'.
        notifications = self.holders.notifications_data(
            account_id, [] if account_id else [str(row["dossier_id"]) for row in rows], authorization, EXPORT)
        dossiers = [self.load(Dossier, row["dossier_id"]) for row in rows]
        now = self.clock()
        records = []
        for subject_id, subject_rows in held.items():
            if subject_rows or subject_id == subject_ids[0]:
                exports = self.find(SubjectDataExports, SubjectDataExports.create_id(subject_id)) \
                    or SubjectDataExports.open(subject_id)
                exports.record(exported_by=actor.subject, data_format=data_format,
                               dossier_ids=[row["dossier_id"] for row in subject_rows], exported_at=now)
                records.append(exports)
        self.save(*records)
        document = {
            "subject": {"account_id": account_id} if account_id else {},
            "exported_at": now.isoformat(),
            "exported_by": actor.subject,
            "dossiers": [dossier_record(d) for d in dossiers],
            # Identity's document of the account (profile, grants, sign-ins), null without one.
            "account": account,
            # Notifications' document (contact points, notices with their delivery states).
            "notifications": notifications,
            # The services holding personal data that this deployment did not let the export ask.
            "not_gathered": [name for name, asked in (
                ("identity", not account_id or self.holders.asks_identity),
                ("notifications", notifications is not None)) if not asked],
        }
        if data_format != PDF:
            return SubjectExport(document, b"", now)
        # The PDF library (fpdf2, its fonts and fontTools: a third of the idle service's memory)
        # loads with the first PDF, not with the service.
        from motcua.dossiers.forms import subject_data

        return SubjectExport(document, subject_data.render(document), now)

    @staticmethod
    def as_json(export: SubjectExport) -> str:
        return json.dumps(export.document, ensure_ascii=False, indent=2)
