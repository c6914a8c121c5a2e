"""The auditor API (motcua.audit.v1.AuditService), served by each real service over its own log
and through the gateway's REST: a dossier's history by code, filters, the agency subtree of the
caller's grant, refusals, a trace across services, and the CLI's API mode."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import psycopg
import pytest
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from motcua.audit.v1 import audit_service_pb2 as apb, audit_service_pb2_grpc
from motcua.dossiers.v1 import dossier_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from tests.gateway.support import GatewayStarter
from tests.support import auth
from tests.support.auth import authorized_channel
from tests.support.clients import dossiers_stub, error_reason, new_traceparent
from tests.support.dossiers import applicant, published_full_procedure, submit_request
from tests.support.identity import PROVINCE, seed_agencies
from tests.support.waiting import eventually

AGENCY = "000.00.13.H56"  # Sở Nông nghiệp và Môi trường, under the province in the sample tree
SIBLING = "000.00.10.H56"  # Sở Tư pháp, another department of the province
APPLICANT_NAME = "Lê Thị Ánh Tuyết"
# A document name of the submission: Vietnamese that is not personal, so it is shown as recorded
# (the applicant's name is sealed under their key: auditors see it sealed).
DOCUMENT_NAME = "Tờ khai đăng ký khai sinh"


def audit_stub(addr: str, token: str) -> audit_service_pb2_grpc.AuditServiceStub:
    return audit_service_pb2_grpc.AuditServiceStub(authorized_channel(addr, token))


def auditor(agency_id: str) -> str:
    return auth.issue(roles=(Role.ROLE_AUDITOR,), agency_id=agency_id, ttl_seconds=3600).access_token


def stamp(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


@pytest.fixture(scope="module")
def processes(stack):
    seeded = seed_agencies(stack.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    started = {name: stack.service(name).start() for name in ("procedures", "dossiers", "notifications")}
    yield {"identity": stack.identity.addr, **{name: p.addr for name, p in started.items()}}
    for process in started.values():
        assert process.terminate() == 0


def consumed_by_notifications(stack) -> int:
    """The last position of the dossiers' log the notifications service has consumed."""
    with psycopg.connect(stack.dsn("notifications")) as conn:
        row = conn.execute("SELECT max(notification_id) FROM notifications_tracking "
                           "WHERE application_name LIKE 'motcua.dossiers.events.v1:%'").fetchone()
    return (row[0] if row else None) or 0


@pytest.fixture(scope="module")
def story(stack, processes):
    """A citizen submits a dossier to AGENCY; a desk officer of AGENCY receives it, in a trace of
    its own. Waits until the dossiers' replica knows the tree and the indexes hold the events."""
    procedure_id = published_full_procedure(processes["procedures"], processes["dossiers"]).procedure_id
    citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name=APPLICANT_NAME)
    dossier = dossiers_stub(processes["dossiers"], citizen.access_token).SubmitDossier(submit_request(
        procedure_id, AGENCY, applicant=applicant(account_id=citizen.account_id, full_name=APPLICANT_NAME))).dossier
    province = audit_stub(processes["dossiers"], auditor(PROVINCE))
    submitted = eventually(lambda: province.ListEvents(apb.ListEventsRequest(
        service="dossiers", aggregate_id=dossier.dossier_id)).events[0], what="the submission indexed")
    # The reception's effect in notifications must be recorded in its own trace: a consumer
    # applying several events in one batch records them under the batch's trace, so the
    # submission is let through first.
    eventually(lambda: consumed_by_notifications(stack) >= submitted.position,
               what="notifications consumed the submission")
    desk = auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=AGENCY, display_name="Trần Văn Bình")
    traceparent, trace_id = new_traceparent()
    received = dossiers_stub(processes["dossiers"], desk.access_token).ReceiveDossier(
        pb.ReceiveDossierRequest(dossier_id=dossier.dossier_id), metadata=(("traceparent", traceparent),)).dossier

    def whole_history() -> list[apb.RecordedEvent]:
        events = province.ListEvents(apb.ListEventsRequest(service="dossiers", dossier_code=received.code)).events
        return list(events) if len(events) >= 2 else []

    eventually(whole_history, what="the dossier's events indexed and visible to the province's auditor")
    return {"dossier": received, "citizen": citizen.account_id, "desk": desk.account_id, "trace_id": trace_id}


def test_an_auditor_of_the_province_reads_a_dossier_s_history_by_its_code(processes, story):
    province = audit_stub(processes["dossiers"], auditor(PROVINCE))
    events = province.ListEvents(apb.ListEventsRequest(service="dossiers", dossier_code=story["dossier"].code)).events
    assert [e.version for e in events] == list(range(1, len(events) + 1))
    assert {e.aggregate_id for e in events} == {story["dossier"].dossier_id}
    submitted, received = events[0], next(e for e in events if e.event_type.endswith("Received"))
    assert submitted.actor == story["citizen"] and submitted.agency_id == ""
    assert submitted.data["code"] == story["dossier"].code
    recorded = json.dumps(json_format.MessageToDict(submitted.data), ensure_ascii=False)
    assert DOCUMENT_NAME in recorded and APPLICANT_NAME not in recorded
    assert received.actor == story["desk"] and received.agency_id == AGENCY
    assert received.traceparent.split("-")[1] == story["trace_id"]
    assert received.record_time.ToDatetime(UTC) <= datetime.now(UTC)
    assert received.position > submitted.position


def test_filters_by_actor_type_and_time_window(processes, story):
    province = audit_stub(processes["dossiers"], auditor(PROVINCE))
    code = story["dossier"].code
    by_desk = province.ListEvents(apb.ListEventsRequest(service="dossiers", dossier_code=code,
                                                        actor=story["desk"])).events
    assert by_desk and {e.actor for e in by_desk} == {story["desk"]}
    received_type = next(e.event_type for e in by_desk if e.event_type.endswith("Received"))
    of_type = province.ListEvents(apb.ListEventsRequest(service="dossiers", event_type=received_type,
                                                        aggregate_id=story["dossier"].dossier_id)).events
    assert [e.event_type for e in of_type] == [received_type]
    moment = of_type[0].record_time.ToDatetime(UTC)
    window = province.ListEvents(apb.ListEventsRequest(
        service="dossiers", dossier_code=code, start_time=stamp(moment),
        end_time=stamp(moment + timedelta(microseconds=1)))).events
    assert [e.position for e in window] == [of_type[0].position]
    later = province.ListEvents(apb.ListEventsRequest(
        service="dossiers", dossier_code=code, start_time=stamp(moment + timedelta(seconds=1)))).events
    assert all(e.record_time.ToDatetime(UTC) >= moment + timedelta(seconds=1) for e in later)
    first = province.ListEvents(apb.ListEventsRequest(service="dossiers", dossier_code=code, page_size=1))
    second = province.ListEvents(apb.ListEventsRequest(service="dossiers", dossier_code=code, page_size=1,
                                                       page_token=first.next_page_token))
    assert second.events[0].position > first.events[0].position


def test_an_auditor_sees_only_events_of_agencies_in_their_subtree(processes, story):
    code = story["dossier"].code
    own = audit_stub(processes["dossiers"], auditor(AGENCY)).ListEvents(
        apb.ListEventsRequest(service="dossiers", dossier_code=code)).events
    # The department's auditor: its desk officer's acts, not the citizen's (recorded for no agency).
    assert own and {e.agency_id for e in own} == {AGENCY}
    sibling = audit_stub(processes["dossiers"], auditor(SIBLING)).ListEvents(
        apb.ListEventsRequest(service="dossiers", dossier_code=code)).events
    assert list(sibling) == []
    # An agency of one's subtree may be asked for, whether or not it recorded anything yet.
    province = audit_stub(processes["dossiers"], auditor(PROVINCE))
    assert {e.agency_id for e in province.ListEvents(
        apb.ListEventsRequest(service="dossiers", agency_id=SIBLING)).events} <= {SIBLING}
    by_agency = province.ListEvents(apb.ListEventsRequest(service="dossiers", agency_id=AGENCY,
                                                          aggregate_id=story["dossier"].dossier_id)).events
    assert by_agency and {e.agency_id for e in by_agency} == {AGENCY}
    refused = audit_stub(processes["dossiers"], auditor(SIBLING))
    assert error_reason(lambda: refused.ListEvents(
        apb.ListEventsRequest(service="dossiers", agency_id=AGENCY))) == "AGENCY_SCOPE"


def test_citizens_and_officers_are_refused(processes, story):
    citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="").access_token
    officer = auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=AGENCY).access_token
    for token in (citizen, officer):
        with pytest.raises(grpc.RpcError) as refused:
            audit_stub(processes["dossiers"], token).ListEvents(
                apb.ListEventsRequest(service="dossiers", dossier_code=story["dossier"].code))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_code_unknown_or_asked_of_another_service_is_a_clear_error(processes, story):
    province = audit_stub(processes["dossiers"], auditor(PROVINCE))
    with pytest.raises(grpc.RpcError) as unknown:
        province.ListEvents(apb.ListEventsRequest(service="dossiers", dossier_code="000.00.13.H56-990101-9999"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as elsewhere:
        audit_stub(processes["procedures"], auditor(PROVINCE)).ListEvents(
            apb.ListEventsRequest(service="procedures", dossier_code=story["dossier"].code))
    assert elsewhere.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as misrouted:
        province.ListEvents(apb.ListEventsRequest(service="procedures"))
    assert misrouted.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_every_service_serves_its_chain_status(processes, story):
    for service in ("identity", "procedures", "dossiers", "notifications"):
        status = audit_stub(processes[service], auditor(PROVINCE)).GetChainStatus(
            apb.GetChainStatusRequest(service=service))
        assert status.service == service
        assert status.last_position >= status.sealed_position
        assert status.unsealed_events == 0 or status.sealed_position < status.last_position


def test_a_trace_spans_dossiers_and_notifications(processes, story):
    def in_service(service: str) -> list[apb.RecordedEvent]:
        return list(audit_stub(processes[service], auditor(PROVINCE)).ListEvents(
            apb.ListEventsRequest(service=service, trace_id=story["trace_id"])).events)

    assert {e.event_type.split(".")[-1] for e in in_service("dossiers")} >= {"Received"}
    notified = eventually(lambda: in_service("notifications"), what="the notification's events in the trace")
    assert all(e.traceparent.split("-")[1] == story["trace_id"] for e in notified)


@pytest.fixture(scope="module")
def gateway(stack, processes):
    starter = GatewayStarter(stack)
    yield starter(processes)
    starter.stop()


def test_the_gateway_routes_the_audit_api_to_the_service_named_in_the_path(processes, story, gateway):
    headers = {"Authorization": f"Bearer {auditor(PROVINCE)}"}
    reply = gateway.call("GET", f"/v1/audit/dossiers/events?dossier_code={story['dossier'].code}", headers=headers)
    assert reply.status == 200, reply.raw
    events = reply.json["events"]
    assert {e["aggregate_id"] for e in events} == {story["dossier"].dossier_id}
    assert DOCUMENT_NAME in reply.raw.decode("utf-8") and APPLICANT_NAME not in reply.raw.decode("utf-8")
    chain = gateway.call("GET", "/v1/audit/procedures/chain", headers=headers)
    assert chain.status == 200 and chain.json["service"] == "procedures"
    citizen = {"Authorization": f"Bearer {auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id='').access_token}"}
    assert gateway.call("GET", "/v1/audit/dossiers/events", headers=citizen).status == 403
    unknown = gateway.call("GET", "/v1/audit/nowhere/events", headers=headers)
    assert unknown.status in (400, 501), unknown.raw


def cli(gateway, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "motcua.audit", "--api", gateway.url, *args],
                            env={**__import__("os").environ, "MOTCUA_TOKEN": auditor(PROVINCE)},
                            capture_output=True, timeout=120)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode("utf-8"),
                                       result.stderr.decode("utf-8"))


def test_the_cli_reads_through_the_api_in_csv_ndjson_and_writes_an_html_timeline(story, gateway, tmp_path: Path):
    code = story["dossier"].code
    as_csv = cli(gateway, "events", "dossiers", "--dossier", code, "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert {r["aggregate_id"] for r in rows} == {story["dossier"].dossier_id}
    assert DOCUMENT_NAME in as_csv.stdout and APPLICANT_NAME not in as_csv.stdout
    traced = cli(gateway, "trace", story["trace_id"], "--format", "ndjson")
    assert traced.returncode == 0, traced.stderr
    lines = [json.loads(line) for line in traced.stdout.splitlines()]
    assert {"dossiers", "notifications"} <= {line["service"] for line in lines}
    assert [line["record_time"] for line in lines] == sorted(line["record_time"] for line in lines)
    page = tmp_path / "timeline.html"
    written = cli(gateway, "timeline", "--dossier", code, "-o", str(page))
    assert written.returncode == 0, written.stderr
    html = page.read_text(encoding="utf-8")
    assert code in html and DOCUMENT_NAME in html and APPLICANT_NAME not in html
    assert "src=\"http" not in html and "href=\"http" not in html  # no external assets
