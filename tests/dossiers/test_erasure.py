"""Erasing a person (crypto-shredding) over real gRPC between real processes (procedures,
dossiers, identity; PostgreSQL and Kafka): their personal fields never reach the event table in
the clear; a data-protection officer's EraseSubject is refused while a dossier is open or a
retention period applies (naming its end), else destroys their key, masks the register and
records who and why; afterwards no table, no topic and no replay shows their data, statistics
are unchanged, and the audit hash chain still verifies."""

from __future__ import annotations

import hashlib
import random
from datetime import date
from uuid import UUID

import grpc
import psycopg
import pytest
from fpdf import FPDF
from kafka import KafkaConsumer, TopicPartition
from psycopg.sql import SQL

from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.config import DossiersConfig
from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.config import events_topic
from motcua.kernel.subject_keys import SubjectErased
from motcua.procedures.v1 import procedure_service_pb2 as ppb
from tests.audit.test_audit_cli import audit, ok
from tests.support import auth
from tests.support.clients import dossiers_stub, procedures_stub
from tests.support.dossiers import applicant, submit_request, today_in_vietnam
from tests.support.procedures import full_create_request, unique_code
from tests.support.waiting import eventually

from .office import Office, fails_with

MASKED = "[đã xóa]"
KEPT_YEARS = 10


@pytest.fixture(scope="module")
def codes():
    return {"free": unique_code(), "kept": unique_code()}


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory, codes):
    procedures = stack.service("procedures").start()
    documents = tmp_path_factory.mktemp("documents")
    dossiers = stack.service(
        "dossiers",
        MOTCUA_DOSSIERS_DOCUMENTS_DIR=str(documents),
        MOTCUA_DOSSIERS_RETENTION_YEARS="0",
        MOTCUA_DOSSIERS_RETENTION_BY_PROCEDURE=f"{codes['kept']}={KEPT_YEARS}",
    ).start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr, "documents": documents}
    for process in (dossiers, procedures):
        assert process.terminate() == 0


def published(processes, code: str):
    created = procedures_stub(processes["procedures"]).CreateProcedure(full_create_request(code=code)).procedure
    procedures_stub(processes["procedures"]).PublishProcedure(
        ppb.PublishProcedureRequest(procedure_id=created.procedure_id))
    request = pb.GetProcedureReplicaRequest(procedure_id=created.procedure_id)
    return eventually(lambda: dossiers_stub(processes["dossiers"]).GetProcedureReplica(request).procedure,
                      what="replica in dossiers")


def pdf_with(text: str) -> bytes:
    """A PDF whose page stream holds ``text`` uncompressed (as a scan's OCR layer would)."""
    document = FPDF()
    document.set_compression(False)
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text=text)
    content = bytes(document.output())
    assert text.encode() in content
    return content


def seeded_person() -> dict[str, str]:
    """A person nobody else in the session has: their data is findable only if it leaks."""
    n = random.randrange(10**6)
    return {
        "full_name": f"Hoàng Thị Xuân Quỳnh {n:06d}",
        "identity_number": f"0791{n:06d}88",
        "phone": f"0987{n:06d}",
        "email": f"quynh.{n:06d}@example.vn",
        "address": f"Số {n} đường Trần Hưng Đạo, Hà Nội",
    }


def dpo(agency: str):
    token = auth.issue(roles=(Role.ROLE_DATA_PROTECTION_OFFICER,), agency_id=agency)
    return dossiers_stub_for(token.access_token)


_addr: dict[str, str] = {}


def dossiers_stub_for(token: str):
    return dossiers_stub(_addr["dossiers"], token)


def secrets_of(person: dict[str, str]) -> list[bytes]:
    return [person[k].encode() for k in ("full_name", "identity_number", "phone", "email", "address")]


def rows_holding(stack, person: dict[str, str], sql: str) -> list[tuple]:
    with psycopg.connect(stack.dsn("dossiers")) as conn:
        rows = conn.execute(sql).fetchall()
    secrets = secrets_of(person)
    return [row for row in rows if any(s in repr(row).encode() or s in b"".join(
        bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for v in row) for s in secrets)]


def topic_records(stack, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka.bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=2000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return [record.value for batch in iter(lambda: consumer.poll(timeout_ms=1000), {}) for records in
                batch.values() for record in records]
    finally:
        consumer.close()


def test_a_person_is_erased_everywhere_while_the_log_replays_and_its_chain_verifies(stack, processes, codes):
    _addr["dossiers"] = processes["dossiers"]
    procedure = published(processes, codes["free"])
    office = Office(processes["dossiers"], f"000.00.{random.randrange(100):02d}.E{random.randrange(100):02d}")
    person = seeded_person()
    filed = [
        office.desk.SubmitDossier(submit_request(
            procedure.procedure_id, office.agency, channel=d.SUBMISSION_CHANNEL_DESK, applicant=applicant(**person)
        )).dossier
        for _ in range(2)
    ]
    # Shown to officers in the clear, stored sealed: no event row holds any of their data.
    assert office.desk.GetDossier(pb.GetDossierRequest(dossier_id=filed[0].dossier_id)).dossier.applicant.full_name \
        == person["full_name"]
    assert not rows_holding(stack, person, "SELECT state FROM dossiers_events")
    assert len(rows_holding(stack, person, "SELECT * FROM dossiers_register")) == 2
    # Officers find them by name without diacritics, and by number through its blind index (the
    # register keeps a keyed hash of the number, never the number).
    by_name = pb.ListDossiersRequest(agency_id=office.agency, query="hoang thi xuan quynh")
    by_number = pb.ListDossiersRequest(agency_id=office.agency, query=person["identity_number"])
    filed_ids = {x.dossier_id for x in filed}
    assert {x.dossier_id for x in office.desk.ListDossiers(by_name).dossiers} == filed_ids
    assert {x.dossier_id for x in office.desk.ListDossiers(by_number).dossiers} == filed_ids
    with psycopg.connect(stack.dsn("dossiers")) as conn:
        assert not conn.execute("SELECT 1 FROM dossiers_register WHERE position(%s in dossiers_register::text) > 0",
                                (person["identity_number"],)).fetchall()

    # Their attachment is kept sealed under their key, in a file of their own.
    scan = pdf_with(person["identity_number"])
    office.desk.AddAttachment(pb.AddAttachmentRequest(dossier_id=filed[0].dossier_id, name="Bản sao CCCD",
                                                      content=scan, content_type="application/pdf"))
    (kept,) = [p for p in processes["documents"].rglob("*") if p.is_file()]
    assert kept.name.startswith(hashlib.sha256(scan).hexdigest() + ".")
    assert not kept.read_bytes().startswith(b"%PDF") and person["identity_number"].encode() not in kept.read_bytes()

    erase = pb.EraseSubjectRequest(
        person=pb.PersonWithoutAccount(kind=d.APPLICANT_KIND_CITIZEN, identity_number=person["identity_number"]),
        reason="Yêu cầu xóa dữ liệu cá nhân số 07/2026/YC",
    )
    officer = dpo(office.agency)
    office.desk.WithdrawDossier(pb.WithdrawDossierRequest(dossier_id=filed[0].dossier_id, reason="Nộp nhầm"))
    still_open = fails_with(grpc.StatusCode.FAILED_PRECONDITION, officer.EraseSubject, erase)
    assert filed[1].code in still_open.details() and "still being processed" in still_open.details()
    office.desk.WithdrawDossier(pb.WithdrawDossierRequest(dossier_id=filed[1].dossier_id, reason="Nộp nhầm"))

    admin = dossiers_stub_for(auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id=office.agency).access_token)
    fails_with(grpc.StatusCode.PERMISSION_DENIED, admin.EraseSubject, erase)
    elsewhere = dpo("000.00.99.Z99")
    fails_with(grpc.StatusCode.PERMISSION_DENIED, elsewhere.EraseSubject, erase)

    today = today_in_vietnam().isoformat()
    statistics = pb.GetDossierStatisticsRequest(agency_id=office.agency, start_date=today, end_date=today)
    before = office.leader.GetDossierStatistics(statistics)

    erased = officer.EraseSubject(erase)
    assert erased.dossiers == 2

    # Masked wherever it is read: the dossier, the register, its search.
    shown = office.desk.GetDossier(pb.GetDossierRequest(dossier_id=filed[0].dossier_id)).dossier.applicant
    assert (shown.full_name, shown.identity_number, shown.phone, shown.address) == (MASKED,) * 4
    assert not office.desk.ListDossiers(by_name).dossiers and not office.desk.ListDossiers(by_number).dossiers
    assert office.leader.GetDossierStatistics(statistics) == before

    # Nothing of theirs left in the clear: event table, register, key table, the service's topic.
    for sql in ("SELECT state FROM dossiers_events", "SELECT * FROM dossiers_register",
                "SELECT * FROM dossiers_subject_keys", "SELECT * FROM dossiers_subject_erasures"):
        assert not rows_holding(stack, person, sql), sql
    for record in topic_records(stack, events_topic("dossiers")):
        assert not any(s in record for s in secrets_of(person))
    with psycopg.connect(stack.dsn("dossiers")) as conn:
        (erased_by, reason), = conn.execute("SELECT erased_by, reason FROM dossiers_subject_erasures "
                                            "WHERE subject_id LIKE 'person:%%' AND reason = %s",
                                            (erase.reason,)).fetchall()
        assert reason == erase.reason and erased_by
        last = conn.execute("SELECT max(notification_id) FROM dossiers_events").fetchone()[0]

    # A register rebuilt from the log shows them masked, as the erasure left it; their file no
    # longer opens.
    env = {"MOTCUA_DOSSIERS_DOCUMENTS_DIR": str(processes["documents"])}
    app = DossiersApplication(stack.settings("dossiers", **env), config=DossiersConfig.from_env(env))
    try:
        app.recorder.rebuild()
        rebuilt = app.recorder.query(SQL("SELECT applicant_name, applicant_phone, applicant_number_index FROM {t} "
                                         "WHERE dossier_id = ANY(%(ids)s)").format(t=app.recorder.register),
                                     {"ids": [UUID(x.dossier_id) for x in filed]})
        assert [tuple(r.values()) for r in rebuilt] == [(MASKED, MASKED, "")] * 2
        with pytest.raises(SubjectErased):
            app.attachment_content(UUID(filed[0].dossier_id), hashlib.sha256(scan).hexdigest())
    finally:
        app.close()

    # The log replays (the audit tool, without any key) and the hash chain over it verifies.
    history = ok(audit(stack, "history", "dossiers", filed[0].dossier_id, "--json"))
    assert person["full_name"] not in history and person["identity_number"] not in history

    def sealed_up_to_erasure() -> bool:
        with psycopg.connect(stack.dsn("dossiers")) as conn:
            (sealed,) = conn.execute("SELECT coalesce(max(notification_id), 0) FROM motcua_chain").fetchall()
        return bool(sealed[0] >= last)

    eventually(sealed_up_to_erasure, what="the erasure sealed in the chain")
    verified = ok(audit(stack, "verify", "--live", "--service", "dossiers"))
    assert verified.startswith("OK dossiers: ")


def test_erasure_is_refused_with_the_date_a_retention_period_ends(processes, codes):
    _addr["dossiers"] = processes["dossiers"]
    procedure = published(processes, codes["kept"])
    office = Office(processes["dossiers"], f"000.00.{random.randrange(100):02d}.R{random.randrange(100):02d}")
    dossier = office.submit(procedure)
    office.citizen.WithdrawDossier(pb.WithdrawDossierRequest(dossier_id=dossier.dossier_id, reason="Nộp nhầm"))
    today = today_in_vietnam()
    ends = date(today.year + KEPT_YEARS, today.month, min(today.day, 28 if today.month == 2 else today.day))
    refused = fails_with(grpc.StatusCode.FAILED_PRECONDITION, dpo(office.agency).EraseSubject,
                         pb.EraseSubjectRequest(account_id=office.citizen_id, reason="Yêu cầu số 08/2026/YC"))
    assert ends.isoformat() in refused.details() and dossier.code in refused.details()
    # Nothing was destroyed: the applicant still reads their data.
    mine = office.citizen.GetDossier(pb.GetDossierRequest(dossier_id=dossier.dossier_id)).dossier
    assert mine.applicant.full_name == "Nguyễn Thị Hồng Nhung"
