"""Nothing personal where it does not belong: a seeded person's dossier goes through its life
(submitted online, received, a supplement asked for and handed in, refused; a status lookup
with a wrong phone; a submission refused for a bad field), across the procedures, dossiers and
notifications processes exporting their spans, the person also having an account in identity
and contact points in notifications; then every log file of the session, every Kafka topic,
every exported span and the raw event tables of those services and identity's are scanned for
the person's name, identification number, phone, e-mail and address, in the clear, and none
holds any (the event tables hold them sealed only)."""

from __future__ import annotations

import random

import grpc
import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition

from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb
from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.config import events_topic
from motcua.notifications.v1 import notification_service_pb2 as npb
from tests.support import auth
from tests.support.clients import notifications_stub
from tests.support.dossiers import applicant, published_full_procedure, submit_request
from tests.support.identity import identity_service_stub, province_registrar_token, seed_agencies
from tests.support.public_clients import anonymous_dossiers_stub
from tests.support.waiting import eventually

from .office import Office, fails_with


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory):
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": stack.collector.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    procedures = stack.service("procedures", **tracing).start()
    dossiers = stack.service(
        "dossiers", MOTCUA_DOSSIERS_DOCUMENTS_DIR=str(tmp_path_factory.mktemp("documents")), **tracing
    ).start()
    notifications = stack.service("notifications", **tracing).start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr, "notifications": notifications.addr}
    for process in (notifications, dossiers, procedures):
        assert process.terminate() == 0


def seeded_person() -> dict[str, str]:
    n = random.randrange(10**6)
    return {
        "full_name": f"Đặng Thị Ngọc Diệp {n:06d}",
        "identity_number": f"0012{n:06d}77",
        "phone": f"0396{n:06d}",
        "email": f"diep.{n:06d}@example.vn",
        "address": f"Số {n} phố Hàng Bạc, Hoàn Kiếm, Hà Nội",
    }


def needles(person: dict[str, str]) -> dict[str, bytes]:
    # The name also without its running number, as a log might cut it.
    return {**{k: v.encode() for k, v in person.items()}, "name": person["full_name"].rsplit(" ", 1)[0].encode()}


def found_in(blob: bytes, person: dict[str, str]) -> list[str]:
    return [what for what, needle in needles(person).items() if needle in blob]


def every_topic(stack) -> dict[str, bytes]:
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka.bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=2000)
    try:
        contents: dict[str, bytes] = {}
        for topic in sorted(consumer.topics()):
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            ends = consumer.end_offsets(partitions)
            chunks = []
            while any(consumer.position(p) < ends[p] for p in partitions):
                for records in consumer.poll(timeout_ms=1000).values():
                    chunks += [(r.key or b"") + (r.value or b"") + b"".join(v for _, v in r.headers or ())
                               for r in records]
            contents[topic] = b"\n".join(chunks)
        return contents
    finally:
        consumer.close()


def test_a_seeded_persons_data_is_in_no_log_topic_span_or_event_table(stack, processes):
    procedure = published_full_procedure(processes["procedures"], processes["dossiers"])
    office = Office(processes["dossiers"], f"000.00.{random.randrange(100):02d}.S{random.randrange(100):02d}")
    person = seeded_person()
    # Their account in identity, and where notifications reach them.
    assert seed_agencies(stack.identity.addr).returncode == 0
    registrar = identity_service_stub(stack.identity.addr, province_registrar_token())
    registrar.CreateAccount(ipb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name=person["full_name"],
        personal_id_number=person["identity_number"], phone=person["phone"], email=person["email"],
        password="một mật khẩu dài"))
    notifications_stub(processes["notifications"], auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="",
                                                              account_id=office.citizen_id).access_token
                       ).SetContactPoints(npb.SetContactPointsRequest(account_id=office.citizen_id,
                                                                      email=person["email"], phone=person["phone"]))
    mine = applicant(account_id=office.citizen_id, **person)
    dossier = office.citizen.SubmitDossier(submit_request(procedure.procedure_id, office.agency,
                                                          applicant=mine)).dossier
    office.desk.ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=dossier.dossier_id))
    office.desk.RequestSupplement(pb.RequestSupplementRequest(
        dossier_id=dossier.dossier_id,
        items=[d.SupplementItem(document="Giấy chứng sinh", problem="Thiếu bản sao có chứng thực")]))
    office.citizen.SupplementDossier(pb.SupplementDossierRequest(
        dossier_id=dossier.dossier_id, documents=[d.DossierDocument(name="Giấy chứng sinh", copies=1)]))
    office.head.RefuseDossier(pb.RefuseDossierRequest(dossier_id=dossier.dossier_id, reason="Không đủ điều kiện"))
    # Failures that carry the person's data in their requests.
    fails_with(grpc.StatusCode.NOT_FOUND, anonymous_dossiers_stub(processes["dossiers"]).LookUpDossierStatus,
               pb.LookUpDossierStatusRequest(code=dossier.code, phone="0900000000"))
    fails_with(grpc.StatusCode.INVALID_ARGUMENT, office.citizen.SubmitDossier,
               submit_request(procedure.procedure_id, office.agency, applicant=mine, channel=d.SubmissionChannel.Value(
                   "SUBMISSION_CHANNEL_UNSPECIFIED")))
    shown = office.desk.GetDossier(pb.GetDossierRequest(dossier_id=dossier.dossier_id)).dossier
    assert shown.applicant.full_name == person["full_name"]  # read back in the clear where it belongs

    # The dossier's integration events reached Kafka (refused is the last), and spans were exported.
    def published() -> dict[str, bytes] | None:
        topics = every_topic(stack)
        return topics if dossier.dossier_id.encode() in topics.get(events_topic("dossiers"), b"") else None

    topics = eventually(published, what="the dossier's events on Kafka")
    eventually(lambda: any(s.service == "dossiers" for s in stack.collector.spans), what="dossiers' spans")

    leaks: dict[str, list[str]] = {}
    for path in sorted(stack.logs.rglob("*")):
        if path.is_file() and (hits := found_in(path.read_bytes(), person)):
            leaks[f"log {path.name}"] = hits
    for topic, content in topics.items():
        if hits := found_in(content, person):
            leaks[f"topic {topic}"] = hits
    for span in stack.collector.spans:
        if hits := found_in(repr((span.name, span.attributes)).encode(), person):
            leaks[f"span {span.service} {span.name}"] = hits
    for service in ("procedures", "dossiers", "notifications", "identity"):
        with psycopg.connect(stack.dsn(service)) as conn:
            states = b"".join(bytes(row[0]) for row in conn.execute(f"SELECT state FROM {service}_events"))
        if hits := found_in(states, person):
            leaks[f"table {service}_events"] = hits
    assert not leaks, leaks
