"""Who may act on a dossier: the caller's roles and agency (from the bearer token) against
the dossier. Pure; the application calls these before a command, with ``current_actor()``.

- Applicants act on their own dossiers (the applicant's account id is the caller's
  subject); the desk may act for them (desk submissions, supplements, withdrawals).
- Officers act on dossiers of their agency: the desk on the receiving agency's, the
  others on the agency handling the dossier now (after a transfer, the new one).
- Administrators act in every agency (they unblock dossiers); auditors only read.

Which roles may call each RPC at all is declared in the protos and checked by the kernel
before these run; these add what needs the dossier (its agency, its applicant), with the
kernel's helpers (``motcua.kernel.access``). The agency is the token's, compared by equality:
this service keeps no copy of the agency tree.
"""

from __future__ import annotations

from typing import Any, Iterable

from motcua.kernel.access import (
    ADMINISTRATOR,
    APPLICANT,
    AUDITOR,
    DEPARTMENT_HEAD,
    DESK_OFFICER,
    LEADER,
    OFFICERS,
    is_self,
    require_agency,
    require_role,
)
from motcua.kernel.context import Actor
from motcua.kernel.errors import PermissionDenied

MANAGERS = (DEPARTMENT_HEAD, LEADER)


def _needs_role(actor: Actor, action: str, roles: Iterable[str]) -> None:
    require_role(actor, action, *roles, ADMINISTRATOR)


def _owner_or_role(actor: Actor, dossier: Any, action: str, roles: Iterable[str]) -> bool:
    """True for the dossier's applicant; else the caller needs one of ``roles`` (another
    applicant is told the dossier is not theirs: NOT_OWNER)."""
    if is_owner(actor, dossier):
        return True
    roles = tuple(roles)
    if actor.has_role(APPLICANT) and not actor.has_role(*roles, ADMINISTRATOR):
        raise PermissionDenied(action, "only the applicant of the dossier", error_reason="NOT_OWNER")
    _needs_role(actor, action, roles)
    return False


def _in_agency(actor: Actor, action: str, *agencies: str) -> None:
    require_agency(actor, action, *agencies, anywhere=(ADMINISTRATOR,))


def is_owner(actor: Actor, dossier: Any) -> bool:
    return actor.has_role(APPLICANT) and is_self(actor, dossier.applicant_data.get("account_id", ""))


def may_submit(actor: Actor, agency_id: str, applicant_account_id: str, action: str = "submit a dossier") -> None:
    """An applicant files for themselves (or without an account id); the desk for anyone."""
    if actor.has_role(DESK_OFFICER) and (actor.agency_id == agency_id or actor.has_role(ADMINISTRATOR)):
        return
    if actor.has_role(APPLICANT, ADMINISTRATOR) and applicant_account_id in ("", actor.subject):
        return
    raise PermissionDenied(action, "applicants file for themselves; desk officers for their agency", error_reason="NOT_OWNER")


def applicant_or_desk(actor: Actor, dossier: Any, action: str) -> None:
    if not _owner_or_role(actor, dossier, action, (DESK_OFFICER,)):
        _in_agency(actor, action, dossier.agency_id)


def applicant_only(actor: Actor, dossier: Any, action: str) -> None:
    if is_owner(actor, dossier) or actor.has_role(ADMINISTRATOR):
        return
    raise PermissionDenied(action, "only the applicant of the dossier", error_reason="NOT_OWNER")


def desk(actor: Actor, dossier: Any, action: str) -> None:
    _needs_role(actor, action, (DESK_OFFICER,))
    _in_agency(actor, action, dossier.agency_id, dossier.handling_agency_id)


def officer(actor: Actor, dossier: Any, action: str, roles: Iterable[str] = OFFICERS) -> None:
    _needs_role(actor, action, roles)
    _in_agency(actor, action, dossier.handling_agency_id)


def step_holder(actor: Actor, dossier: Any, action: str) -> None:
    """The current step's role when it is one of the platform's, else any officer; managers always."""
    step = dossier.current_step
    role = step["role"] if step else ""
    officer(actor, dossier, action, (role, *MANAGERS) if role in OFFICERS else OFFICERS)


def reader(actor: Actor, dossier: Any, action: str) -> None:
    """Who may read the dossier (and its clock): its applicant, officers of its agencies,
    administrators and auditors."""
    if actor.has_role(ADMINISTRATOR, AUDITOR):
        return
    if not _owner_or_role(actor, dossier, action, OFFICERS):
        _in_agency(actor, action, dossier.agency_id, dossier.handling_agency_id)


# Forms the applicant is handed (receipt, supplement request, refusal, apology); the control
# slip and the tracking book are the agencies' own records.
APPLICANT_FORMS = frozenset({"receipt", "supplement_request", "refusal", "apology"})


def list_scope(actor: Actor, action: str = "list dossiers") -> tuple[str, str]:
    """What a caller may list: (agency whose dossiers, applicant account whose dossiers);
    empty for no narrowing (administrators and auditors see every agency)."""
    if actor.has_role(ADMINISTRATOR, AUDITOR):
        return "", ""
    if actor.has_role(*OFFICERS) and actor.agency_id:
        return actor.agency_id, ""
    if actor.has_role(APPLICANT) and actor.subject:
        return "", actor.subject
    raise PermissionDenied(action, "officers list their agency's dossiers, applicants their own")


def queue_holder(actor: Actor, action: str = "list the work queue") -> str:
    """An officer's agency, whose queue they may see."""
    _needs_role(actor, action, OFFICERS)
    if not actor.agency_id:
        raise PermissionDenied(action, "the caller belongs to no agency")
    return actor.agency_id


def agency_reader(actor: Actor, agency_id: str, action: str) -> None:
    """Reports of one agency: its officers, administrators and auditors."""
    if actor.has_role(ADMINISTRATOR, AUDITOR):
        return
    _needs_role(actor, action, OFFICERS)
    _in_agency(actor, action, agency_id)


def form_reader(actor: Actor, dossier: Any, form: str) -> None:
    action = f"render the {form.replace('_', ' ')} form"
    if form in APPLICANT_FORMS and is_owner(actor, dossier):
        return
    if actor.has_role(ADMINISTRATOR, AUDITOR):
        return
    _needs_role(actor, action, OFFICERS)
    _in_agency(actor, action, dossier.agency_id, dossier.handling_agency_id)
