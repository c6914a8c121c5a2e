"""Who may act on a dossier: the caller's role grants (from the bearer token) against the
dossier. Pure; the application calls these before a command, with ``current_actor()`` and
its replica of the agency tree (``within``: ``motcua.kernel.agencies.AgencyTree.is_within``).

- Applicants act on their own dossiers (the applicant's account id is the caller's
  subject); the desk may act for them (desk submissions, supplements, withdrawals).
- Officers act on dossiers of the agencies their grants cover (the granted agency and every
  agency below it): the desk on the receiving agency's, the others on the agency handling the
  dossier now (after a transfer, the new one).
- Administrators act where their administrator grant reaches (a province administrator in
  every agency of the province, through the tree; a commune's in that commune only).
- Auditors only read, where their auditor grant reaches (a province's auditor in every
  agency of the province).

Which roles may call each RPC at all is declared in the protos and checked by the kernel
before these run; these add what needs the dossier (its agency, its applicant), with the
kernel's helpers (``motcua.kernel.access``). A role held at one agency never lends that agency
to another role. Without ``within`` (or for an agency the tree replica does not know yet) a
grant covers its own agency only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from motcua.kernel.access import Within, holds, is_self, require_grant, require_role
from motcua.kernel.context import Actor
from motcua.kernel.errors import NotFound, PermissionDenied
from motcua.kernel.roles import (
    ADMINISTRATOR,
    APPLICANT,
    AUDITOR,
    DATA_PROTECTION_OFFICER,
    DEPARTMENT_HEAD,
    DESK_OFFICER,
    LEADER,
    OFFICERS,
)

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


def _granted(actor: Actor, action: str, roles: Iterable[str], *agencies: str, within: Within | None) -> None:
    """One of ``roles`` (or administrator) granted for one of ``agencies`` (AGENCY_SCOPE
    otherwise)."""
    require_grant(actor, action, (*roles, ADMINISTRATOR), *agencies, within=within)


def _audits(actor: Actor, within: Within | None, *agencies: str) -> bool:
    """Whether the caller holds an auditor grant reaching one of ``agencies``."""
    return any(holds(actor, (AUDITOR,), agency, within) for agency in agencies)


def is_owner(actor: Actor, dossier: Any) -> bool:
    return actor.has_role(APPLICANT) and is_self(actor, dossier.applicant_data.get("account_id", ""))


def may_submit(actor: Actor, agency_id: str, applicant_account_id: str, action: str = "submit a dossier",
               within: Within | None = None) -> None:
    """An applicant files for themselves (or without an account id); the desk (or an
    administrator) of the agency for anyone."""
    if holds(actor, (DESK_OFFICER, ADMINISTRATOR), agency_id, within):
        return
    if actor.has_role(APPLICANT) and applicant_account_id in ("", actor.subject):
        return
    raise PermissionDenied(
        action, "applicants file for themselves; desk officers for their agency", error_reason="NOT_OWNER"
    )


def applicant_or_desk(actor: Actor, dossier: Any, action: str, within: Within | None = None) -> None:
    if not _owner_or_role(actor, dossier, action, (DESK_OFFICER,)):
        _granted(actor, action, (DESK_OFFICER,), dossier.agency_id, within=within)


def applicant_only(actor: Actor, dossier: Any, action: str, within: Within | None = None) -> None:
    if is_owner(actor, dossier) or holds(actor, (ADMINISTRATOR,), dossier.agency_id, within):
        return
    raise PermissionDenied(action, "only the applicant of the dossier", error_reason="NOT_OWNER")


def desk(actor: Actor, dossier: Any, action: str, within: Within | None = None) -> None:
    _needs_role(actor, action, (DESK_OFFICER,))
    _granted(actor, action, (DESK_OFFICER,), dossier.agency_id, dossier.handling_agency_id, within=within)


def officer(
    actor: Actor, dossier: Any, action: str, roles: Iterable[str] = OFFICERS, within: Within | None = None
) -> None:
    roles = tuple(roles)
    _needs_role(actor, action, roles)
    _granted(actor, action, roles, dossier.handling_agency_id, within=within)


def step_holder(actor: Actor, dossier: Any, action: str, within: Within | None = None) -> None:
    """The current step's role when it is one of the platform's, else any officer; managers
    always."""
    step = dossier.current_step
    role = step["role"] if step else ""
    officer(actor, dossier, action, (role, *MANAGERS) if role in OFFICERS else OFFICERS, within=within)


def reader(actor: Actor, dossier: Any, action: str, within: Within | None = None) -> None:
    """Who may read the dossier (and its clock): its applicant, officers and administrators of
    its agencies (by their grants), auditors whose grants reach them."""
    if _audits(actor, within, dossier.agency_id, dossier.handling_agency_id):
        return
    if not _owner_or_role(actor, dossier, action, OFFICERS):
        _granted(actor, action, OFFICERS, dossier.agency_id, dossier.handling_agency_id, within=within)


# Forms the applicant is handed (receipt, supplement request, refusal, apology); the control
# slip and the tracking book are the agencies' own records.
APPLICANT_FORMS = frozenset({"receipt", "supplement_request", "refusal", "apology"})


def list_scope(actor: Actor, subtree: Callable[[str], Iterable[str]] = lambda agency: (agency,),
               action: str = "list dossiers") -> tuple[tuple[str, ...] | None, str]:
    """What a caller may list: (agencies whose dossiers, None for every agency; applicant
    account whose dossiers, "" for no narrowing). Officers and administrators see their
    grants' subtrees (``subtree``: an agency and those below it), auditors too."""
    granted = actor.agencies_for(*OFFICERS, ADMINISTRATOR, AUDITOR)
    if granted:
        return tuple(dict.fromkeys(a for agency in granted for a in subtree(agency))), ""
    if actor.has_role(APPLICANT) and actor.subject:
        return None, actor.subject
    raise PermissionDenied(action, "officers list their agencies' dossiers, applicants their own")


def queue_holder(actor: Actor, action: str = "list the work queue") -> str:
    """An officer's agency, whose queue they may see (an officer role granted there)."""
    _needs_role(actor, action, OFFICERS)
    if not actor.agency_id:
        raise PermissionDenied(action, "the caller belongs to no agency")
    _granted(actor, action, OFFICERS, actor.agency_id, within=None)
    return actor.agency_id


def agency_reader(actor: Actor, agency_id: str, action: str, within: Within | None = None) -> None:
    """Reports of one agency: officers, administrators and auditors whose grants cover it."""
    if _audits(actor, within, agency_id):
        return
    _needs_role(actor, action, OFFICERS)
    _granted(actor, action, OFFICERS, agency_id, within=within)


def form_reader(actor: Actor, dossier: Any, form: str, within: Within | None = None) -> None:
    action = f"render the {form.replace('_', ' ')} form"
    if form in APPLICANT_FORMS and is_owner(actor, dossier):
        return
    if _audits(actor, within, dossier.agency_id, dossier.handling_agency_id):
        return
    _needs_role(actor, action, OFFICERS)
    _granted(actor, action, OFFICERS, dossier.agency_id, dossier.handling_agency_id, within=within)


def data_protection(actor: Actor, agencies: Iterable[str], within: Within | None = None) -> None:
    """Erasing a person is for a data-protection officer alone (not administrators), granted
    for every agency holding one of the person's dossiers."""
    action = "erase a person's personal data"
    require_role(actor, action, DATA_PROTECTION_OFFICER)
    held = list(agencies)
    if not held:
        # No dossier of theirs here, so no agency whose officer could be granted: nobody but the
        # person themself may learn even that (never the identifier: it is personal data).
        raise NotFound("data subject", "(no dossier of theirs is held here)")
    for agency in held:
        require_grant(actor, action, (DATA_PROTECTION_OFFICER,), agency, within=within)


def subject_access(actor: Actor, account_id: str, agencies: Iterable[str], within: Within | None = None) -> None:
    """A person sees what is held about them (their own account); a data-protection officer
    sees anybody's, granted for every agency holding one of the person's dossiers. Nobody else,
    administrators included: an export is every personal field at once."""
    action = "export a person's personal data"
    if actor.has_role(APPLICANT) and is_self(actor, account_id):
        return
    if not actor.has_role(DATA_PROTECTION_OFFICER):
        raise PermissionDenied(action, "only the person themself or a data-protection officer",
                               error_reason="NOT_OWNER")
    held = list(agencies)
    if not held:
        # No dossier of theirs here, so no agency whose officer could be granted: nobody but the
        # person themself may learn even that (never the identifier: it is personal data).
        raise NotFound("data subject", "(no dossier of theirs is held here)")
    for agency in held:
        require_grant(actor, action, (DATA_PROTECTION_OFFICER,), agency, within=within)


def applicant_corrector(actor: Actor, dossier: Any, action: str, within: Within | None = None) -> None:
    """A data-protection officer of the dossier's agencies, or an officer of the agency handling
    it (with a reason, recorded): not the applicant, whose word is what is being corrected."""
    if holds(actor, (DATA_PROTECTION_OFFICER,), dossier.agency_id, within) or \
            holds(actor, (DATA_PROTECTION_OFFICER,), dossier.handling_agency_id, within):
        return
    officer(actor, dossier, action, within=within)
