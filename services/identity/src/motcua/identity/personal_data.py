"""Which fields of identity's events are personal data, and whose key seals them.

Each account is a data subject, ``account:<account id>``: its name, login, personal id
number or tax code, phone and e-mail (the account's creation), and its login name in the
login index. The secrets of its credentials (password hash, TOTP secret) are sealed under a
second key of the same account, ``credentials:<credentials id>``: a credentials aggregate's
later events do not name the account, and its id is derived from the account's
(``credentials_id``), so erasing the account destroys both. A login attempt is sealed under
the account it named, or, for a login that matched no account, under a key of the attempt
alone. The identifier index holds a keyed hash (HMAC) of the number, never the number, and
stays as it is: login by personal id number or tax code still finds the account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic

from motcua.kernel.subject_keys import PersonalField

from .domain import Account, Credentials, LoginAttempt, LoginName
from .domain.credentials import credentials_id


def account_subject(account_id: UUID | str) -> str:
    return f"account:{account_id}"


def credentials_subject(credentials: UUID | str) -> str:
    return f"credentials:{credentials}"


def subjects_of_account(account_id: UUID) -> tuple[str, ...]:
    """Every subject whose key holds the account's data: what erasing the account destroys."""
    return account_subject(account_id), credentials_subject(credentials_id(account_id))


def _the_account(originator_id: Any, _: Mapping[str, Any]) -> str:
    return account_subject(originator_id)


def _the_credentials(originator_id: Any, _: Mapping[str, Any]) -> str:
    return credentials_subject(originator_id)


def _the_named_account(_: Any, value: Mapping[str, Any]) -> str:
    return account_subject(value["account_id"]) if value.get("account_id") else ""


def _the_attempts_account(originator_id: Any, value: Mapping[str, Any]) -> str:
    account_id = value.get("account_id")
    return account_subject(account_id) if account_id else f"login-attempt:{originator_id}"


def _credentials_snapshot(originator_id: Any, value: Mapping[str, Any]) -> str:
    # Only credentials are snapshotted here (IdentityApplication.snapshotting_intervals).
    return credentials_subject(originator_id) if "totp_secret" in value else ""


ACCOUNT_FIELDS = ("display_name", "login", "personal_id_number", "tax_code", "phone", "email")
CREDENTIAL_SECRETS = ("password_hash", "totp_secret", "pending_totp_secret")

PERSONAL_FIELDS: Mapping[str, tuple[PersonalField, ...]] = {
    get_topic(Account.Created): (PersonalField("", ACCOUNT_FIELDS, subject_of=_the_account),),
    get_topic(Account.ContactDetailsCorrected): (
        PersonalField("", ("phone", "email"), subject_of=_the_account),),
    get_topic(LoginName.Registered): (  # type: ignore[attr-defined]
        PersonalField("", ("login",), subject_of=_the_named_account),),
    get_topic(Credentials.PasswordSet): (
        PersonalField("", ("password_hash",), subject_of=_the_credentials),),
    get_topic(Credentials.TotpEnrollmentStarted): (  # type: ignore[attr-defined]
        PersonalField("", ("secret",), subject_of=_the_credentials),),
    get_topic(LoginAttempt.Recorded): (
        PersonalField("", ("login", "source_address"), subject_of=_the_attempts_account),),
    get_topic(Snapshot): (PersonalField("state", CREDENTIAL_SECRETS, subject_of=_credentials_snapshot),),
}
