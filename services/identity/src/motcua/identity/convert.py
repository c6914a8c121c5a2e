"""Every translation between identity's protos and the application's plain values: no rules here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from google.type import date_pb2

from motcua.identity.v1 import account_pb2, agency_pb2
from motcua.kernel.errors import InvalidArgument

# The one mapping of the Role enum is the kernel's; role_name is imported from here by the API.
from motcua.kernel.role_protos import role_enum, role_name as role_name
from motcua.kernel.timestamps import timestamp

from .domain import BUSINESS, CITIZEN, OFFICER
from .domain.accounts import ACTIVE, DISABLED
from .views import AccountView, AgencyView

ACCOUNT_KINDS = {
    CITIZEN: account_pb2.ACCOUNT_KIND_CITIZEN,
    BUSINESS: account_pb2.ACCOUNT_KIND_BUSINESS,
    OFFICER: account_pb2.ACCOUNT_KIND_OFFICER,
}
ACCOUNT_STATES = {ACTIVE: account_pb2.ACCOUNT_STATE_ACTIVE, DISABLED: account_pb2.ACCOUNT_STATE_DISABLED}
AGENCY_KINDS = {
    "province": agency_pb2.AGENCY_KIND_PROVINCE,
    "department": agency_pb2.AGENCY_KIND_DEPARTMENT,
    "service_center": agency_pb2.AGENCY_KIND_SERVICE_CENTER,
    "district": agency_pb2.AGENCY_KIND_DISTRICT,
    "commune": agency_pb2.AGENCY_KIND_COMMUNE,
}
def kind_name(kind: int, table: Mapping[str, int]) -> str | None:
    """The name of an enum value (None for UNSPECIFIED: no filter)."""
    return next((name for name, value in table.items() if value == kind), None)


def to_date(value: date_pb2.Date, field: str) -> date | None:
    """A google.type.Date as a date; None when unset (all zero)."""
    if not (value.year or value.month or value.day):
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument.field(field, "must be a full calendar date (year, month and day)") from None


def date_proto(value: date | None) -> date_pb2.Date | None:
    return None if value is None else date_pb2.Date(year=value.year, month=value.month, day=value.day)


def account_proto(view: AccountView) -> account_pb2.Account:
    return account_pb2.Account(
        account_id=str(view.account_id),
        kind=ACCOUNT_KINDS[view.kind],
        display_name=view.display_name,
        email=view.email,
        phone=view.phone,
        agency_id=view.agency_id,
        state=ACCOUNT_STATES[view.state],
        create_time=timestamp(view.created_at),
        version=view.version,
        login=view.login,
        personal_id_number=view.personal_id_number,
        tax_code=view.tax_code,
        unit=view.unit,
        grants=[account_pb2.RoleGrant(role=role_enum(g.role), agency_id=g.agency_id, grant_time=timestamp(g.granted_at))
                for g in view.grants],
        mfa_enabled=view.mfa_enabled,
        has_password=view.has_password,
        disable_reason=view.disable_reason,
    )


def agency_proto(view: AgencyView) -> agency_pb2.Agency:
    return agency_pb2.Agency(
        agency_id=view.agency_id,
        name=view.name,
        kind=AGENCY_KINDS[view.kind],
        parent_agency_id=view.parent_agency_id,
        version=view.version,
        valid_from=date_proto(view.valid_from),
        valid_to=date_proto(view.valid_to),
        successor_agency_id=view.successor_agency_id,
        names=[agency_pb2.AgencyName(name=n.name, valid_from=date_proto(n.valid_from)) for n in view.names],
    )
