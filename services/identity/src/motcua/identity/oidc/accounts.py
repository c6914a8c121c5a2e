"""What the OIDC provider needs from the accounts of the identity service, and nothing more.

The provider never sees a password hash or a second-factor secret: it asks the accounts
side to check a login, and reads an account by id (claims) or by personal identification
number (federated login). Any object with these methods will do (``AccountDirectory``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

# LoginOutcome.reason values the login page has something to say about.
BAD_CREDENTIALS = "bad_credentials"
MFA_REQUIRED = "mfa_required"
BAD_SECOND_FACTOR = "bad_second_factor"
LOCKED = "locked"
ACCOUNT_DISABLED = "account_disabled"


class LoginOutcome(Protocol):
    # Read-only properties, as in Account: the outcomes are frozen dataclasses.
    @property
    def reason(self) -> str: ...  # "" when the login succeeded

    @property
    def account_id(self) -> UUID | None: ...

    @property
    def locked_until(self) -> datetime | None: ...

    @property
    def succeeded(self) -> bool: ...


class Account(Protocol):
    # Read-only properties: the accounts are frozen views (AccountView, DevAccount).
    @property
    def account_id(self) -> UUID: ...

    @property
    def display_name(self) -> str: ...

    @property
    def roles(self) -> tuple[str, ...]: ...

    @property
    def agency_id(self) -> str: ...

    @property
    def personal_id_number(self) -> str: ...

    @property
    def email(self) -> str: ...

    @property
    def phone(self) -> str: ...

    @property
    def state(self) -> str: ...


class AccountDirectory(Protocol):
    def verify_login(self, login: str, password: str, totp_code: str | None = None,
                     source_address: str = "") -> LoginOutcome:
        """Checks a login and its password (and second factor when the account has one)."""

    def get_account(self, account_id: UUID) -> Account:
        """The account; motcua.kernel.errors.NotFound when there is none."""

    def find_account_by_personal_id(self, number: str) -> Account | None:
        """The citizen with this personal identification number, if any."""
