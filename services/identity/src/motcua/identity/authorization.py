"""Who may act on identity's accounts and agencies, once they are loaded.

- Administrators administer officers and agencies within their administrator grants'
  subtrees (the granted agency and every agency below it, in this service's tree); a role
  granted at one agency never lends that agency to another role.
- Citizens' and businesses' accounts belong to no agency: ordinary administrators do not
  administer them. Opening them, resetting their credentials (a password without the current
  one, removing a second factor) and disabling them takes the narrow ``credential_officer``
  role, and every reset is recorded with who did it and why (``Credentials.CredentialsReset``).
- People read and change their own account; auditors read officers within their grants.
- Everything held about an account's person (its export) goes to the person, or to a
  ``data_protection_officer`` granted for the account's agency (an officer's) or at the top
  of the tree (a citizen's or business's account belongs to no agency, so only a
  province-wide grant covers it).

Which roles may call each RPC at all is declared in the protos and checked by the kernel;
these add what needs the resource, with the kernel's helpers (``motcua.kernel.access``).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from motcua.kernel.access import Within, holds, is_self, require_grant, require_role, require_self_or
from motcua.kernel.context import current_actor
from motcua.kernel.errors import PermissionDenied
from motcua.kernel.roles import DATA_PROTECTION_OFFICER

from .domain import ADMINISTRATOR, AUDITOR, CREDENTIAL_OFFICER, OFFICER, Account


class Guard:
    """The checks of the application's use cases; ``within`` is the application's agency tree."""

    def __init__(self, within: Within, parent_of: Callable[[str], str | None] | None = None) -> None:
        self._within = within
        self._parent_of = parent_of

    def is_owner(self, account_id: UUID) -> bool:
        return is_self(current_actor(), account_id)

    def administers_agency(self, eid: str) -> bool:
        return holds(current_actor(), (ADMINISTRATOR,), eid, self._within)

    def administers_account(self, account: Account) -> bool:
        """Officers by administrators of their agency's subtree; citizens and businesses by
        credential officers."""
        if account.kind == OFFICER:
            return self.administers_agency(account.agency_id)
        return current_actor().has_role(CREDENTIAL_OFFICER)

    def require_admin_of_agency(self, eid: str, action: str) -> None:
        require_grant(current_actor(), action, (ADMINISTRATOR,), eid, within=self._within)

    def require_credential_officer(self, action: str) -> None:
        require_role(current_actor(), action, CREDENTIAL_OFFICER)

    def require_admin_of_account(self, account: Account, action: str) -> None:
        if account.kind == OFFICER:
            self.require_admin_of_agency(account.agency_id, action)
        else:
            self.require_credential_officer(action)

    def require_owner_or_admin_of_account(self, account: Account, action: str) -> None:
        """The account's owner, or whoever administers it."""
        if not is_self(current_actor(), account.id):
            self.require_admin_of_account(account, action)

    def require_reader_of_account(self, account: Account, action: str) -> None:
        if self.administers_account(account):
            return
        actor = current_actor()
        if account.kind == OFFICER and holds(actor, (AUDITOR,), account.agency_id, self._within):
            return
        require_self_or(actor, action, account.id)

    def require_data_protection_of_account(self, account: Account, action: str) -> None:
        """The account's person, or a data-protection officer whose grant covers the data."""
        actor = current_actor()
        if is_self(actor, account.id):
            return
        if account.kind == OFFICER:
            require_grant(actor, action, (DATA_PROTECTION_OFFICER,), account.agency_id, within=self._within)
            return
        require_role(actor, action, DATA_PROTECTION_OFFICER)
        if not any(self._parent_of is not None and self._parent_of(agency) == ""
                   for agency in actor.agencies_for(DATA_PROTECTION_OFFICER)):
            raise PermissionDenied(action, "a citizen's or business's account needs a data-protection officer "
                                           "granted at the top of the agency tree", error_reason="AGENCY_SCOPE")

    def listing_scope(self, action: str) -> tuple[list[str], bool]:
        """What the caller may list: the agencies whose subtrees' officers (administrator and
        auditor grants), and whether citizens and businesses (credential officers)."""
        actor = current_actor()
        roots = list(actor.agencies_for(ADMINISTRATOR, AUDITOR))
        people = actor.has_role(CREDENTIAL_OFFICER)
        if not roots and not people:
            raise PermissionDenied(action, "needs an administrator or auditor grant, or the credential officer role",
                                   error_reason="ROLE_REQUIRED")
        return roots, people

    def require_owner(self, account_id: UUID, action: str) -> None:
        require_self_or(current_actor(), action, account_id)
