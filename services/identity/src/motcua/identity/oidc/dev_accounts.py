"""A development account directory read from a JSON file: when MOTCUA_IDENTITY_OIDC_DEV_ACCOUNTS
names one, the OIDC provider logs people in against it instead of the service's own
accounts (demos, and tests of the protocol that need fixed people).

Each entry: ``login``, ``password`` (hashed at start, argon2id at Keycloak's default cost)
or ``password_hash``, optional ``totp_secret`` (base32: the second factor is then required),
``account_id``, ``display_name``, ``roles``, ``agency_id``, ``personal_id_number``,
``email``, ``phone``. No lockout: it is not for production.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from motcua.kernel.config import ConfigError
from motcua.kernel.errors import NotFound
from motcua.kernel.roles import APPLICANT

from .accounts import BAD_CREDENTIALS, BAD_SECOND_FACTOR, MFA_REQUIRED

# argon2id as Keycloak hashes by default: 7168 KiB, 5 iterations, 1 lane, 32 bytes.
HASHER = PasswordHasher(time_cost=5, memory_cost=7168, parallelism=1, hash_len=32, type=Type.ID)


@dataclass(frozen=True)
class DevAccount:
    account_id: UUID
    login: str
    display_name: str = ""
    roles: tuple[str, ...] = (APPLICANT,)
    agency_id: str = ""
    personal_id_number: str = ""
    email: str = ""
    phone: str = ""
    state: str = "active"
    password_hash: str = field(default="", repr=False)
    totp_secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class DevOutcome:
    reason: str = ""
    account_id: UUID | None = None
    locked_until: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return not self.reason


class DevAccounts:
    def __init__(self, accounts: list[DevAccount]) -> None:
        self.by_login = {a.login.lower(): a for a in accounts}
        self.by_id = {a.account_id: a for a in accounts}
        self.by_pin = {a.personal_id_number: a for a in accounts if a.personal_id_number}
        self._decoy = HASHER.hash("no account has this password")

    @classmethod
    def load(cls, path: Path) -> DevAccounts:
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read the development accounts {path}: {e}") from e
        accounts = []
        for entry in entries:
            password = entry.pop("password", "")
            accounts.append(DevAccount(
                account_id=UUID(entry.pop("account_id", None) or str(uuid.uuid4())),
                roles=tuple(entry.pop("roles", (APPLICANT,))),
                password_hash=entry.pop("password_hash", "") or (HASHER.hash(password) if password else ""),
                **entry,
            ))
        return cls(accounts)

    def verify_login(self, login: str, password: str, totp_code: str | None = None,
                     source_address: str = "") -> DevOutcome:
        account = self.by_login.get(login.strip().lower())
        if account is None or not account.password_hash:
            _verify(self._decoy, password)  # as long as a wrong password
            return DevOutcome(BAD_CREDENTIALS)
        if not _verify(account.password_hash, password):
            return DevOutcome(BAD_CREDENTIALS)
        if account.totp_secret:
            if not totp_code:
                return DevOutcome(MFA_REQUIRED, account.account_id)
            if not pyotp.TOTP(account.totp_secret).verify(totp_code.strip(), valid_window=1):
                return DevOutcome(BAD_SECOND_FACTOR)
        return DevOutcome(account_id=account.account_id)

    def get_account(self, account_id: UUID) -> DevAccount:
        account = self.by_id.get(account_id)
        if account is None:
            raise NotFound("Account", str(account_id))
        return account

    def find_account_by_personal_id(self, number: str) -> DevAccount | None:
        return self.by_pin.get(number.strip())


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
