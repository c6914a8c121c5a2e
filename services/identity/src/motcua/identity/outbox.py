"""Which domain events other services see, as integration events (protos/.../events.proto).

They carry no personal data: consumers that need contact details ask GetAccount.
"""

from __future__ import annotations

from functools import singledispatch

from google.protobuf.message import Message

from motcua.identity.v1 import events_pb2
from motcua.kernel.role_protos import role_enum
from motcua.kernel.timestamps import timestamp

from .convert import ACCOUNT_KINDS, AGENCY_KINDS
from .domain import Account, Agency, Credentials, LoginAttempt
from .domain.credentials import CHANGED, RESET, SUCCEEDED


@singledispatch
def integration_event(event: object) -> Message | None:
    return None  # internal to this service (credentials, logins, indexes)


@integration_event.register
def _(event: Account.Created) -> Message:
    return events_pb2.AccountCreated(account_id=str(event.originator_id), kind=ACCOUNT_KINDS[event.kind],
                                     agency_id=event.agency_id, version=event.originator_version)


@integration_event.register
def _(event: Account.Disabled) -> Message:
    return events_pb2.AccountDisabled(account_id=str(event.originator_id), reason=event.reason,
                                      version=event.originator_version)


@integration_event.register
def _(event: Account.RoleGranted) -> Message:
    return events_pb2.RoleGranted(account_id=str(event.originator_id), role=role_enum(event.role),
                                  agency_id=event.agency_id, version=event.originator_version)


@integration_event.register
def _(event: Account.RoleRevoked) -> Message:
    return events_pb2.RoleRevoked(account_id=str(event.originator_id), role=role_enum(event.role),
                                  agency_id=event.agency_id, version=event.originator_version)


@integration_event.register
def _(event: Agency.Created) -> Message:
    return events_pb2.AgencyCreated(agency_id=event.eid, name=event.name, kind=AGENCY_KINDS[event.kind],
                                    parent_agency_id=event.parent_eid, version=event.originator_version)


@integration_event.register
def _(event: Agency.Renamed) -> Message:
    return events_pb2.AgencyRenamed(agency_id=event.eid, name=event.name, effective_date=event.effective_date,
                                    version=event.originator_version)


@integration_event.register
def _(event: Agency.Closed) -> Message:
    return events_pb2.AgencyClosed(agency_id=event.eid, close_date=event.close_date,
                                   successor_agency_id=event.successor_eid, version=event.originator_version)


# Account holders hear of changes to how their account is entered: the events name the account
# alone (events recorded before they carried it stay internal).


@integration_event.register
def _(event: Credentials.PasswordSet) -> Message | None:
    account_id = getattr(event, "account_id", None)
    if account_id is None or event.reason not in (CHANGED, RESET):
        return None  # a first password or a rehash changes nothing the owner must hear of
    return events_pb2.AccountPasswordChanged(account_id=str(account_id), by_owner=event.reason == CHANGED,
                                             version=event.originator_version)


@integration_event.register
def _(event: Credentials.TotpConfirmed) -> Message | None:
    account_id = getattr(event, "account_id", None)
    if account_id is None:
        return None
    return events_pb2.AccountSecondFactorChanged(account_id=str(account_id), enabled=True,
                                                 version=event.originator_version)


@integration_event.register
def _(event: Credentials.TotpDisabled) -> Message | None:
    account_id = getattr(event, "account_id", None)
    if account_id is None:
        return None
    return events_pb2.AccountSecondFactorChanged(account_id=str(account_id), enabled=False,
                                                 version=event.originator_version)


@integration_event.register
def _(event: LoginAttempt.Recorded) -> Message | None:
    if event.outcome != SUCCEEDED or not getattr(event, "new_source", False) or event.account_id is None:
        return None
    return events_pb2.AccountSignedInFromNewAddress(account_id=str(event.account_id),
                                                    sign_in_time=timestamp(event.timestamp),
                                                    second_factor=event.second_factor)
