"""What the identity application answers with: plain, immutable data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from .domain import Account, Agency, Credentials, Grant
from .domain.agencies import AgencyName


@dataclass(frozen=True)
class AccountView:
    account_id: UUID
    kind: str
    display_name: str
    login: str
    personal_id_number: str
    tax_code: str
    phone: str
    email: str
    agency_id: str
    unit: str
    state: str
    disable_reason: str
    created_at: datetime
    grants: tuple[Grant, ...]
    roles: tuple[str, ...]
    mfa_enabled: bool
    has_password: bool
    version: int
    password_generation: int = 0  # ends login sessions opened before a password change or reset

    @classmethod
    def of(cls, account: Account, credentials: Credentials | None) -> AccountView:
        return cls(
            account_id=account.id,
            kind=account.kind,
            display_name=account.display_name,
            login=account.login,
            personal_id_number=account.personal_id_number,
            tax_code=account.tax_code,
            phone=account.phone,
            email=account.email,
            agency_id=account.agency_id,
            unit=account.unit,
            state=account.state,
            disable_reason=account.disable_reason,
            created_at=account.created_on,
            grants=tuple(account.grants),
            roles=account.roles,
            mfa_enabled=bool(credentials and credentials.mfa_enabled),
            has_password=bool(credentials and credentials.password_hash),
            version=account.version,
            password_generation=credentials.password_generation if credentials else 0,
        )


@dataclass(frozen=True)
class AccountPage:
    accounts: list[AccountView]
    next_page_token: str


@dataclass(frozen=True)
class AgencyView:
    agency_id: str
    name: str  # in force on the day asked about
    kind: str
    parent_agency_id: str
    valid_from: date
    valid_to: date | None
    successor_agency_id: str
    names: tuple[AgencyName, ...]
    version: int

    @classmethod
    def of(cls, agency: Agency, day: date) -> AgencyView:
        return cls(
            agency_id=agency.eid,
            name=agency.name_on(day),
            kind=agency.kind,
            parent_agency_id=agency.parent_eid,
            valid_from=agency.valid_from,
            valid_to=agency.valid_to,
            successor_agency_id=agency.successor_eid,
            names=tuple(agency.names),
            version=agency.version,
        )


@dataclass(frozen=True)
class AgencyPage:
    agencies: list[AgencyView]
    next_page_token: str
