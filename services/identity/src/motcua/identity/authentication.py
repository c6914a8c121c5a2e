"""Credentials and logins, for the OIDC endpoints and the credential RPCs.

``Authentication.verify_login`` is what a login form calls: it answers with a
``LoginOutcome`` (the account, its roles and agency; or why not), counts failures per
account and address pair, per account and per address (``throttle``), and records every
attempt, successful or not, as a ``LoginAttempt`` event in the log.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import pyotp

from motcua.kernel.client_address import current_client_address, throttle_bucket
from motcua.kernel.errors import InvalidArgument, VersionConflict

from .domain import ACTIVE, Account, Credentials, Grant, LoginAttempt, Profile, normalize_login
from .domain.credentials import CHANGED, FAILED, PASSWORD, REHASHED, RESET, SECOND_FACTOR, SUCCEEDED
from .passwords import Passwords
from .throttle import DEFAULT_ACCOUNT_POLICY, DEFAULT_SOURCE_POLICY, DEFAULT_SPREAD_POLICY, ThrottlePolicy
from .views import AccountView

if TYPE_CHECKING:  # only a type here: the application imports this module for its use cases
    from .application import IdentityApplication

# Why a login did not succeed (LoginOutcome.reason).
BAD_CREDENTIALS = "bad_credentials"  # unknown login, no password, or a wrong one
MFA_REQUIRED = "mfa_required"  # the password was right; ask for the second factor
BAD_SECOND_FACTOR = "bad_second_factor"
LOCKED = "locked"  # too many failures: try again after `locked_until`
ACCOUNT_DISABLED = "account_disabled"

RECOVERY_CODES = 10
MAX_LOGIN_LENGTH = 200
SIX_DIGITS = re.compile(r"^[0-9]{6}$")
PURGE_INTERVAL = timedelta(minutes=10)  # how often old throttle rows are looked for


@dataclass(frozen=True)
class LoginOutcome:
    reason: str = ""  # empty when the login succeeded
    account_id: UUID | None = None  # set on success and when MFA_REQUIRED
    display_name: str = ""
    roles: tuple[str, ...] = ()
    agency_id: str = ""
    grants: tuple[Grant, ...] = ()
    locked_until: datetime | None = None  # when LOCKED, or when this failure made the next wait
    second_factor: str = ""  # "totp" or "recovery_code" when one was used
    password_generation: int = 0  # of the credentials checked (login sessions end when it moves on)

    @property
    def succeeded(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class Reset:
    """Someone other than the owner resetting credentials: who (subject, home agency) and why."""

    by: str
    by_agency_id: str
    reason: str


@dataclass(frozen=True)
class TotpEnrollment:
    secret: str  # base32
    provisioning_uri: str  # otpauth://totp/...


class Authentication:
    """account_policy: per account and address pair (locks); spread_policy: per account from
    every address (delays only); source_policy: per address over every account (see throttle.py)."""

    def __init__(self, app: IdentityApplication, passwords: Passwords, min_password_length: int = 8,
                 totp_issuer: str = "motcua", account_policy: ThrottlePolicy = DEFAULT_ACCOUNT_POLICY,
                 source_policy: ThrottlePolicy = DEFAULT_SOURCE_POLICY,
                 spread_policy: ThrottlePolicy = DEFAULT_SPREAD_POLICY,
                 known_for: timedelta = timedelta(days=90)) -> None:
        self.app = app
        self.passwords = passwords
        self.min_password_length = min_password_length
        self.totp_issuer = totp_issuer
        self.account_policy = account_policy
        self.source_policy = source_policy
        self.spread_policy = spread_policy
        self.known_for = known_for
        self.throttle = app.recorder.throttle
        self._next_purge: datetime | None = None
        app.credentials = self

    # --- accounts with a password -----------------------------------------------------------

    def create_account(self, profile: Profile, password: str = "") -> AccountView:
        password_hash = self._new_password_hash(password, profile.login, "password") if password else ""
        return self.app.open_account(profile, password_hash)

    def set_password(self, account_id: UUID, new_password: str, current_password: str | None = None,
                     reset: Reset | None = None) -> AccountView:
        """With ``current_password`` the owner changes it; with ``reset``, someone else resets it
        (recorded with who and why in the same save)."""
        account = self.app.account(account_id)
        credentials = self.app.credentials_of(account_id)
        if current_password is not None:
            if not credentials.password_hash or not self.passwords.verify(credentials.password_hash, current_password):
                keys = _ThrottleKeys(self, f"account:{account.id}", current_client_address())
                for key, policy in keys.counted:
                    self.throttle.record_failure(key, policy, self.app.clock())
                raise InvalidArgument.field("current_password", "is not the account's current password")
        new_hash = self._new_password_hash(new_password, account.login, "new_password")
        credentials.set_password(new_hash, CHANGED if current_password is not None else RESET)
        if reset is not None:
            credentials.record_reset(PASSWORD, reset.by, reset.by_agency_id, reset.reason)
        self.app.save(credentials)
        return self.app.account_view(account_id)

    def _new_password_hash(self, password: str, login: str, field: str) -> str:
        if len(password) < self.min_password_length:
            raise InvalidArgument.field(field, f"must be at least {self.min_password_length} characters")
        if login and normalize_login(password) == normalize_login(login):
            raise InvalidArgument.field(field, "must not be the login")
        return self.passwords.hash(password)

    # --- second factor ----------------------------------------------------------------------

    def start_totp(self, account_id: UUID) -> TotpEnrollment:
        account = self.app.account(account_id)
        account.check_active("enrol a second factor for")
        credentials = self.app.credentials_of(account_id)
        secret = pyotp.random_base32()
        credentials.start_totp(secret)
        self.app.save(credentials)
        uri = pyotp.TOTP(secret).provisioning_uri(name=account.login or str(account.id), issuer_name=self.totp_issuer)
        return TotpEnrollment(secret, uri)

    def confirm_totp(self, account_id: UUID, code: str) -> tuple[list[str], AccountView]:
        """Confirms the pending enrolment with a current code; returns the recovery codes (once)."""
        credentials = self.app.credentials_of(account_id)
        step = self._totp_step(credentials.pending_totp_secret, code) if credentials.pending_totp_secret else None
        if credentials.pending_totp_secret and step is None:
            raise InvalidArgument.field("code", "is not the current code of the authenticator app")
        codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
        credentials.confirm_totp(step or 0, [self._recovery_hash(c) for c in codes])
        self.app.save(credentials)
        return codes, self.app.account_view(account_id)

    def disable_totp(self, account_id: UUID, reset: Reset | None = None) -> AccountView:
        """Removes the second factor: its owner, or someone else with ``reset`` (recorded)."""
        credentials = self.app.credentials_of(account_id)
        credentials.disable_totp()
        if reset is not None:
            credentials.record_reset(SECOND_FACTOR, reset.by, reset.by_agency_id, reset.reason)
        self.app.save(credentials)
        return self.app.account_view(account_id)

    # --- login ------------------------------------------------------------------------------

    def verify_login(self, login: str, password: str, totp_code: str | None = None,
                     source_address: str = "") -> LoginOutcome:
        """Checks a login (login name, or a citizen's personal id number, or a business's tax
        code) with its password and, when the account has one, its second factor."""
        now = self.app.clock()
        self._purge_now_and_then(now)
        login = normalize_login(login)[:MAX_LOGIN_LENGTH]
        account = self.app.find_account(login) if login else None
        # An unknown login is counted like an account: the throttle tells nothing about which exist.
        keys = _ThrottleKeys(self, f"account:{account.id}" if account else f"login:{login}", source_address)
        known = account is not None and self.throttle.is_known(keys.pair, now - self.known_for)
        checked = keys.checked(known=known)
        attempt = _Attempt(self, account, login, source_address, keys, checked, now)

        locked_until = self.throttle.locked_until(checked, now)
        if locked_until is not None:
            return attempt.failed(LOCKED, count=False, locked_until=locked_until)
        credentials = self.app.credentials_of(account.id) if account else None
        if credentials is None or not credentials.password_hash:
            self.passwords.waste_time(password)  # the same time as a wrong password
            return attempt.failed(BAD_CREDENTIALS)
        if not self.passwords.verify(credentials.password_hash, password):
            return attempt.failed(BAD_CREDENTIALS)
        assert account is not None
        if account.state != ACTIVE:
            return attempt.failed(ACCOUNT_DISABLED, count=False)
        second_factor = ""
        if credentials.mfa_enabled:
            if not totp_code:
                return attempt.failed(MFA_REQUIRED, count=False, account_id=account.id)
            second_factor = self._second_factor(credentials, totp_code, now)
            if not second_factor:
                return attempt.failed(BAD_SECOND_FACTOR)
        if self.passwords.needs_rehash(credentials.password_hash):
            credentials.set_password(self.passwords.hash(password), REHASHED)
        try:
            attempt.record(SUCCEEDED, "", second_factor, credentials, new_source=bool(source_address) and not known)
        except VersionConflict:  # the same code or recovery code spent concurrently
            return attempt.failed(BAD_SECOND_FACTOR)
        self.throttle.clear(keys.pair)
        self.throttle.remember(keys.pair, now)
        return LoginOutcome(account_id=account.id, display_name=account.display_name, roles=account.roles,
                            agency_id=account.agency_id, grants=tuple(account.grants), second_factor=second_factor,
                            password_generation=credentials.password_generation)

    def _second_factor(self, credentials: Credentials, code: str, now: datetime) -> str:
        """"totp" or "recovery_code" when ``code`` is a valid unused one (spent on the
        credentials, unsaved), else ""."""
        code = code.replace(" ", "").strip()
        if SIX_DIGITS.match(code):
            step = self._totp_step(credentials.totp_secret, code, now)
            return "totp" if step is not None and credentials.use_totp(step) else ""
        return "recovery_code" if credentials.use_recovery_code(self._recovery_hash(code)) else ""

    def _totp_step(self, secret: str, code: str, now: datetime | None = None) -> int | None:
        """The time step ``code`` belongs to, allowing one step of clock drift either way."""
        totp = pyotp.TOTP(secret)
        current = totp.timecode(now or self.app.clock())
        for step in (current, current - 1, current + 1):
            if hmac.compare_digest(totp.generate_otp(step), code.strip()):
                return step
        return None

    def _recovery_hash(self, code: str) -> str:
        # Recovery codes are random (50 bits): a keyed hash suffices, no need for argon2.
        return self.app.lookup.digest("recovery", code.replace("-", "").strip().lower())

    def _purge_now_and_then(self, now: datetime) -> None:
        """Deletes the throttle's rows nobody needs any more, at most every PURGE_INTERVAL (per
        process: replicas purging the same rows now and then is harmless)."""
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + PURGE_INTERVAL
        reset_after = max(p.reset_after for p in (self.account_policy, self.spread_policy, self.source_policy))
        self.throttle.purge(now - timedelta(seconds=reset_after), now - self.known_for, now)


class _ThrottleKeys:
    """The throttle's keys of one attempt, keyed hashes of ``subject`` (an account or an
    unknown login) and the address (an IPv6 one by its /64)."""

    def __init__(self, auth: Authentication, subject: str, address: str) -> None:
        digest = auth.app.lookup.digest
        bucket = throttle_bucket(address) if address else ""
        self.pair = f"pair:{digest('pair', f'{subject}|{bucket}')}"
        self.account = f"account:{digest('account', subject)}"
        self.source = f"source:{digest('source', bucket)}" if bucket else ""
        self.counted = [(self.pair, auth.account_policy), (self.account, auth.spread_policy)]
        if self.source:
            self.counted.append((self.source, auth.source_policy))

    def checked(self, known: bool) -> list[str]:
        """The keys whose waits apply: a known pair answers for its own failures only."""
        if known:
            return [self.pair]
        return [key for key, _ in self.counted]


class _Attempt:
    """One call of verify_login: records its outcome and counts its failures."""

    def __init__(self, auth: Authentication, account: Account | None, login: str, source: str,
                 keys: _ThrottleKeys, checked: list[str], now: datetime) -> None:
        self.auth, self.account, self.login, self.source, self.now = auth, account, login, source, now
        self.keys, self.checked = keys, checked

    def record(
        self, outcome: str, reason: str, second_factor: str = "", credentials: Credentials | None = None,
        new_source: bool = False,
    ) -> None:
        event = LoginAttempt(outcome=outcome, reason=reason, account_id=self.account.id if self.account else None,
                             login=self.login, source_address=self.source, second_factor=second_factor,
                             new_source=new_source)
        changed = [credentials] if credentials is not None and credentials.pending_events else []
        self.auth.app.save(event, *changed)

    def failed(self, reason: str, count: bool = True, locked_until: datetime | None = None,
               account_id: UUID | None = None) -> LoginOutcome:
        if count:
            waits = [(key, self.auth.throttle.record_failure(key, policy, self.now))
                     for key, policy in self.keys.counted]
            locked_until = max((w for key, w in waits if w is not None and key in self.checked), default=None)
        self.record(FAILED, reason)
        return LoginOutcome(reason=reason, account_id=account_id, locked_until=locked_until)


def _recovery_code() -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)
    raw = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"
