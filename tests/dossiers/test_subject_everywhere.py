"""A person's data is exported and erased wherever the platform holds it, over real processes
(procedures, dossiers, identity, notifications; PostgreSQL and Kafka): ExportSubjectData adds
identity's account (profile, role grants, sign-in history) and notifications' contact points and
notices (with their delivery states) to the dossiers, in the JSON and in the Vietnamese PDF; each
service decides for itself whether the caller may see its part. EraseSubject reaches a person
who has an account and notices but no dossier; a person the platform holds nothing about is
NOT_FOUND."""

from __future__ import annotations

import json
import random
import uuid

import grpc
import pytest
from kafka import KafkaAdminClient

from motcua.devstack import free_port
from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb
from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as npb
from tests.identity.oidc_support import Browser
from tests.notifications.conftest import _deleted_groups
from tests.support import auth
from tests.support.clients import dossiers_stub, notifications_stub
from tests.support.dossiers import applicant, submit_request
from tests.support.identity import (
    PROVINCE,
    identity_service_stub,
    province_registrar_token,
    seed_agencies,
    unique_login,
    unique_personal_id,
)
from tests.support.procedures import unique_code
from tests.support.waiting import eventually

from .office import fails_with
from .test_erasure import MASKED, published, seeded_person
from .test_subject_access import pdf_text

PASSWORD = "Mật khẩu rất dài của Quỳnh 2026"
# A district agency of the sample tree: its data-protection officer covers its dossiers only.
DISTRICT = "000.00.10.H56"


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory):
    seeded = seed_agencies(stack.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    database = f"motcua_notifications_everywhere{uuid.uuid4().hex[:6]}"
    stack.postgres.create_database(database)
    # Its agency-tree replica starts empty: it must read identity's topic from the start, not
    # from where another module's notifications service left the group (identity publishes each
    # agency once), to know the tree's top.
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka.bootstrap)
    try:
        eventually(lambda: _deleted_groups(admin), what="the broker's group coordinator")
    finally:
        admin.close()
    notifications = stack.service("notifications", POSTGRES_DBNAME=database,
                                  MOTCUA_HTTP_ADDR=f"127.0.0.1:{free_port()}",
                                  MOTCUA_NOTIFY_QUIET_HOURS="off").start(timeout=180)
    procedures = stack.service("procedures").start()
    dossiers = stack.service("dossiers", MOTCUA_DOSSIERS_DOCUMENTS_DIR=str(tmp_path_factory.mktemp("documents")),
                             MOTCUA_DOSSIERS_RETENTION_YEARS="0", MOTCUA_IDENTITY_ADDR=stack.identity.addr,
                             MOTCUA_NOTIFICATIONS_ADDR=notifications.addr).start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr, "notifications": notifications.addr,
           "identity": stack.identity.addr, "identity_http": f"http://127.0.0.1:{stack.identity_http_port}"}
    for process in (dossiers, procedures, notifications):
        assert process.terminate() == 0


def registrar(processes):
    return identity_service_stub(processes["identity"], province_registrar_token())


def citizen_account(processes, person: dict[str, str]) -> str:
    return registrar(processes).CreateAccount(ipb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name=person["full_name"],
        personal_id_number=unique_personal_id(), phone=person["phone"], email=person["email"],
        login=unique_login("quynh"), password=PASSWORD)).account.account_id


def signs_in(processes, login: str, password: str) -> int:
    """The login page's answer to a person signing in with a password (302: signed in)."""
    issuer = processes["identity_http"]
    url = (f"{issuer}/oauth2/authorize?response_type=code&client_id=motcua-portal"
           f"&redirect_uri=http://127.0.0.1:5173/callback&scope=openid&state={uuid.uuid4().hex}"
           f"&code_challenge={'a' * 43}&code_challenge_method=S256")
    browser = Browser()
    return browser.submit(browser.login_form(url), login=login, password=password).status_code


def notified(processes, account_id: str, name: str) -> str:
    """An e-mail and an in-app notice to the account, naming ``name``; their template's subject."""
    admin = notifications_stub(processes["notifications"], auth.issue(
        roles=(Role.ROLE_ADMINISTRATOR,), agency_id=PROVINCE).access_token)
    subject = f"Thông báo {uuid.uuid4().hex[:6]} cho {{{{ten}}}}"
    for channel in (notification_pb2.CHANNEL_IN_APP, notification_pb2.CHANNEL_EMAIL):
        template_id = admin.CreateTemplate(npb.CreateTemplateRequest(
            key=f"thong_bao_{uuid.uuid4().hex[:8]}", channel=channel, subject=subject,
            body="Kính gửi ông/bà {{ten}}, hồ sơ của ông/bà đã sẵn sàng.")).template.template_id
        admin.SendNotification(npb.SendNotificationRequest(
            recipient_account_id=account_id, template_id=template_id, parameters={"ten": name}))
    return subject.replace("{{ten}}", name)


def dpo(processes, agency: str):
    return dossiers_stub(processes["dossiers"], auth.issue(
        roles=(Role.ROLE_DATA_PROTECTION_OFFICER,), agency_id=agency).access_token)


def test_the_export_holds_the_account_its_sign_ins_and_the_notices_and_each_service_decides(processes):
    person = seeded_person()
    account_id = citizen_account(processes, person)
    login = registrar(processes).GetAccount(ipb.GetAccountRequest(account_id=account_id)).account.login
    assert signs_in(processes, login, "sai mật khẩu") == 401
    assert signs_in(processes, login, PASSWORD) == 302
    own = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", account_id=account_id).access_token
    notifications_stub(processes["notifications"], own).SetContactPoints(npb.SetContactPointsRequest(
        account_id=account_id, email=person["email"], phone=person["phone"]))
    subject = notified(processes, account_id, person["full_name"])
    procedure = published(processes, unique_code())
    dossiers_stub(processes["dossiers"], own).SubmitDossier(submit_request(
        procedure.procedure_id, DISTRICT, applicant=applicant(account_id=account_id, **person)))

    def exported():
        document = json.loads(dossiers_stub(processes["dossiers"], own).ExportSubjectData(
            pb.ExportSubjectDataRequest(account_id=account_id)).document)
        mine = [n for n in document["notifications"]["notifications"] if n["subject"] == subject]
        assert len(mine) == 2, [(n["channel"], n["state"], n["subject"]) for n in mine]
        return document

    # The person themself: the dossier, the account as identity holds it, both sign-ins, the
    # contact points and both notices in the clear, with their channels and states.
    document = eventually(exported, what="both notices in the person's export")
    assert document["not_gathered"] == []
    assert [d["applicant"]["full_name"] for d in document["dossiers"]] == [person["full_name"]]
    account = document["account"]["account"]
    assert (account["display_name"], account["phone"], account["email"], account["login"]) == (
        person["full_name"], person["phone"], person["email"], login)
    assert [(s["outcome"], s["login"]) for s in document["account"]["sign_ins"]] == [
        ("failed", login), ("succeeded", login)]
    contacts = document["notifications"]["contact_points"]
    assert contacts["email"] == person["email"]
    notices = document["notifications"]["notifications"]
    mine = [n for n in notices if n["subject"] == subject]
    assert {n["channel"] for n in mine} == {"in_app", "email"}
    assert all(person["full_name"] in n["body"] and n["state"] for n in mine)
    # Identity's notice of the sign-in from a new address is the person's too.
    assert len(notices) == 3

    # A data-protection officer of the whole province: the same, also as a Vietnamese PDF.
    province = dpo(processes, PROVINCE).ExportSubjectData(pb.ExportSubjectDataRequest(
        account_id=account_id, format=pb.SUBJECT_DATA_FORMAT_PDF))
    assert json.loads(province.document)["account"] == document["account"]
    text = " ".join(pdf_text(province.pdf).split())
    for expected in ("Tài khoản", person["full_name"], "Lịch sử đăng nhập (2 lần)", "Thành công",
                     "Không thành công", "Thông báo", subject, "Trong ứng dụng", person["email"]):
        assert expected in text, expected

    # The district's officer covers the dossier, but not a citizen's account (no agency's):
    # identity refuses, and no part of the export is given.
    refused = fails_with(grpc.StatusCode.PERMISSION_DENIED, lambda: dpo(processes, DISTRICT).ExportSubjectData(
        pb.ExportSubjectDataRequest(account_id=account_id)))
    assert "identity" in (refused.details() or "")


def test_a_person_with_an_account_and_notices_but_no_dossier_is_erased_everywhere(processes):
    person = seeded_person()
    account_id = citizen_account(processes, person)
    own = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", account_id=account_id).access_token
    notifications_stub(processes["notifications"], own).SetContactPoints(npb.SetContactPointsRequest(
        account_id=account_id, email=person["email"]))
    notified(processes, account_id, person["full_name"])
    eventually(lambda: notifications_stub(processes["notifications"], own).ListNotifications(
        npb.ListNotificationsRequest(recipient_account_id=account_id)).notifications, what="the notices in the inbox")

    # An officer of one district may not erase a citizen's account held province-wide.
    fails_with(grpc.StatusCode.PERMISSION_DENIED, lambda: dpo(processes, DISTRICT).EraseSubject(
        pb.EraseSubjectRequest(account_id=account_id, reason="Yêu cầu xóa số 18/2026/YC")))
    erased = dpo(processes, PROVINCE).EraseSubject(
        pb.EraseSubjectRequest(account_id=account_id, reason="Yêu cầu xóa số 18/2026/YC"))
    assert erased.dossiers == 0

    def masked_account():
        found = registrar(processes).GetAccount(ipb.GetAccountRequest(account_id=account_id)).account
        return found if found.state == account_pb2.ACCOUNT_STATE_DISABLED else None

    account = eventually(masked_account, what="the erasure recorded in identity")
    assert (account.display_name, account.phone, account.email) == (MASKED,) * 3

    def masked_inbox():
        rows = notifications_stub(processes["notifications"], own).ListNotifications(
            npb.ListNotificationsRequest(recipient_account_id=account_id)).notifications
        return rows if rows and all(n.subject == MASKED and n.body == MASKED for n in rows) else None

    eventually(masked_inbox, what="the inbox masked by notifications")
    # The export now shows the person erased everywhere.
    document = json.loads(dpo(processes, PROVINCE).ExportSubjectData(
        pb.ExportSubjectDataRequest(account_id=account_id)).document)
    assert document["account"]["account"]["display_name"] == MASKED
    assert document["notifications"]["contact_points"]["email"] == MASKED
    assert {n["body"] for n in document["notifications"]["notifications"]} == {MASKED}


def test_a_person_the_platform_holds_nothing_about_is_not_found(processes):
    nobody = str(uuid.uuid4())
    province = dpo(processes, PROVINCE)
    fails_with(grpc.StatusCode.NOT_FOUND, lambda: province.EraseSubject(
        pb.EraseSubjectRequest(account_id=nobody, reason="Yêu cầu xóa số 19/2026/YC")))
    fails_with(grpc.StatusCode.NOT_FOUND, lambda: province.ExportSubjectData(
        pb.ExportSubjectDataRequest(account_id=nobody)))
    fails_with(grpc.StatusCode.NOT_FOUND, lambda: province.EraseSubject(pb.EraseSubjectRequest(
        person=pb.PersonWithoutAccount(kind=d.APPLICANT_KIND_CITIZEN,
                                       identity_number=f"0791{random.randrange(10**8):08d}"),
        reason="Yêu cầu xóa số 20/2026/YC")))



def test_a_person_without_an_account_is_exported_by_their_agencys_officer_with_notifications_asked(processes):
    person = seeded_person()
    procedure = published(processes, unique_code())
    desk = dossiers_stub(processes["dossiers"], auth.issue(roles=(Role.ROLE_DESK_OFFICER,),
                                                           agency_id=DISTRICT).access_token)
    filed = desk.SubmitDossier(submit_request(procedure.procedure_id, DISTRICT, channel=d.SUBMISSION_CHANNEL_DESK,
                                              applicant=applicant(**person))).dossier
    desk.ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=filed.dossier_id))
    named = pb.ExportSubjectDataRequest(person=pb.PersonWithoutAccount(
        kind=d.APPLICANT_KIND_CITIZEN, identity_number=person["identity_number"]))

    # The district's data-protection officer covers the dossier, and so whatever notifications
    # holds about its applicant (no account: no notice in an inbox, no contact points).
    document = json.loads(dpo(processes, DISTRICT).ExportSubjectData(named).document)
    assert document["account"] is None and document["not_gathered"] == []
    assert document["notifications"] == {"contact_points": None, "notifications": []}
    assert [x["dossier_id"] for x in document["dossiers"]] == [filed.dossier_id]
