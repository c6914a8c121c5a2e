"""Index aggregates that make logins and identifiers unique and findable.

Each is saved in the same transaction as the account it points to: a second account
with the same key collides on the index's first version. The identifier index is keyed
by a keyed hash (HMAC) of the personal identification number or tax code, computed
outside the domain: the log never holds the number itself.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


class LoginName(Aggregate):
    """Login (lower case) → account."""

    @staticmethod
    def create_id(login: str, **_: object) -> UUID:
        return uuid5(NAMESPACE_URL, f"/motcua/logins/{login}")

    @event("Registered")
    def __init__(self, login: str, account_id: UUID) -> None:
        self.account_id = account_id


class IdentifierIndex(Aggregate):
    """Keyed hash of a personal identifier (``kind`` personal_id_number or tax_code) → account."""

    @staticmethod
    def create_id(digest: str, **_: object) -> UUID:
        return uuid5(NAMESPACE_URL, f"/motcua/identifiers/{digest}")

    @event("Registered")
    def __init__(self, digest: str, kind: str, account_id: UUID) -> None:
        self.kind = kind
        self.account_id = account_id
