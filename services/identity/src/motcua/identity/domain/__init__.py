"""The identity service's aggregates. Pure: imports only eventsourcing, the standard library
and the kernel's errors.

Events hold plain values only (str, int, bool, UUID, lists and dicts of those; days as
ISO `YYYY-MM-DD` strings), so that the log reads back with eventsourcing's default
transcodings, here and in ``motcua-audit``. Secrets never reach an event in the clear:
passwords and recovery codes arrive hashed, personal identifiers are looked up by a keyed
hash, and the identity service's whole event store is encrypted (AES-GCM).
"""

from .accounts import (
    ACTIVE,
    ADMINISTRATOR,
    APPLICANT,
    AUDITOR,
    BUSINESS,
    CITIZEN,
    CREDENTIAL_OFFICER,
    DISABLED,
    GRANTABLE_ROLES,
    OFFICER,
    ROLES,
    Account,
    AccountDisabledError,
    DuplicateIdentifier,
    DuplicateLogin,
    Grant,
    Profile,
    normalize_login,
)
from .agencies import AGENCY_KINDS, Agency, AgencyClosedError, DuplicateAgency, UnknownAgency
from .credentials import Credentials, LoginAttempt
from .indexes import IdentifierIndex, LoginName

__all__ = [
    "ACTIVE",
    "ADMINISTRATOR",
    "AGENCY_KINDS",
    "APPLICANT",
    "AUDITOR",
    "BUSINESS",
    "CITIZEN",
    "CREDENTIAL_OFFICER",
    "DISABLED",
    "GRANTABLE_ROLES",
    "OFFICER",
    "ROLES",
    "Account",
    "AccountDisabledError",
    "Agency",
    "AgencyClosedError",
    "Credentials",
    "DuplicateAgency",
    "DuplicateIdentifier",
    "DuplicateLogin",
    "Grant",
    "IdentifierIndex",
    "LoginAttempt",
    "LoginName",
    "Profile",
    "UnknownAgency",
    "normalize_login",
]
