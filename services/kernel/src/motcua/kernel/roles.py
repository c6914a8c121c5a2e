"""The role vocabulary of the platform: one name per role, as the token's ``roles`` claim,
the RPCs' access declarations (``motcua.common.v1.access``) and stored events write it
(pure, no I/O).

These strings are a contract: stored events of identity (grants) hold them and every token
carries them, so a value never changes; a new role is added here, to the ``Role`` enum of
``protos/motcua/identity/v1/role.proto`` (mapped once, by ``motcua.kernel.role_protos``) and
to the RPCs it may call.
"""

from __future__ import annotations

APPLICANT = "applicant"
DESK_OFFICER = "desk_officer"
SPECIALIST = "specialist"
DEPARTMENT_HEAD = "department_head"
LEADER = "leader"
ADMINISTRATOR = "administrator"
AUDITOR = "auditor"
# Resets citizens' and businesses' credentials (password, second factor), each reset audited.
CREDENTIAL_OFFICER = "credential_officer"
# Erases a data subject's personal data on a lawful request (Decree 13/2023/NĐ-CP), once no
# retention period applies; reads nothing else. Each erasure recorded with who and why.
DATA_PROTECTION_OFFICER = "data_protection_officer"

# Every role, in the order of the proto enum (lists of an account's roles are sorted by it).
ROLES = (APPLICANT, DESK_OFFICER, SPECIALIST, DEPARTMENT_HEAD, LEADER, ADMINISTRATOR, AUDITOR, CREDENTIAL_OFFICER,
         DATA_PROTECTION_OFFICER)
# The roles that work on dossiers in an agency.
OFFICERS = (DESK_OFFICER, SPECIALIST, DEPARTMENT_HEAD, LEADER)
# Citizens and businesses are applicants by their kind, for no agency; every other role is
# granted to an officer at an agency (and reaches the agency's subtree).
GRANTABLE_ROLES = tuple(r for r in ROLES if r != APPLICANT)


def is_granted_at_agency(role: str) -> bool:
    """Whether a holder of ``role`` holds it at an agency: every role but the applicant's, as
    applicants act for themselves, never within an agency (a grant of it would mean nothing)."""
    return role != APPLICANT
