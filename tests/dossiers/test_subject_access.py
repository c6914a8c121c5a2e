"""A person's rights of access and correction over real processes (procedures, dossiers, the
gateway; PostgreSQL and Kafka): ExportSubjectData gives the person themself, or a
data-protection officer of the agencies holding their dossiers, everything the dossiers service
holds about them, as JSON and as a readable PDF in Vietnamese; anybody else is refused; every
export is recorded; after an erasure the export shows the masked fields. A correction of the
applicant's fields is a new event sealed like the originals; the register, its search and the
next export follow, and an erasure still reaches the corrected data."""

from __future__ import annotations

import hashlib
import json
import random

import grpc
import psycopg
import pytest

from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from tests.gateway.support import GatewayStarter
from tests.support import auth
from tests.support.clients import dossiers_stub
from tests.support.dossiers import applicant, submit_request
from tests.support.pdf_tools import pdf_text
from tests.support.platform import erasing_dossiers
from tests.support.procedures import unique_code

from .office import Office, fails_with
from .test_erasure import MASKED, pdf_with, published, rows_holding, seeded_person


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory):
    with erasing_dossiers(stack, tmp_path_factory.mktemp("documents")) as processes:
        yield processes


@pytest.fixture(scope="module")
def gateway(stack, processes):
    starter = GatewayStarter(stack)
    yield starter({"dossiers": processes["dossiers"], "procedures": processes["procedures"]})
    starter.stop()


def dpo(processes, agency: str):
    return dossiers_stub(processes["dossiers"],
                         auth.issue(roles=(Role.ROLE_DATA_PROTECTION_OFFICER,), agency_id=agency).access_token)


def exported_events(stack, subject_topic: str = "SubjectDataExports.Exported") -> list[tuple]:
    with psycopg.connect(stack.dsn("dossiers")) as conn:
        return conn.execute("SELECT topic, state FROM dossiers_events WHERE topic LIKE %s",
                            (f"%{subject_topic}",)).fetchall()


def test_a_person_sees_everything_held_about_them_and_nobody_else_does(stack, processes, gateway):
    procedure = published(processes, unique_code())
    office = Office(processes["dossiers"], f"000.00.{random.randrange(100):02d}.X{random.randrange(100):02d}")
    person = seeded_person()
    mine = office.citizen.SubmitDossier(submit_request(
        procedure.procedure_id, office.agency, applicant=applicant(account_id=office.citizen_id, **person))).dossier
    scan = pdf_with("scan")
    office.desk.AddAttachment(pb.AddAttachmentRequest(dossier_id=mine.dossier_id, name="Bản sao căn cước",
                                                      content=scan, content_type="application/pdf"))
    before = len(exported_events(stack))

    # The person themself: every personal field in the clear, diacritics intact, the attachment's
    # name and hash, the dossier's state and dates.
    own = office.citizen.ExportSubjectData(pb.ExportSubjectDataRequest(account_id=office.citizen_id))
    document = json.loads(own.document)
    assert own.dossiers == 1 and not own.pdf
    (dossier,) = document["dossiers"]
    assert dossier["code"] == mine.code and dossier["state"] == "submitted" and dossier["submitted_at"]
    assert {k: dossier["applicant"][k] for k in person} == person
    assert dossier["attachments"][0]["name"] == "Bản sao căn cước"
    assert dossier["attachments"][0]["sha256"] == hashlib.sha256(scan).hexdigest()

    # Recorded (who, whose, when) with nothing personal in the event.
    recorded = exported_events(stack)
    assert len(recorded) == before + 1
    assert not any(person[k].encode() in bytes(recorded[-1][1]) for k in person)

    # Anybody else: another citizen, an officer of the agency, an administrator, a data-protection
    # officer of another agency.
    request = pb.ExportSubjectDataRequest(account_id=office.citizen_id)
    stranger = dossiers_stub(processes["dossiers"], auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="").access_token)
    fails_with(grpc.StatusCode.PERMISSION_DENIED, stranger.ExportSubjectData, request)
    fails_with(grpc.StatusCode.PERMISSION_DENIED, office.desk.ExportSubjectData, request)
    admin = dossiers_stub(processes["dossiers"],
                          auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id=office.agency).access_token)
    fails_with(grpc.StatusCode.PERMISSION_DENIED, admin.ExportSubjectData, request)
    fails_with(grpc.StatusCode.PERMISSION_DENIED, dpo(processes, "000.00.99.Z98").ExportSubjectData, request)
    assert len(exported_events(stack)) == before + 1

    # Bad input names the field.
    bad = fails_with(grpc.StatusCode.INVALID_ARGUMENT, office.citizen.ExportSubjectData,
                     pb.ExportSubjectDataRequest(account_id="không phải uuid"))
    assert "account_id" in bad.details()
    fails_with(grpc.StatusCode.INVALID_ARGUMENT, office.citizen.ExportSubjectData, pb.ExportSubjectDataRequest())

    # The data-protection officer of the agency, by account.
    by_officer = dpo(processes, office.agency).ExportSubjectData(request)
    assert json.loads(by_officer.document)["dossiers"][0]["applicant"]["full_name"] == person["full_name"]


def test_an_applicant_without_an_account_is_exported_as_a_pdf_through_the_gateway_and_masked_once_erased(
        stack, processes, gateway):
    procedure = published(processes, unique_code())
    office = Office(processes["dossiers"], f"000.00.{random.randrange(100):02d}.Y{random.randrange(100):02d}")
    person = seeded_person()
    filed = office.desk.SubmitDossier(submit_request(
        procedure.procedure_id, office.agency, channel=d.SUBMISSION_CHANNEL_DESK, applicant=applicant(**person)
    )).dossier
    officer_token = auth.issue(roles=(Role.ROLE_DATA_PROTECTION_OFFICER,), agency_id=office.agency).access_token
    body = {"person": {"kind": "APPLICANT_KIND_CITIZEN", "identity_number": person["identity_number"]},
            "format": "SUBJECT_DATA_FORMAT_PDF"}
    reply = gateway.call("POST", "/v1/dataSubjects:export", body,
                         headers={"Authorization": f"Bearer {officer_token}", "Accept": "application/pdf"})
    assert reply.status == 200, reply.raw
    assert reply.content_type == "application/pdf" and reply.raw.startswith(b"%PDF-")
    text = pdf_text(reply.raw)
    for value in (person["full_name"], person["identity_number"], person["email"], filed.code):
        assert value in text, value
    assert "Thông tin cá nhân đang được lưu giữ".upper() in text

    as_json = gateway.call("POST", "/v1/dataSubjects:export", {"person": body["person"]},
                           headers={"Authorization": f"Bearer {officer_token}"})
    assert as_json.status == 200, as_json.raw
    assert json.loads(as_json.json["document"])["dossiers"][0]["applicant"]["address"] == person["address"]
    citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="").access_token
    refused = gateway.call("POST", "/v1/dataSubjects:export", {"person": body["person"]},
                           headers={"Authorization": f"Bearer {citizen}"})
    assert refused.status == 403, refused.raw

    # Erased, the export still answers, with the fields masked.
    office.desk.WithdrawDossier(pb.WithdrawDossierRequest(dossier_id=filed.dossier_id, reason="Nộp nhầm"))
    officer = dossiers_stub(processes["dossiers"], officer_token)
    officer.EraseSubject(pb.EraseSubjectRequest(person=pb.PersonWithoutAccount(
        kind=d.APPLICANT_KIND_CITIZEN, identity_number=person["identity_number"]), reason="Yêu cầu số 21/2026/YC"))
    # The erased person's register rows no longer carry their pseudonym's data, but the log still
    # names the dossier by subject: the export finds it and shows it masked.
    after = officer.ExportSubjectData(pb.ExportSubjectDataRequest(person=pb.PersonWithoutAccount(
        kind=d.APPLICANT_KIND_CITIZEN, identity_number=person["identity_number"])))
    shown = json.loads(after.document)
    assert all(v not in after.document for v in person.values())
    assert all(x["applicant"]["full_name"] == MASKED for x in shown["dossiers"])


def test_a_correction_is_sealed_shows_in_the_register_and_the_export_and_is_erased_with_the_rest(stack, processes):
    procedure = published(processes, unique_code())
    office = Office(processes["dossiers"], f"000.00.{random.randrange(100):02d}.W{random.randrange(100):02d}")
    person = seeded_person()
    filed = office.citizen.SubmitDossier(submit_request(
        procedure.procedure_id, office.agency, applicant=applicant(account_id=office.citizen_id, **person))).dossier
    officer = dpo(processes, office.agency)
    n = random.randrange(10**6)
    corrected = {"full_name": f"Hoàng Thị Xuân Quỳnh Đính Chính {n:06d}", "identity_number": f"0792{n:06d}11",
                 "phone": f"+84988{n:06d}", "email": f"quynh.dinhchinh.{n:06d}@example.vn"}

    # Bad values name their field; the applicant and officers of other agencies may not correct.
    def correction(**fields) -> pb.CorrectApplicantDetailsRequest:
        return pb.CorrectApplicantDetailsRequest(dossier_id=filed.dossier_id, **{"reason": "Sai chính tả", **fields})

    for field, value in (("phone", "12345"), ("email", "không-phải-thư"), ("full_name", "")):
        bad = fails_with(grpc.StatusCode.INVALID_ARGUMENT, officer.CorrectApplicantDetails,
                         correction(**{field: value}))
        assert field in bad.details(), bad.details()
    no_reason = fails_with(grpc.StatusCode.INVALID_ARGUMENT, officer.CorrectApplicantDetails,
                           correction(reason="", full_name="Ai đó"))
    assert "reason" in no_reason.details()
    fails_with(grpc.StatusCode.PERMISSION_DENIED, office.citizen.CorrectApplicantDetails, correction(full_name="X"))
    elsewhere = dossiers_stub(processes["dossiers"], auth.issue(roles=(Role.ROLE_SPECIALIST,),
                                                                agency_id="000.00.99.Z97").access_token)
    fails_with(grpc.StatusCode.PERMISSION_DENIED, elsewhere.CorrectApplicantDetails, correction(full_name="X"))

    # The data-protection officer corrects name, number, phone and e-mail; the handling agency's
    # officer the address.
    done = officer.CorrectApplicantDetails(correction(reason="Theo căn cước công dân bản chính", **corrected))
    assert sorted(done.corrected_fields) == sorted(corrected)
    assert done.dossier.applicant.full_name == corrected["full_name"]
    address = f"Số {n} đường Lê Duẩn, phường Bến Nghé, Thành phố Hồ Chí Minh"
    # (The reason may quote the right value: it is sealed too.)
    by_specialist = office.specialist.CorrectApplicantDetails(correction(reason=f"Địa chỉ đúng là {address}",
                                                                         address=address))
    assert list(by_specialist.corrected_fields) == ["address"]
    now = {**person, **corrected, "address": address}

    # Sealed like the originals: no event row holds a corrected value in the clear.
    assert not rows_holding(stack, now, "SELECT state FROM dossiers_events")
    # The register and its search follow: the new name without diacritics, the new number.
    shown = office.desk.GetDossier(pb.GetDossierRequest(dossier_id=filed.dossier_id)).dossier.applicant
    assert (shown.full_name, shown.phone, shown.email, shown.address) == \
        (now["full_name"], now["phone"], now["email"], address)
    found = lambda query: {x.dossier_id for x in office.desk.ListDossiers(  # noqa: E731
        pb.ListDossiersRequest(agency_id=office.agency, query=query)).dossiers}
    assert found(f"xuan quynh dinh chinh {n:06d}") == {filed.dossier_id}
    assert found(corrected["identity_number"]) == {filed.dossier_id}
    assert not found(person["identity_number"])

    # The next export shows the corrected values.
    export = json.loads(office.citizen.ExportSubjectData(
        pb.ExportSubjectDataRequest(account_id=office.citizen_id)).document)
    assert {k: export["dossiers"][0]["applicant"][k] for k in now} == now

    # Erased, nothing of either version is left: the export and the register are masked, and a
    # further correction is refused rather than writing the person back.
    office.citizen.WithdrawDossier(pb.WithdrawDossierRequest(dossier_id=filed.dossier_id, reason="Không cần nữa"))
    officer.EraseSubject(pb.EraseSubjectRequest(account_id=office.citizen_id, reason="Yêu cầu số 22/2026/YC"))
    after = officer.ExportSubjectData(pb.ExportSubjectDataRequest(account_id=office.citizen_id))
    assert not any(v in after.document for v in (*person.values(), *now.values()))
    assert json.loads(after.document)["dossiers"][0]["applicant"]["full_name"] == MASKED
    for both in (person, now):
        assert not rows_holding(stack, both, "SELECT * FROM dossiers_register")
        assert not rows_holding(stack, both, "SELECT state FROM dossiers_events")
    fails_with(grpc.StatusCode.FAILED_PRECONDITION, officer.CorrectApplicantDetails, correction(full_name="Ai đó"))
