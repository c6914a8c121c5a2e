"""One erasure request erases a person everywhere: a data-protection officer's EraseSubject in
the dossiers service (real processes: procedures, dossiers, identity; PostgreSQL and Kafka)
publishes SubjectErased, and identity destroys its keys of that account too: the account
shows "[đã xóa]", cannot log in, its tombstones say who erased it, nothing of the person is
in identity's tables, topic or an audit export of its log, and that log still verifies."""

from __future__ import annotations

import json
import random
import tarfile
from uuid import UUID

import psycopg
import pytest

from motcua.dossiers.v1 import dossier_service_pb2 as pb
from motcua.identity.domain.credentials import credentials_id
from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.config import events_topic
from tests.audit.test_audit_cli import audit, ok
from tests.dossiers.test_erasure import published, seeded_person, topic_records
from tests.support import auth
from tests.support.clients import dossiers_stub
from tests.support.dossiers import applicant, submit_request
from tests.support.identity import unique_login, unique_personal_id
from tests.support.platform import erasing_dossiers
from tests.support.procedures import unique_code
from tests.support.waiting import eventually

MASKED = "[đã xóa]"


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory):
    with erasing_dossiers(stack, tmp_path_factory.mktemp("documents")) as processes:
        yield processes


def test_erasing_a_person_in_dossiers_erases_their_account_in_identity(stack, processes, registrar, tmp_path):
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

    def erased_account() -> account_pb2.Account | None:
        # The keys go first (their own transaction), the erasure's event right after: wait for both.
        found = registrar.GetAccount(ipb.GetAccountRequest(account_id=account.account_id)).account
        return found if found.state == account_pb2.ACCOUNT_STATE_DISABLED else None

    erased = eventually(erased_account, what="the account's erasure recorded in identity")
    assert (erased.display_name, erased.personal_id_number, erased.phone, erased.email) == (MASKED,) * 4
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
    secrets = [s.encode() for s in (number, person["phone"].removeprefix("0"), person["email"], person["full_name"],
                                    json.dumps(person["full_name"])[1:-1])]
    for (state,) in events:
        assert not any(secret in bytes(state) for secret in secrets)
    # Nor in identity's topic, nor in an audit export of its log, which still verifies.
    for record in topic_records(stack, events_topic("identity")):
        assert not any(secret in record for secret in secrets)
    bundle = tmp_path / "identity.tar"
    eventually(lambda: audit(stack, "export", "--service", "identity", "-o", str(bundle)).returncode == 0,
               what="identity's log sealed and exported")
    with tarfile.open(bundle) as exported:
        for member in exported.getmembers():
            content = exported.extractfile(member).read() if member.isfile() else b""
            assert not any(secret in content for secret in secrets), member.name
    assert ok(audit(stack, "verify", "--live", "--service", "identity")).startswith("OK identity: ")
