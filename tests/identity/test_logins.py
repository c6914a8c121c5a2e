"""Credentials and logins: the application API the OIDC endpoints call (verify_login), on a
real PostgreSQL (a database of its own) with a clock the tests move instead of waiting.

Covers argon2id hashes, logins by login name or personal id number, the TOTP second
factor with replay protection and one-time recovery codes, growing waits and lockouts per
account and per source address, and an audit event for every attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pyotp
import pytest
from eventsourcing.utils import get_topic
from psycopg.sql import SQL

from motcua.identity.authentication import (
    ACCOUNT_DISABLED,
    BAD_CREDENTIALS,
    BAD_SECOND_FACTOR,
    LOCKED,
    MFA_REQUIRED,
)
from motcua.identity.bootstrap import build_application
from motcua.identity.config import IdentityConfig
from motcua.identity.domain import Credentials, LoginAttempt, Profile
from motcua.identity.domain.credentials import credentials_id
from motcua.kernel.context import Actor, Grant, acting_as
from motcua.kernel.errors import InvalidArgument
from tests.support.identity import unique_login, unique_personal_id

PASSWORD = "Mật khẩu rất dài 2026"
AGENCY = "000.00.12.H56"
# The application authorizes its callers: these tests set up as the province's administrator
# and a credential officer, as the API's callers would be.
ADMINISTRATOR = Actor(subject="test:administrator", agency_id=AGENCY, roles=("administrator",),
                      grants=(Grant("administrator", AGENCY),))
CREDENTIAL_OFFICER = Actor(subject="test:credential-officer", agency_id=AGENCY, roles=("credential_officer",),
                           grants=(Grant("credential_officer", AGENCY),))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def identity(stack, tmp_path_factory):
    database = "motcua_identity_logins"
    stack.postgres.create_database(database)
    settings = stack.settings("identity", POSTGRES_DBNAME=database)
    config = IdentityConfig.from_env({
        "MOTCUA_IDENTITY_DIR": str(tmp_path_factory.mktemp("identity")),
        "MOTCUA_IDENTITY_LOGIN_FREE_FAILURES": "2",
        "MOTCUA_IDENTITY_LOGIN_LOCKOUT_FAILURES": "5",
        "MOTCUA_IDENTITY_LOGIN_DELAY": "10",
        "MOTCUA_IDENTITY_LOGIN_MAX_DELAY": "30",
        "MOTCUA_IDENTITY_LOGIN_LOCKOUT": "900",
        "MOTCUA_IDENTITY_SOURCE_FREE_FAILURES": "3",
        "MOTCUA_IDENTITY_SOURCE_LOCKOUT_FAILURES": "50",
    })
    clock = Clock()
    app, auth = build_application(settings, config, clock)
    with acting_as(ADMINISTRATOR):
        app.create_agency(AGENCY, "Sở Tài chính", "province", valid_from=clock().date())
    try:
        yield app, auth, clock
    finally:
        app.close()


def citizen(auth, login: str = "", password: str = PASSWORD) -> UUID:
    view = auth.create_account(Profile(kind="citizen", display_name="Nguyễn Văn An", login=login,
                                       personal_id_number=unique_personal_id()), password)
    return view.account_id


def attempts(app, account_id: UUID) -> list[tuple[str, str, str]]:
    """(outcome, reason, second factor) of every recorded login attempt on the account, in order."""
    # The event class is made by @event("Recorded") when the aggregate class is created.
    topic = get_topic(LoginAttempt.Recorded)
    found = []
    for notification in app.recorder.select_notifications(start=1, limit=100_000, topics=[topic]):
        event = app.mapper.to_domain_event(notification)
        if event.account_id == account_id:
            found.append((event.outcome, event.reason, event.second_factor))
    return found


def test_passwords_are_argon2id_hashes_with_keycloaks_parameters(identity):
    app, auth, _ = identity
    account_id = citizen(auth, unique_login())
    credentials = app.repository.get(credentials_id(account_id))
    assert credentials.password_hash.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    (opened, password_set) = app.events.get(credentials_id(account_id))
    assert set(vars(password_set)) >= {"password_hash", "reason"}
    assert PASSWORD not in repr(vars(password_set))
    with pytest.raises(InvalidArgument) as short:
        auth.create_account(Profile(kind="citizen", display_name="Lý Thị Mai",
                                    personal_id_number=unique_personal_id()), "ngắn")
    assert short.value.violations[0].field == "password"


def test_a_login_by_name_or_personal_id_number_answers_with_roles_and_agency(identity):
    app, auth, _ = identity
    officer = auth.create_account(Profile(kind="officer", display_name="Trịnh Văn Sơn", login=unique_login("son"),
                                          agency_id=AGENCY), PASSWORD)
    with acting_as(ADMINISTRATOR):
        app.grant_role(officer.account_id, "specialist", AGENCY)
        app.grant_role(officer.account_id, "desk_officer", AGENCY)
    outcome = auth.verify_login(officer.login.upper(), PASSWORD, source_address="203.0.113.7")
    assert outcome.succeeded
    assert (outcome.account_id, outcome.roles, outcome.agency_id) == \
        (officer.account_id, ("desk_officer", "specialist"), AGENCY)
    number = unique_personal_id()
    person = auth.create_account(
        Profile(kind="citizen", display_name="Đỗ Thị Yến", personal_id_number=number), PASSWORD
    )
    by_number = auth.verify_login(number, PASSWORD)
    assert (by_number.account_id, by_number.roles, by_number.agency_id) == (person.account_id, ("applicant",), "")
    assert app.find_account_by_personal_id(number).account_id == person.account_id
    assert app.find_account_by_personal_id(unique_personal_id()) is None
    assert not auth.verify_login("nobody.here", PASSWORD).succeeded


def test_failures_make_an_account_wait_longer_and_then_lock_it(identity):
    app, auth, clock = identity
    login = unique_login()
    account_id = citizen(auth, login)
    for _ in range(2):  # the free failures
        outcome = auth.verify_login(login, "sai mật khẩu")
        assert (outcome.reason, outcome.locked_until) == (BAD_CREDENTIALS, None)
    third = auth.verify_login(login, "sai mật khẩu")
    assert third.locked_until == clock() + timedelta(seconds=10)
    # While it waits, even the right password is not checked.
    assert auth.verify_login(login, PASSWORD).reason == LOCKED
    clock.advance(10)
    assert auth.verify_login(login, "sai").locked_until == clock() + timedelta(seconds=20)  # doubled
    clock.advance(20)
    fifth = auth.verify_login(login, "sai")
    assert fifth.locked_until == clock() + timedelta(seconds=900)  # locked out
    clock.advance(899)
    locked = auth.verify_login(login, PASSWORD)
    assert (locked.reason, locked.locked_until) == (LOCKED, fifth.locked_until)
    clock.advance(1)
    assert auth.verify_login(login, PASSWORD).succeeded
    # A success starts the count again.
    assert auth.verify_login(login, "sai").locked_until is None
    reasons = [reason for _, reason, _ in attempts(app, account_id)]
    assert reasons == [BAD_CREDENTIALS] * 3 + [LOCKED] + [BAD_CREDENTIALS] * 2 + [LOCKED, "", BAD_CREDENTIALS]


def test_one_source_address_trying_many_logins_has_to_wait(identity):
    _, auth, clock = identity
    address = "198.51.100.23"
    victim = unique_login()
    citizen(auth, victim)
    for _ in range(3):
        assert auth.verify_login(unique_login("guess"), "123456", source_address=address).locked_until is None
    assert auth.verify_login(unique_login("guess"), "123456", source_address=address).locked_until is not None
    assert auth.verify_login(victim, PASSWORD, source_address=address).reason == LOCKED
    assert auth.verify_login(victim, PASSWORD, source_address="198.51.100.24").succeeded
    clock.advance(10)
    assert auth.verify_login(victim, PASSWORD, source_address=address).succeeded


def test_a_second_factor_with_replay_protection_and_one_time_recovery_codes(identity):
    app, auth, clock = identity
    login = unique_login()
    account_id = citizen(auth, login)
    enrollment = auth.start_totp(account_id)
    assert enrollment.provisioning_uri.startswith("otpauth://totp/") and "issuer=motcua" in enrollment.provisioning_uri
    totp = pyotp.TOTP(enrollment.secret)
    assert auth.verify_login(login, PASSWORD).succeeded  # not required until confirmed
    with pytest.raises(InvalidArgument):
        auth.confirm_totp(account_id, "000000" if totp.at(clock()) != "000000" else "111111")
    codes, view = auth.confirm_totp(account_id, totp.at(clock()))
    assert view.mfa_enabled and len(codes) == 10 and len(set(codes)) == 10
    stored = app.repository.get(credentials_id(account_id))
    assert not set(codes) & set(stored.recovery_code_hashes)  # kept hashed only

    clock.advance(30)
    required = auth.verify_login(login, PASSWORD)
    assert (required.reason, required.account_id) == (MFA_REQUIRED, account_id)
    assert auth.verify_login(login, PASSWORD, totp_code="12345x").reason == BAD_SECOND_FACTOR
    code = totp.at(clock())
    assert auth.verify_login(login, PASSWORD, totp_code=code).second_factor == "totp"
    assert auth.verify_login(login, PASSWORD, totp_code=code).reason == BAD_SECOND_FACTOR  # replayed
    assert auth.verify_login(login, PASSWORD, totp_code=codes[0].upper()).second_factor == "recovery_code"
    assert auth.verify_login(login, PASSWORD, totp_code=codes[0]).reason == BAD_SECOND_FACTOR  # spent
    assert auth.verify_login(login, "sai", totp_code=totp.at(clock() + timedelta(seconds=30))).reason == BAD_CREDENTIALS
    assert attempts(app, account_id) == [
        ("succeeded", "", ""), ("failed", MFA_REQUIRED, ""), ("failed", BAD_SECOND_FACTOR, ""),
        ("succeeded", "", "totp"), ("failed", BAD_SECOND_FACTOR, ""), ("succeeded", "", "recovery_code"),
        ("failed", BAD_SECOND_FACTOR, ""), ("failed", BAD_CREDENTIALS, ""),
    ]
    auth.disable_totp(account_id)
    assert auth.verify_login(login, PASSWORD).succeeded


def test_disabled_accounts_cannot_log_in_and_passwords_change_with_the_current_one(identity):
    app, auth, _ = identity
    login = unique_login()
    account_id = citizen(auth, login)
    with pytest.raises(InvalidArgument) as wrong:
        auth.set_password(account_id, "mật khẩu mới dài", current_password="không đúng")
    assert wrong.value.violations[0].field == "current_password"
    auth.set_password(account_id, "mật khẩu mới dài", current_password=PASSWORD)
    assert not auth.verify_login(login, PASSWORD).succeeded
    assert auth.verify_login(login, "mật khẩu mới dài").succeeded
    reasons = [e.reason for e in app.events.get(credentials_id(account_id)) if hasattr(e, "reason")]
    assert reasons == ["initial", "changed"]
    with acting_as(CREDENTIAL_OFFICER):
        app.disable_account(account_id, "Yêu cầu của chủ tài khoản")
    assert auth.verify_login(login, "mật khẩu mới dài").reason == ACCOUNT_DISABLED
    assert isinstance(app.repository.get(credentials_id(account_id)), Credentials)


def test_an_address_an_account_logged_in_from_is_not_locked_by_other_peoples_failures(identity):
    _, auth, _ = identity
    office = "100.64.1.1"  # one address for a whole office (NAT)
    owner, newcomer = unique_login("owner"), unique_login("newcomer")
    citizen(auth, owner)
    citizen(auth, newcomer)
    assert auth.verify_login(owner, PASSWORD, source_address=office).succeeded
    for _ in range(4):  # more than the address's free failures: it has to wait
        auth.verify_login(unique_login("guess"), "123456", source_address=office)
    assert auth.verify_login(newcomer, PASSWORD, source_address=office).reason == LOCKED
    assert auth.verify_login(owner, PASSWORD, source_address=office).succeeded


def test_failures_spread_over_many_addresses_delay_new_addresses_and_never_lock_the_account(identity):
    _, auth, clock = identity
    owner = unique_login("owner")
    citizen(auth, owner)
    assert auth.verify_login(owner, PASSWORD, source_address="100.64.2.1").succeeded
    for i in range(21):  # one failure from each address: no pair waits, the account's 21st failure does
        assert auth.verify_login(owner, "sai", source_address=f"100.64.3.{i}").reason == BAD_CREDENTIALS
    waiting = auth.verify_login(owner, PASSWORD, source_address="100.64.2.2")
    assert (waiting.reason, waiting.locked_until) == (LOCKED, clock() + timedelta(seconds=10))
    assert auth.verify_login(owner, PASSWORD, source_address="100.64.2.1").succeeded  # known: not delayed
    clock.advance(10)
    assert auth.verify_login(owner, PASSWORD, source_address="100.64.2.2").succeeded


def test_throttle_rows_are_keyed_hashes_and_old_ones_are_purged(identity):
    app, auth, clock = identity
    throttle = app.recorder.throttle
    login, address, home = unique_login("purged"), "100.64.4.1", "100.64.4.2"
    account_id = citizen(auth, login)
    auth.verify_login(login, "sai", source_address=address)
    auth.verify_login(login, PASSWORD, source_address=home)

    def rows() -> set[str]:
        with throttle.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT key FROM {t} UNION ALL SELECT key FROM {k}").format(
                t=throttle.table, k=throttle.known_table))
            return {row["key"] for row in curs.fetchall()}

    before = rows()
    source_key = f"source:{app.lookup.digest('source', address)}"
    known_pair = f"pair:{app.lookup.digest('pair', f'account:{account_id}|{home}')}"
    assert {source_key, known_pair} <= before
    assert not any(address in key or login in key or str(account_id) in key for key in before)
    clock.advance(43200 + 600)  # older than MOTCUA_IDENTITY_LOGIN_FAILURE_RESET, and the next purge is due
    auth.verify_login(unique_login("later"), "sai", source_address="100.64.4.3")
    after = rows()
    assert source_key not in after
    assert known_pair in after  # the address the account logged in from is kept for 90 days
