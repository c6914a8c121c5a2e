"""Who may call identity's RPCs: administrators administer their agency's subtree, people
read and change their own account, auditors read. (A kernel-wide authorization matrix
for every service comes later; these are identity's own rules.)"""

from __future__ import annotations

from uuid import UUID

from motcua.kernel.context import Actor, current_actor
from motcua.kernel.errors import PermissionDenied

from .application import IdentityApplication
from .domain import ADMINISTRATOR, AUDITOR, OFFICER, Account


class Guard:
    def __init__(self, app: IdentityApplication) -> None:
        self.app = app

    @staticmethod
    def actor() -> Actor:
        return current_actor()

    def is_owner(self, account_id: UUID) -> bool:
        return current_actor().subject == str(account_id)

    def administers_agency(self, eid: str) -> bool:
        actor = current_actor()
        return actor.has_role(ADMINISTRATOR) and bool(actor.agency_id) and self.app.is_within(eid, actor.agency_id)

    def administers_account(self, account: Account) -> bool:
        """Officers are administered within their agency's subtree; citizens and businesses,
        who belong to no agency, by any administrator."""
        if account.kind == OFFICER:
            return self.administers_agency(account.agency_id)
        return current_actor().has_role(ADMINISTRATOR)

    def require_admin_of_agency(self, eid: str, action: str) -> None:
        if not self.administers_agency(eid):
            raise PermissionDenied(action, f"only an administrator of {eid} or an agency above it may")

    def require_admin(self, action: str) -> None:
        if not current_actor().has_role(ADMINISTRATOR):
            raise PermissionDenied(action, "only an administrator may")

    def require_admin_of_account(self, account: Account, action: str) -> None:
        if not self.administers_account(account):
            where = f" of {account.agency_id} or an agency above it" if account.kind == OFFICER else ""
            raise PermissionDenied(action, f"only an administrator{where} may")

    def require_reader_of_account(self, account: Account, action: str) -> None:
        if self.is_owner(account.id) or current_actor().has_role(AUDITOR) or self.administers_account(account):
            return
        raise PermissionDenied(action, "only the account's owner, its administrators and auditors may")

    def require_lister(self, action: str) -> None:
        if not current_actor().has_role(ADMINISTRATOR, AUDITOR):
            raise PermissionDenied(action, "only administrators and auditors may")

    def require_owner(self, account_id: UUID, action: str) -> None:
        if not self.is_owner(account_id):
            raise PermissionDenied(action, "only the account's owner may")
