"""The identity service's own accounts as the OIDC provider's AccountDirectory: logins are
checked by ``Authentication.verify_login`` (throttling, TOTP, every attempt recorded),
accounts read from the application."""

from __future__ import annotations

from uuid import UUID

from ..application import IdentityApplication
from ..authentication import Authentication, LoginOutcome
from ..views import AccountView


class IdentityAccounts:
    def __init__(self, app: IdentityApplication, auth: Authentication) -> None:
        self.app = app
        self.auth = auth

    def verify_login(self, login: str, password: str, totp_code: str | None = None,
                     source_address: str = "") -> LoginOutcome:
        return self.auth.verify_login(login, password, totp_code, source_address)

    def get_account(self, account_id: UUID) -> AccountView:
        return self.app.account_view(account_id)

    def find_account_by_personal_id(self, number: str) -> AccountView | None:
        return self.app.find_account_by_personal_id(number)
