"""The identity domain's pure rules: agencies in time, account profiles and grants, the
login throttle's waits, configuration floors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from motcua.identity.config import IdentityConfig
from motcua.identity.domain import Account, Agency, Credentials, Profile
from motcua.identity.domain.agencies import AgencyClosedError
from motcua.identity.throttle import ThrottlePolicy
from motcua.kernel.config import ConfigError
from motcua.kernel.errors import InvalidArgument


def province() -> Agency:
    return Agency.found("000.00.00.H56", "Ủy ban nhân dân tỉnh Thanh Hóa", "province", None, date(2025, 7, 1))


def test_an_agency_answers_with_the_name_in_force_on_a_day():
    agency = province()
    agency.rename("Ủy ban nhân dân tỉnh Thanh Hoá", date(2026, 1, 1))
    assert agency.name_on(date(2025, 12, 31)) == "Ủy ban nhân dân tỉnh Thanh Hóa"
    assert agency.name_on(date(2026, 1, 1)) == agency.name == "Ủy ban nhân dân tỉnh Thanh Hoá"
    assert agency.in_force_on(date(2025, 7, 1)) and not agency.in_force_on(date(2025, 6, 30))


def test_a_closed_agency_is_out_of_force_from_its_close_date_and_changes_no_more():
    root = province()
    old = Agency.found("000.22.40.H56", "Xã Đông Sơn", "commune", root, date(2025, 7, 1))
    new = Agency.found("000.22.41.H56", "Xã Đông Tiến", "commune", root, date(2025, 7, 1))
    old.close(date(2026, 3, 1), new)
    assert (old.in_force_on(date(2026, 2, 28)), old.in_force_on(date(2026, 3, 1))) == (True, False)
    assert old.successor_eid == new.eid
    with pytest.raises(AgencyClosedError):
        old.rename("Muộn", date(2026, 4, 1))
    with pytest.raises(InvalidArgument):
        Agency.found("000.22.42.H56", "Con", "commune", old, date(2026, 3, 1))


def test_profiles_name_every_bad_field_at_once():
    with pytest.raises(InvalidArgument) as bad:
        Account.open(Profile(kind="business", display_name=" ", personal_id_number="038190001234", phone="12"))
    assert {v.field for v in bad.value.violations} == {"display_name", "personal_id_number", "tax_code", "phone"}


def test_officers_hold_the_roles_granted_to_them_and_applicants_theirs_by_kind():
    officer = Account.open(Profile(kind="officer", display_name="Lê Văn Tâm", agency_id="000.00.12.H56"))
    assert officer.roles == ()
    assert officer.grant("leader", "000.00.12.H56") and officer.grant("desk_officer", "000.00.00.H56")
    assert not officer.grant("leader", "000.00.12.H56")
    assert officer.roles == ("desk_officer", "leader")
    citizen = Account.open(Profile(kind="citizen", display_name="An", personal_id_number="038190001234"))
    assert citizen.roles == ("applicant",)


def test_a_totp_code_is_accepted_once_per_time_step():
    credentials = Credentials(account_id=Account.open(
        Profile(kind="citizen", display_name="An", personal_id_number="038190001234")).id)
    credentials.start_totp("JBSWY3DPEHPK3PXP")
    credentials.confirm_totp(100, ["h1", "h2"])
    assert credentials.use_totp(101) and not credentials.use_totp(101) and not credentials.use_totp(100)
    assert credentials.use_recovery_code("h1") and not credentials.use_recovery_code("h1")


def test_the_wait_grows_after_the_free_failures_and_locks_at_the_threshold():
    policy = ThrottlePolicy(free_failures=3, lockout_failures=6, first_delay=1, max_delay=3, lockout=900)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    waits = [policy.locked_until(n, now) for n in range(1, 8)]
    assert waits[:3] == [None, None, None]
    assert [w - now for w in waits[3:]] == [timedelta(seconds=s) for s in (1, 2, 900, 900)]
    assert ThrottlePolicy(free_failures=0, lockout_failures=99, first_delay=1, max_delay=3).locked_until(9, now) \
        == now + timedelta(seconds=3)


def test_password_hashing_cannot_be_configured_below_keycloaks_defaults(tmp_path):
    with pytest.raises(ConfigError, match="memory"):
        IdentityConfig.from_env({"MOTCUA_IDENTITY_DIR": str(tmp_path), "MOTCUA_IDENTITY_ARGON2_MEMORY": "4096"})
    stronger = IdentityConfig.from_env({"MOTCUA_IDENTITY_DIR": str(tmp_path), "MOTCUA_IDENTITY_ARGON2_ITERATIONS": "8"})
    assert stronger.argon2.iterations == 8


def test_a_throttle_policy_without_lockout_only_ever_makes_callers_wait_up_to_its_maximum():
    from datetime import datetime, timedelta

    from motcua.identity.throttle import ThrottlePolicy

    now = datetime(2026, 3, 2, tzinfo=UTC)
    spread = ThrottlePolicy(free_failures=2, lockout_failures=None, first_delay=1.0, max_delay=60.0)
    assert spread.locked_until(2, now) is None
    assert spread.locked_until(3, now) == now + timedelta(seconds=1)
    assert spread.locked_until(5, now) == now + timedelta(seconds=4)
    assert spread.locked_until(10_000, now) == now + timedelta(seconds=60)  # a long spray: still a wait
    locking = ThrottlePolicy(free_failures=2, lockout_failures=5, lockout=900.0)
    assert locking.locked_until(5, now) == now + timedelta(seconds=900)
