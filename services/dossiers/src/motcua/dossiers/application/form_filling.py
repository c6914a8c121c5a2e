"""Fills the one-stop-shop forms (``forms``) from a dossier: the aggregate as its events
left it, and the events themselves for who did what when. The tracking book is filled
from the register's rows.

The dossiers service knows agencies by their electronic identifier only: the forms'
headers print it where the agency's name would go.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from motcua.dossiers import forms
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.dossier.processing import ProcessingRules

FORM_NUMBERS = {"receipt": "01", "supplement_request": "02", "refusal": "03", "apology": "04", "control_slip": "06"}
DELIVERY_WORDS = {"desk": "desk", "postal": "postal", "online": "online"}


def agency(agency_id: str) -> forms.Agency:
    return forms.Agency(name=f"Cơ quan {agency_id}")


def facts(dossier: Dossier, appointed_at: datetime | None = None) -> forms.DossierFacts:
    applicant = dossier.applicant
    return forms.DossierFacts(
        code=dossier.code or str(dossier.id), procedure_name=dossier.procedure_name or str(dossier.procedure_id),
        applicant=forms.Applicant(full_name=applicant.full_name, address=applicant.address, phone=applicant.phone,
                                  email=applicant.email),
        agency=agency(dossier.agency_id), received_at=dossier.received_at,
        appointed_at=appointed_at or dossier.appointed_return_at,
    )


Event = TypeVar("Event")


def _last(events: Iterable[Any], kind: type[Event]) -> Event | None:
    found = None
    for event in events:
        if isinstance(event, kind):
            found = event
    return found


def fill(dossier: Dossier, form: str, events: list[Any]) -> forms.Form | None:
    """The form filled from the dossier; None when the dossier never reached it."""
    if form == "receipt":
        received = _last(events, Dossier.Received)
        if dossier.received_at is None or received is None:
            return None
        # The slip as issued: the appointment made at reception, not a later apology's.
        return forms.ReceiptSlip(
            dossier=facts(dossier, received.appointed_return_at), processing_days=dossier.processing_days,
            documents=tuple(forms.SubmittedDocument(d.name, d.originals, d.copies) for d in dossier.documents),
            result_delivery=DELIVERY_WORDS.get(dossier.result_delivery, "desk"), received_by=received.received_by,
        )
    if form == "supplement_request":
        requested = _last(events, ProcessingRules.SupplementRequested)
        if requested is None:
            return None
        return forms.SupplementRequest(
            dossier=facts(dossier),
            issued_at=requested.requested_at,
            guided_by=requested.requested_by,
            reason=requested.note,
            faulty_items=tuple(forms.FaultyItem(document=i["document"], request=i["problem"]) for i in requested.items),
        )
    if form == "refusal":
        refused = _last(events, ProcessingRules.Refused)
        if refused is None:
            return None
        return forms.Refusal(dossier=facts(dossier), reasons=(refused.reason,), issued_at=refused.refused_at,
                             refused_by=refused.refused_by)
    if form == "apology":
        apology = _last(events, ProcessingRules.ApologyIssued)
        if apology is None or dossier.received_at is None:
            return None
        return forms.Apology(
            dossier=facts(dossier, apology.previous_appointment_at), reason=apology.reason,
            new_appointed_at=apology.new_appointment_at, issued_at=apology.issued_at,
            signer_title="THỦ TRƯỞNG CƠ QUAN", signer_name=apology.issued_by,
        )
    if form == "control_slip":
        if not dossier.handovers:
            return None
        return forms.ControlSlip(
            dossier=facts(dossier),
            lead_unit=dossier.handling_unit or dossier.handling_agency_id,
            hand_overs=tuple(
                forms.HandOver(
                    from_unit=h["from_unit"] or h["from_agency_id"],
                    from_person=h["by"],
                    to_unit=h["to_unit"] or h["to_agency_id"],
                    to_person=h["to_user"],
                    at=h["at"],
                    note=h["note"],
                )
                for h in dossier.handovers
            ),
        )
    raise ValueError(f"no form {form!r}")


def tracking_book(
    agency_id: str, rows: list[dict[str, Any]], first: date, last: date, now: datetime
) -> forms.TrackingBook:
    return forms.TrackingBook(
        agency=agency(agency_id), period_start=first, period_end=last, issued_at=now,
        entries=tuple(forms.TrackingEntry(
            code=r["code"], procedure_name=r["procedure_name"], applicant_name=r["applicant_name"],
            applicant_contact=", ".join(x for x in (r["applicant_address"], r["applicant_phone"]) if x),
            lead_agency=r["handling_agency_id"], received_at=r["received_at"], appointed_at=r["appointed_at"],
            transferred_to=r["handling_agency_id"] if r["handling_agency_id"] != r["agency_id"] else "",
            returned_at=r["returned_at"],
        ) for r in rows),
    )
