"""What an account logs in with, and the audit trail of logins.

Only hashes of passwords and recovery codes reach the events; the TOTP secret must stay
readable to check codes, so it relies on the encrypted event store like the rest of the
personal data. Hashing and code checks happen outside the domain (argon2, pyotp).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.kernel.errors import InvalidArgument, InvalidTransition

# Why a password was set.
INITIAL = "initial"
CHANGED = "changed"  # by its owner, with the current password
RESET = "reset"  # by someone else: an administrator (officers) or a credential officer
# What a reset by someone else changed (CredentialsReset.what).
PASSWORD = "password"
SECOND_FACTOR = "second_factor"
MAX_RESET_REASON_LENGTH = 1000
REHASHED = "rehashed"  # same password, stronger hashing parameters

SUCCEEDED = "succeeded"
FAILED = "failed"


class Credentials(Aggregate):
    """The password hash and second factor of one account (its id derives from the account's)."""

    # The @event decorator defines these event classes at run time; declared here for the type
    # checker alone (the outbox maps them to integration events).
    if TYPE_CHECKING:
        class PasswordSet(Aggregate.Event):
            reason: str
            account_id: UUID | None

        class TotpConfirmed(Aggregate.Event):
            account_id: UUID | None

        class TotpDisabled(Aggregate.Event):
            account_id: UUID | None

    # How many times the password was changed or reset: login sessions opened under an earlier
    # generation are over. A class default, so that snapshots taken before it existed load.
    password_generation = 0

    @staticmethod
    def create_id(account_id: UUID, **_: object) -> UUID:
        return credentials_id(account_id)

    @event("Opened")
    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.password_hash = ""
        self.totp_secret = ""  # confirmed second factor
        self.pending_totp_secret = ""  # enrolment started, not confirmed yet
        self.recovery_code_hashes: list[str] = []
        self.last_totp_step = 0  # a code's time step is accepted once (no replay)

    @property
    def mfa_enabled(self) -> bool:
        return bool(self.totp_secret)

    def set_password(self, password_hash: str, reason: str) -> None:
        self._password_set(password_hash=password_hash, reason=reason, account_id=self.account_id)

    # ``account_id`` on the events other services hear of (the account's credentials have an
    # id of their own); None in events recorded before it was carried.
    @event("PasswordSet")
    def _password_set(self, password_hash: str, reason: str, account_id: UUID | None = None) -> None:
        self.password_hash = password_hash
        if reason in (CHANGED, RESET):
            self.password_generation += 1

    def record_reset(self, what: str, by: str, by_agency_id: str, reason: str) -> None:
        """The audit trail of a reset by someone other than the owner: who, from which agency,
        and why (recorded with the change itself, in the same save)."""
        if not reason.strip():
            raise InvalidArgument.field("reason", "must say why someone else's credentials are reset")
        if len(reason) > MAX_RESET_REASON_LENGTH:
            raise InvalidArgument.field("reason", f"must be at most {MAX_RESET_REASON_LENGTH} characters")
        self._reset(what=what, by=by, by_agency_id=by_agency_id, reason=reason.strip())

    @event("CredentialsReset")
    def _reset(self, what: str, by: str, by_agency_id: str, reason: str) -> None:
        pass  # the audit trail only: the change itself is its own event beside this one

    def start_totp(self, secret: str) -> None:
        if self.mfa_enabled:
            raise MfaStateError(f"credentials of {self.account_id}", "TOTP enabled", "start TOTP enrolment")
        self._totp_started(secret=secret)

    @event("TotpEnrollmentStarted")
    def _totp_started(self, secret: str) -> None:
        self.pending_totp_secret = secret

    def confirm_totp(self, step: int, recovery_code_hashes: list[str]) -> None:
        if not self.pending_totp_secret:
            raise MfaStateError(f"credentials of {self.account_id}", "without a TOTP enrolment", "confirm TOTP")
        self._totp_confirmed(step=step, recovery_code_hashes=recovery_code_hashes, account_id=self.account_id)

    @event("TotpConfirmed")
    def _totp_confirmed(self, step: int, recovery_code_hashes: list[str], account_id: UUID | None = None) -> None:
        self.totp_secret = self.pending_totp_secret
        self.pending_totp_secret = ""
        self.recovery_code_hashes = list(recovery_code_hashes)
        self.last_totp_step = step

    def disable_totp(self) -> None:
        if not self.mfa_enabled and not self.pending_totp_secret:
            raise MfaStateError(f"credentials of {self.account_id}", "without a second factor", "disable TOTP")
        self._totp_disabled(account_id=self.account_id)

    @event("TotpDisabled")
    def _totp_disabled(self, account_id: UUID | None = None) -> None:
        self.totp_secret = ""
        self.pending_totp_secret = ""
        self.recovery_code_hashes = []
        self.last_totp_step = 0

    def use_totp(self, step: int) -> bool:
        """Records the time step of an accepted code; False for a step already used (a replay)."""
        if step <= self.last_totp_step:
            return False
        self._totp_used(step=step)
        return True

    @event("TotpCodeUsed")
    def _totp_used(self, step: int) -> None:
        self.last_totp_step = step

    def use_recovery_code(self, code_hash: str) -> bool:
        """Spends a recovery code; False when it is not one of the unused ones."""
        if code_hash not in self.recovery_code_hashes:
            return False
        self._recovery_code_used(code_hash=code_hash)
        return True

    @event("RecoveryCodeUsed")
    def _recovery_code_used(self, code_hash: str) -> None:
        self.recovery_code_hashes = [h for h in self.recovery_code_hashes if h != code_hash]


def credentials_id(account_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"/motcua/credentials/{account_id}")


class LoginAttempt(Aggregate):
    """One login attempt, successful or not: the audit trail of logins (one event each,
    so that attempts never contend for an aggregate)."""

    if TYPE_CHECKING:  # defined by @event at run time, as above
        class Recorded(Aggregate.Created):
            outcome: str
            account_id: UUID | None
            second_factor: str
            new_source: bool

    @event("Recorded")
    def __init__(self, outcome: str, reason: str, account_id: UUID | None, login: str, source_address: str,
                 second_factor: str, new_source: bool = False) -> None:
        self.outcome = outcome
        self.reason = reason
        self.account_id = account_id
        self.login = login
        self.source_address = source_address
        self.second_factor = second_factor  # "", "totp" or "recovery_code"
        # A success from an address (an IPv4 address, an IPv6 /64) the account had not logged
        # in from for the throttle's memory of known pairs: its owner is told.
        self.new_source = new_source


class MfaStateError(InvalidTransition):
    """The second factor is not in a state that allows this."""
