"""An applicant hears of the fees due on reception; an overdue dossier reaches the head of its
agency (a leader granted in the real identity service, known to notifications from identity's
events) besides the officer holding it, on every channel at once and whatever the hour."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf import timestamp_pb2

from motcua.dossiers.v1 import events_pb2
from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as pb
from tests.support import auth
from tests.support.clients import notifications_stub
from tests.support.identity import identity_service_stub, province_registrar_token, seed_agencies, unique_login
from tests.support.waiting import eventually

from .conftest import sending_service

Channel = notification_pb2.Channel
AGENCY = "000.00.12.H56"  # in the sample agency tree


@pytest.fixture(scope="module")
def service(stack, notifications_db, smtp, provider):
    process = sending_service(
        stack, notifications_db, smtp, provider,
        MOTCUA_NOTIFY_QUIET_HOURS="off",
    ).start()
    yield process
    assert process.terminate() == 0


def stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromDatetime(moment)
    return value


def stub_of(service, account_id: str, role=Role.ROLE_APPLICANT, agency: str = ""):
    return notifications_stub(service.addr, auth.issue(roles=(role,), agency_id=agency, account_id=account_id,
                                                       display_name="Nguyễn Văn Bình").access_token)


def inbox(stub, account: str) -> list:
    request = pb.ListNotificationsRequest(recipient_account_id=account, channel=Channel.CHANNEL_IN_APP)
    return list(stub.ListNotifications(request).notifications)


def phone() -> str:
    return "09" + str(uuid.uuid4().int)[:8]


def test_the_applicant_hears_of_the_fees_due_on_reception(service, smtp, dossier_events):
    applicant = str(uuid.uuid4())
    own = stub_of(service, applicant)
    email = f"binh.{uuid.uuid4().hex[:8]}@example.vn"
    own.SetContactPoints(pb.SetContactPointsRequest(account_id=applicant, email=email))
    code = "000.00.12.H56-260105-0101"
    dossier_events.send(dossier_events.received(applicant, datetime.now(UTC) + timedelta(days=10), code=code,
                                                fee_due_vnd=1_500_000))
    notices = eventually(lambda: found if len(found := inbox(own, applicant)) == 2 else None,
                         what="the receipt and the fee notice")
    (fee,) = [n for n in notices if n.subject == f"Hồ sơ {code}: phí, lệ phí cần nộp"]
    assert "1.500.000 đồng" in fee.body
    eventually(lambda: smtp.count_to(email) == 2, what="both e-mails")

    # Free of charge: the receipt alone.
    free = "000.00.12.H56-260105-0102"
    dossier_events.send(dossier_events.received(applicant, datetime.now(UTC) + timedelta(days=10), code=free))
    eventually(lambda: smtp.count_to(email) == 3, what="the free dossier's receipt")
    assert [n.subject for n in inbox(own, applicant) if free in n.subject] == [f"Hồ sơ {free} đã được tiếp nhận"]


def test_an_overdue_dossier_reaches_the_head_of_its_agency_and_the_assignee_everywhere_at_once(
        stack, service, smtp, provider, dossier_events):
    seeded = seed_agencies(stack.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    identity = identity_service_stub(stack.identity.addr, province_registrar_token())
    head = identity.CreateAccount(ipb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_OFFICER, display_name="Trần Quốc Đạt", agency_id=AGENCY,
        login=unique_login("lanhdao"))).account.account_id
    head_email = f"lanh.dao.{uuid.uuid4().hex[:8]}@hanam.gov.vn"
    head_stub = stub_of(service, head, Role.ROLE_LEADER, AGENCY)
    head_stub.SetContactPoints(pb.SetContactPointsRequest(account_id=head, email=head_email))
    identity.GrantRole(ipb.GrantRoleRequest(account_id=head, role=Role.ROLE_LEADER, agency_id=AGENCY))
    # Published after the grant (identity relays its log in order): once this notice is out,
    # the grant has been seen.
    identity.SetPassword(ipb.SetPasswordRequest(account_id=head, new_password="Mật-khẩu-lãnh-đạo-2026",
                                                reason="Cấp mật khẩu ban đầu"))
    smtp.wait_for(head_email)

    assignee = str(uuid.uuid4())
    assignee_stub = stub_of(service, assignee, Role.ROLE_SPECIALIST, AGENCY)
    assignee_email, assignee_phone = f"chuyen.vien.{uuid.uuid4().hex[:8]}@hanam.gov.vn", phone()
    assignee_stub.SetContactPoints(pb.SetContactPointsRequest(account_id=assignee, email=assignee_email,
                                                              phone=assignee_phone))
    dossier_id, code = str(uuid.uuid4()), "000.00.12.H56-260105-0103"
    dossier_events.send(dossier_events.assigned(dossier_id, str(uuid.uuid4()), code, AGENCY, AGENCY, assignee))
    overdue = events_pb2.DossierOverdue(
        dossier=events_pb2.DossierRef(dossier_id=dossier_id, code=code, procedure_id=str(uuid.uuid4()),
                                      procedure_version=1, agency_id=AGENCY, handling_agency_id=AGENCY, version=6),
        due_time=stamp(datetime(2026, 1, 9, 10, tzinfo=UTC)))
    dossier_events.send(dossier_events.about(overdue))

    headline = f"Hồ sơ {code} quá hạn"
    (notice,) = eventually(lambda: [n for n in inbox(head_stub, head) if n.subject == headline],
                           what="the head's overdue notice")
    assert "09/01/2026" in notice.body
    eventually(lambda: smtp.count_to(head_email) == 2, what="the head's overdue e-mail")
    # The assignee: the assignment by SMS (the first channel that reaches them), the overdue
    # notice urgent, so by SMS and e-mail at once (not one after the other on failure).
    overdue_mail = smtp.wait_for(assignee_email)
    assert overdue_mail["subject"] == headline
    texts = sorted(request["Content"] for request in provider.wait_requests(assignee_phone, 2))
    assert texts[0].startswith(f"Ho so {code} da qua han giai quyet (han 09/01/2026)")
    assert texts[1].startswith(f"Ho so {code} duoc giao cho dong chi xu ly")

    # No longer the head: the next overdue dossier is the assignee's alone.
    identity.RevokeRole(ipb.RevokeRoleRequest(account_id=head, role=Role.ROLE_LEADER, agency_id=AGENCY))
    identity.SetPassword(ipb.SetPasswordRequest(account_id=head, new_password="Mật-khẩu-mới-lãnh-đạo-2026",
                                                reason="Đổi mật khẩu"))
    eventually(lambda: smtp.count_to(head_email) == 3, what="the head's second password notice")
    later_id, later = str(uuid.uuid4()), "000.00.12.H56-260105-0104"
    dossier_events.send(dossier_events.assigned(later_id, str(uuid.uuid4()), later, AGENCY, AGENCY, assignee))
    overdue.dossier.dossier_id, overdue.dossier.code = later_id, later
    dossier_events.send(dossier_events.about(overdue))
    eventually(lambda: len(provider.requests_for(assignee_phone)) == 4, what="the later dossier's SMS")
    eventually(lambda: smtp.count_to(assignee_email) == 2, what="the later overdue's e-mail")
    assert smtp.count_to(head_email) == 3
    assert not [n for n in inbox(head_stub, head) if later in n.subject]
