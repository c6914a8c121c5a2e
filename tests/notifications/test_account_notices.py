"""Account holders hear of their password and second factor changing, and of a login from a new
address, at once on every channel they can be reached on: real identity (the session's) →
its integration events on Kafka → notifications → a real SMTP server and the SMS provider's
simulator. Identity's events name the account alone; the addresses are notifications' own."""

from __future__ import annotations

import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage

import pyotp
import pytest

from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.identity.oidc_support import Browser, LoginForm
from tests.support import auth
from tests.support.clients import notifications_stub
from tests.support.identity import identity_service_stub, province_registrar_token, seed_agencies, unique_personal_id
from tests.support.waiting import eventually

from .conftest import sending_service

Channel = notification_pb2.Channel
PASSWORD = "Mật-khẩu-đầu-tiên-2026"
PORTAL = "motcua-portal"  # the development OIDC client of the session's identity
PORTAL_REDIRECT = "http://127.0.0.1:5173/callback"


@pytest.fixture(scope="module")
def service(stack, notifications_db, smtp, provider):
    process = sending_service(
        stack, notifications_db, smtp, provider,
        # Quiet all day: account notices are urgent and go out anyway.
        MOTCUA_NOTIFY_QUIET_HOURS="00:00-23:59",
    ).start()
    yield process
    assert process.terminate() == 0


@pytest.fixture(scope="module")
def identity(stack):
    seeded = seed_agencies(stack.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    return identity_service_stub(stack.identity.addr, province_registrar_token())


def emails_to(smtp, address: str) -> list[EmailMessage]:
    with smtp._arrived:
        contents = [content for recipients, content in smtp.messages if address in recipients]
    return [message_from_bytes(content, policy=policy.default) for content in contents]


def inbox(stub, account: str) -> list:
    request = pb.ListNotificationsRequest(recipient_account_id=account, channel=Channel.CHANNEL_IN_APP)
    return list(stub.ListNotifications(request).notifications)


def authorize_url(stack) -> str:
    return (f"http://127.0.0.1:{stack.identity_http_port}/oauth2/authorize?response_type=code&client_id={PORTAL}"
            f"&redirect_uri={PORTAL_REDIRECT}&scope=openid&state={uuid.uuid4().hex}"
            f"&code_challenge={'a' * 43}&code_challenge_method=S256")


def test_password_second_factor_and_new_address_notices_reach_every_channel_at_once(
        stack, service, identity, smtp, provider):
    number = unique_personal_id()
    account = identity.CreateAccount(ipb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name="Phạm Thị Thu Hương", personal_id_number=number)).account
    account_id = account.account_id
    email, phone = f"huong.{uuid.uuid4().hex[:8]}@example.vn", "09" + str(uuid.uuid4().int)[:8]
    own = notifications_stub(service.addr, auth.issue(roles=(Role.ROLE_APPLICANT,), account_id=account_id,
                                                      display_name="Phạm Thị Thu Hương").access_token)
    own.SetContactPoints(pb.SetContactPointsRequest(account_id=account_id, email=email, phone=phone))

    # Reset by a credential officer: the owner hears of it by e-mail and SMS together.
    identity.SetPassword(ipb.SetPasswordRequest(account_id=account_id, new_password=PASSWORD,
                                                reason="Công dân quên mật khẩu"))
    letter = smtp.wait_for(email)
    assert letter["subject"] == "Mật khẩu tài khoản Dịch vụ công đã được thay đổi"
    text = letter.get_body(("plain",)).get_content()
    assert "đã được cán bộ thay đổi lúc" in text and "Bộ phận Một cửa" in text
    (sms,) = provider.wait_requests(phone, 1)
    assert sms["Content"].startswith("Mat khau tai khoan DVC da duoc thay doi luc ")
    assert sms["Content"].isascii() and len(sms["Content"]) <= 160  # one segment
    assert account_id not in str(sms) and number not in str(sms)  # names the account to nobody

    # The owner changes it with the current one.
    owner = identity_service_stub(stack.identity.addr, auth.issue(
        roles=(Role.ROLE_APPLICANT,), account_id=account_id, ttl_seconds=3600).access_token)
    owner.SetPassword(ipb.SetPasswordRequest(account_id=account_id, new_password="Mật-khẩu-mới-2026",
                                             current_password=PASSWORD))
    eventually(lambda: len(emails_to(smtp, email)) == 2, what="the owner's change's e-mail")
    assert "đã được chính Ông/Bà thay đổi" in emails_to(smtp, email)[1].get_body(("plain",)).get_content()
    provider.wait_requests(phone, 2)

    # A login from an address the account never used: a notice; the same address again: none
    # (counted once the notices after them have come).
    for _ in range(2):
        browser = Browser()
        form = browser.login_form(authorize_url(stack))
        answer = browser.submit(form, login=number, password="Mật-khẩu-mới-2026")
        assert answer.status_code == 302, LoginForm(answer).error
    eventually(lambda: "Đăng nhập mới vào tài khoản Dịch vụ công" in [m["subject"] for m in emails_to(smtp, email)],
               what="the new sign-in notice")
    provider.wait_requests(phone, 3)

    # The owner turns a second factor on.
    started = owner.StartTotpEnrollment(ipb.StartTotpEnrollmentRequest(account_id=account_id))
    secret = pyotp.parse_uri(started.provisioning_uri).secret
    owner.ConfirmTotpEnrollment(ipb.ConfirmTotpEnrollmentRequest(account_id=account_id,
                                                                 code=pyotp.TOTP(secret).now()))
    eventually(lambda: len(emails_to(smtp, email)) == 4, what="the second factor's e-mail")
    turned_on = emails_to(smtp, email)[3]
    assert turned_on["subject"] == "Xác thực hai lớp tài khoản Dịch vụ công đã được bật"
    assert "Xác thực hai lớp của tài khoản đã được bật" in turned_on.get_body(("html",)).get_content()
    provider.wait_requests(phone, 4)

    # The owner turns the second factor off; by then the logins' notices are in (relayed before).
    owner.DisableTotp(ipb.DisableTotpRequest(account_id=account_id))
    eventually(lambda: "Xác thực hai lớp tài khoản Dịch vụ công đã bị tắt" in [m["subject"] for m in
                                                                            emails_to(smtp, email)],
               what="the second factor turned off")
    subjects = [m["subject"] for m in emails_to(smtp, email)]
    assert subjects.count("Đăng nhập mới vào tài khoản Dịch vụ công") == 1, subjects

    # Each notice in the inbox too, in Vietnamese.
    notices = eventually(lambda: found if len(found := inbox(own, account_id)) == 5 else None,
                         what="five notices in the inbox")
    titles = {notice.subject for notice in notices}
    assert titles == {"Mật khẩu tài khoản Dịch vụ công đã được thay đổi",
                      "Xác thực hai lớp tài khoản Dịch vụ công đã được bật",
                      "Xác thực hai lớp tài khoản Dịch vụ công đã bị tắt",
                      "Đăng nhập mới vào tài khoản Dịch vụ công"}
