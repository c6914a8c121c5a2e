"""Who may act on identity's accounts and agencies, once they are loaded: administrators
administer their agency's subtree, people read and change their own account, auditors read.

Which roles may call each RPC at all is declared in the protos and checked by the kernel;
these add what needs the resource, with the kernel's helpers (``motcua.kernel.access``) and
the agency tree this service keeps (``within``: an agency and those below it).
"""

from __future__ import annotations

from uuid import UUID

from motcua.kernel.access import in_agency, is_self, require_agency, require_role, require_self_or
from motcua.kernel.context import Actor, current_actor

from .application import IdentityApplication
from .domain import ADMINISTRATOR, AUDITOR, OFFICER, Account


class Guard:
    def __init__(self, app: IdentityApplication) -> None:
        self.app = app

    @staticmethod
    def actor() -> Actor:
        return current_actor()

    def _within(self, eid: str, ancestor: str) -> bool:
        return self.app.is_within(eid, ancestor)

    def is_owner(self, account_id: UUID) -> bool:
        return is_self(current_actor(), account_id)

    def administers_agency(self, eid: str) -> bool:
        actor = current_actor()
        return actor.has_role(ADMINISTRATOR) and in_agency(actor, eid, within=self._within)

    def administers_account(self, account: Account) -> bool:
        """Officers are administered within their agency's subtree; citizens and businesses,
        who belong to no agency, by any administrator."""
        if account.kind == OFFICER:
            return self.administers_agency(account.agency_id)
        return current_actor().has_role(ADMINISTRATOR)

    def require_admin_of_agency(self, eid: str, action: str) -> None:
        actor = current_actor()
        require_role(actor, action, ADMINISTRATOR)
        require_agency(actor, action, eid, within=self._within)

    def require_admin(self, action: str) -> None:
        require_role(current_actor(), action, ADMINISTRATOR)

    def require_admin_of_account(self, account: Account, action: str) -> None:
        if account.kind == OFFICER:
            self.require_admin_of_agency(account.agency_id, action)
        else:
            self.require_admin(action)

    def require_reader_of_account(self, account: Account, action: str) -> None:
        if self.administers_account(account):
            return
        require_self_or(current_actor(), action, account.id, AUDITOR)

    def require_lister(self, action: str) -> None:
        require_role(current_actor(), action, ADMINISTRATOR, AUDITOR)

    def require_owner(self, account_id: UUID, action: str) -> None:
        require_self_or(current_actor(), action, account_id)
