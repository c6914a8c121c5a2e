"""Which domain events other services see, as integration events (protos/.../events.proto).

They carry no personal data: consumers that need contact details ask GetAccount.
"""

from __future__ import annotations

from functools import singledispatch

from google.protobuf.message import Message

from motcua.identity.v1 import events_pb2
from motcua.kernel.role_protos import role_enum

from .convert import ACCOUNT_KINDS, AGENCY_KINDS
from .domain import Account, Agency


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
