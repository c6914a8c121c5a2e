"""One erasure request erases a person everywhere: a data-protection officer's EraseSubject in
the dossiers service (real processes: procedures, dossiers, identity; PostgreSQL and Kafka)
publishes SubjectErased, and identity destroys its keys of that account too: the account
shows "[đã xóa]", cannot log in, and its tombstones say who erased it."""

from __future__ import annotations

import random
from uuid import UUID

import psycopg
import pytest

from motcua.dossiers.v1 import dossier_service_pb2 as pb
from motcua.identity.domain.credentials import credentials_id
from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from tests.dossiers.test_erasure import published, seeded_person
from tests.support import auth
from tests.support.clients import dossiers_stub
from tests.support.dossiers import applicant, submit_request
from tests.support.identity import unique_login, unique_personal_id
from tests.support.procedures import unique_code
from tests.support.waiting import eventually

MASKED = "[đã xóa]"


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory):
    procedures = stack.service("procedures").start()
    dossiers = stack.service("dossiers", MOTCUA_DOSSIERS_DOCUMENTS_DIR=str(tmp_path_factory.mktemp("documents")),
                             MOTCUA_DOSSIERS_RETENTION_YEARS="0").start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr}
    for process in (dossiers, procedures):
        assert process.terminate() == 0


def test_erasing_a_person_in_dossiers_erases_their_account_in_identity(stack, processes, registrar):
    person = seeded_person()
    number = unique_personal_id()
    account = registrar.CreateAccount(ipb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name=person["full_name"], personal_id_number=number,
        phone=person["phone"], email=person["email"], login=unique_login("quynh"),
        password="một mật khẩu dài")).account
    agency = f"000.00.{random.randrange(100):02d}.E{random.randrange(100):02d}"
    citizen = dossiers_stub(processes["dossiers"], auth.issue(
        roles=(Role.ROLE_APPLICANT,), agency_id="", account_id=account.account_id).access_token)
    procedure = published(processes, unique_code())
    dossier = citizen.SubmitDossier(submit_request(procedure.procedure_id, agency, applicant=applicant(
        account_id=account.account_id, full_name=person["full_name"], identity_number=number,
        phone=person["phone"]))).dossier
    citizen.WithdrawDossier(pb.WithdrawDossierRequest(dossier_id=dossier.dossier_id, reason="Nộp nhầm"))

    officer = auth.issue(roles=(Role.ROLE_DATA_PROTECTION_OFFICER,), agency_id=agency)
    dossiers_stub(processes["dossiers"], officer.access_token).EraseSubject(
        pb.EraseSubjectRequest(account_id=account.account_id, reason="Yêu cầu xóa dữ liệu số 17/2026/YC"))

    def masked() -> account_pb2.Account | None:
        found = registrar.GetAccount(ipb.GetAccountRequest(account_id=account.account_id)).account
        return found if found.display_name == MASKED else None

    erased = eventually(masked, what="the account masked in identity")
    assert (erased.personal_id_number, erased.phone, erased.email) == (MASKED, MASKED, MASKED)
    assert erased.state == account_pb2.ACCOUNT_STATE_DISABLED
    subjects = [f"account:{account.account_id}", f"credentials:{credentials_id(UUID(account.account_id))}"]
    with psycopg.connect(stack.dsn("identity")) as conn:
        keys = conn.execute("SELECT subject_id FROM identity_subject_keys WHERE subject_id = ANY(%s)",
                            (subjects,)).fetchall()
        tombstones = conn.execute("SELECT subject_id, erased_by FROM identity_subject_erasures "
                                  "WHERE subject_id = ANY(%s)", (subjects,)).fetchall()
        events = conn.execute("SELECT state FROM identity_events").fetchall()
    assert keys == []
    assert {t[0] for t in tombstones} == set(subjects)
    assert {t[1] for t in tombstones} == {officer.account_id}
    for (state,) in events:
        for secret in (number, person["phone"], person["email"]):
            assert secret.encode() not in bytes(state)
