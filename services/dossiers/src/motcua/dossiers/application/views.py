"""What the dossiers application takes in and hands back: plain records, no aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.procedure_replica import ProcedureReplica
from motcua.dossiers.domain.values import DESK, Applicant, Document


@dataclass(frozen=True)
class ProcedureReplicaView:
    """One published version of a procedure, as this service knows it."""

    procedure_id: UUID
    code: str
    name: str
    agency_id: str
    processing_days: int
    procedure_version: int
    version_number: int
    effective_from: datetime | None
    effective_until: datetime | None

    @classmethod
    def of(cls, replica: ProcedureReplica, version: dict | None = None) -> ProcedureReplicaView:
        """The given version (by default the latest published one)."""
        version = version or replica.versions[-1]
        return cls(
            procedure_id=replica.id,
            code=replica.code,
            name=version["name"],
            agency_id=version["agency_id"],
            processing_days=version["processing_days"],
            procedure_version=replica.procedure_version,
            version_number=version["number"],
            effective_from=version["effective_from"],
            effective_until=version["effective_until"],
        )


@dataclass(frozen=True)
class PublishedVersion:
    """What the catalog's ProcedurePublished event says, for the replica."""

    procedure_id: UUID
    code: str
    name: str
    agency_id: str
    processing_days: int
    procedure_version: int
    version_number: int = 1
    effective_from: datetime | None = None
    superseded: int = 0
    terms: dict | None = None  # terms.Terms in its plain form


@dataclass(frozen=True)
class Submission:
    """What is handed in to submit a dossier."""

    procedure_id: UUID
    agency_id: str
    applicant: Applicant
    channel: str
    result_delivery: str = DESK
    documents: tuple[Document, ...] = ()
    request_id: str = ""  # idempotency key (a UUID), optional


@dataclass(frozen=True)
class DossierView:
    dossier_id: UUID
    code: str
    procedure_id: UUID
    procedure_version: int
    agency_id: str
    applicant: Applicant
    channel: str
    result_delivery: str
    documents: tuple[Document, ...]
    state: str
    submitted_at: datetime | None  # none for a draft
    received_at: datetime | None
    appointed_return_at: datetime | None
    version: int
    processing: dict | None = None  # the clock, step, holder, fees, result (see processing_of)
    attachments: tuple[dict, ...] = ()

    @classmethod
    def of(cls, dossier: Dossier) -> DossierView:
        return cls(
            dossier_id=dossier.id,
            code=dossier.code,
            procedure_id=dossier.procedure_id,
            procedure_version=dossier.procedure_version,
            agency_id=dossier.agency_id,
            applicant=dossier.applicant,
            channel=dossier.channel,
            result_delivery=dossier.result_delivery,
            documents=tuple(dossier.documents),
            state=dossier.state,
            submitted_at=dossier.submitted_at,
            received_at=dossier.received_at,
            appointed_return_at=dossier.appointed_return_at,
            version=dossier.version,
            processing=processing_of(dossier),
            attachments=tuple(dossier.attachments),
        )


def processing_of(dossier: Dossier) -> dict | None:
    if dossier.submitted_at is None:
        return None
    step = dossier.current_step or {}
    latest_request = dossier.supplement_requests[-1] if dossier.supplement_requests else {}
    return {
        "due_at": dossier.original_due_at or dossier.due_at,
        "coming_due_at": dossier.coming_due_at,
        "clock_started_at": dossier.clock_started_at,
        "paused": bool(dossier.pauses and dossier.pauses[-1]["end"] is None),
        "step_index": dossier.step_index,
        "step_name": step.get("name", ""),
        "step_due_at": list(dossier.step_due_at),
        "assignee": dossier.assignee,
        "handling_agency_id": dossier.handling_agency_id,
        "handling_unit": dossier.handling_unit,
        "handovers": list(dossier.handovers),
        "fee_total_vnd": dossier.terms.fee_total,
        "payments": list(dossier.payments),
        "signed_document_id": dossier.result.get("document_id", ""),
        "signed_document_sha256": dossier.result.get("signed_document_sha256", ""),
        "finished_at": dossier.finished_at,
        "returned_at": dossier.returned_at,
        "outcome": dossier.outcome,
        "rating": dossier.rating.get("score", 0),
        "rating_comment": dossier.rating.get("comment", ""),
        "closing_reason": dossier.closing_reason,
        "supplement_items": list(latest_request.get("items", [])) if dossier.state == "awaiting_supplement" else [],
    }
