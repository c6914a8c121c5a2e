"""Who may act on a dossier: the caller's roles and agency (from the bearer token) against
the dossier. Pure; the application calls these before a command, with ``current_actor()``.

- Applicants act on their own dossiers (the applicant's account id is the caller's
  subject); the desk may act for them (desk submissions, supplements, withdrawals).
- Officers act on dossiers of their agency: the desk on the receiving agency's, the
  others on the agency handling the dossier now (after a transfer, the new one).
- Administrators act in every agency (they unblock dossiers); auditors only read.
"""

from __future__ import annotations

from typing import Any, Iterable

from motcua.kernel.context import Actor
from motcua.kernel.errors import PermissionDenied

APPLICANT = "applicant"
DESK_OFFICER = "desk_officer"
SPECIALIST = "specialist"
DEPARTMENT_HEAD = "department_head"
LEADER = "leader"
ADMINISTRATOR = "administrator"
OFFICERS = (DESK_OFFICER, SPECIALIST, DEPARTMENT_HEAD, LEADER)
MANAGERS = (DEPARTMENT_HEAD, LEADER)


def _needs_role(actor: Actor, action: str, roles: Iterable[str]) -> None:
    roles = tuple(roles)
    if not actor.has_role(*roles, ADMINISTRATOR):
        raise PermissionDenied(action, f"needs one of the roles {', '.join(roles)}")


def _in_agency(actor: Actor, action: str, *agencies: str) -> None:
    if actor.has_role(ADMINISTRATOR):
        return
    if actor.agency_id not in agencies:
        raise PermissionDenied(action, f"the dossier is handled by {' / '.join(sorted(set(agencies)))}, not by the caller's agency")


def is_owner(actor: Actor, dossier: Any) -> bool:
    account = dossier.applicant_data.get("account_id", "")
    return bool(account) and actor.has_role(APPLICANT) and actor.subject == account


def may_submit(actor: Actor, agency_id: str, applicant_account_id: str, action: str = "submit a dossier") -> None:
    """An applicant files for themselves (or without an account id); the desk for anyone."""
    if actor.has_role(DESK_OFFICER) and (actor.agency_id == agency_id or actor.has_role(ADMINISTRATOR)):
        return
    if actor.has_role(APPLICANT, ADMINISTRATOR) and applicant_account_id in ("", actor.subject):
        return
    raise PermissionDenied(action, "applicants file for themselves; desk officers for their agency")


def applicant_or_desk(actor: Actor, dossier: Any, action: str) -> None:
    if is_owner(actor, dossier):
        return
    _needs_role(actor, action, (DESK_OFFICER,))
    _in_agency(actor, action, dossier.agency_id)


def applicant_only(actor: Actor, dossier: Any, action: str) -> None:
    if is_owner(actor, dossier) or actor.has_role(ADMINISTRATOR):
        return
    raise PermissionDenied(action, "only the applicant of the dossier")


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
    """Who may read the dossier's clock: its applicant, officers of its agencies, auditors."""
    if is_owner(actor, dossier) or actor.has_role(ADMINISTRATOR, "auditor"):
        return
    _needs_role(actor, action, OFFICERS)
    _in_agency(actor, action, dossier.agency_id, dossier.handling_agency_id)
