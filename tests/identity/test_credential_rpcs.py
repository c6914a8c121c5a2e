"""Credential RPCs over real gRPC: credential officers reset citizens' passwords, people change
their own
with the current one, and enrol a TOTP second factor for themselves."""

from __future__ import annotations

import grpc
import pyotp
import pytest

from motcua.identity.v1 import account_pb2, identity_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from tests.support.clients import field_violations
from tests.support.identity import identity_service_stub, token, unique_login, unique_personal_id


def failure(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


@pytest.fixture
def person(identity_addr, registrar):
    """A citizen account without a password, and a stub carrying that citizen's token."""
    account = registrar.CreateAccount(pb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name="Lê Thị Hoa", login=unique_login("hoa"),
        personal_id_number=unique_personal_id())).account
    return account, identity_service_stub(identity_addr, token(Role.ROLE_APPLICANT, account_id=account.account_id))


def test_passwords_are_reset_by_administrators_and_changed_by_their_owner(person, registrar, identity_addr):
    account, own = person
    assert not account.has_password
    reset = registrar.SetPassword(pb.SetPasswordRequest(account_id=account.account_id, new_password="tạm thời 123",
                                                         reason="Công dân quên mật khẩu"))
    assert reset.account.has_password
    error = failure(
        lambda: own.SetPassword(pb.SetPasswordRequest(account_id=account.account_id, new_password="mới mới mới"))
    )
    assert "current_password" in field_violations(error)
    error = failure(lambda: own.SetPassword(pb.SetPasswordRequest(
        account_id=account.account_id, new_password="mới mới mới", current_password="đoán bừa")))
    assert field_violations(error) == {"current_password": "is not the account's current password"}
    error = failure(lambda: own.SetPassword(pb.SetPasswordRequest(
        account_id=account.account_id, new_password="ngắn", current_password="tạm thời 123")))
    assert field_violations(error) == {"new_password": "must be at least 8 characters"}
    changed = own.SetPassword(
        pb.SetPasswordRequest(
            account_id=account.account_id, new_password="mới mới mới", current_password="tạm thời 123"
        )
    ).account
    assert changed.has_password
    stranger = identity_service_stub(identity_addr, token(Role.ROLE_APPLICANT))
    error = failure(
        lambda: stranger.SetPassword(pb.SetPasswordRequest(account_id=account.account_id, new_password="x" * 12))
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_people_enrol_a_totp_second_factor_for_themselves(person, registrar):
    account, own = person
    error = failure(lambda: registrar.StartTotpEnrollment(pb.StartTotpEnrollmentRequest(account_id=account.account_id)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    started = own.StartTotpEnrollment(pb.StartTotpEnrollmentRequest(account_id=account.account_id))
    assert started.provisioning_uri.startswith("otpauth://totp/")
    error = failure(
        lambda: own.ConfirmTotpEnrollment(pb.ConfirmTotpEnrollmentRequest(account_id=account.account_id, code="12ab56"))
    )
    assert "code" in field_violations(error)
    confirmed = own.ConfirmTotpEnrollment(pb.ConfirmTotpEnrollmentRequest(
        account_id=account.account_id, code=pyotp.TOTP(started.secret).now()))
    assert len(confirmed.recovery_codes) == 10 and confirmed.account.mfa_enabled
    again = failure(lambda: own.StartTotpEnrollment(pb.StartTotpEnrollmentRequest(account_id=account.account_id)))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    # An administrator removes it when the phone is lost.
    removed = registrar.DisableTotp(
        pb.DisableTotpRequest(account_id=account.account_id, reason="Mất điện thoại")
    ).account
    assert not removed.mfa_enabled
