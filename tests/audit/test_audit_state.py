"""An aggregate's state at a version or a time through the auditor API (GetAggregateState),
served by the real dossiers service and through the gateway's REST: replayed up to the last
event recorded at or before the time, personal fields masked, the caller's agency scope over
every event it folds in, and clear errors. Then the CLI: through the API by default (a token
file, no database settings), and the database with --db."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import grpc
import pytest
from google.protobuf import json_format

from motcua.audit.v1 import audit_service_pb2 as apb
from motcua.devstack import ServiceProcess, free_port
from motcua.devstack.services import gateway_env
from motcua.dossiers.v1 import dossier_service_pb2 as dossier_pb
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.subject_keys import MASKED
from tests.audit.test_audit_api import AGENCY, APPLICANT_NAME, SIBLING, audit_stub, auditor, stamp
from tests.gateway.support import Gateway
from tests.support import auth
from tests.support.clients import dossiers_stub, error_reason
from tests.support.dossiers import applicant, published_full_procedure, submit_request
from tests.support.identity import PROVINCE, seed_agencies
from tests.support.waiting import eventually

# A machine shared with other test sessions can take minutes to start a process: patience here
# costs nothing when it is fast.
START_TIMEOUT = 300


@pytest.fixture(scope="module")
def processes(stack):
    seeded = seed_agencies(stack.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    started = {name: stack.service(name).start(wait=False) for name in ("procedures", "dossiers")}
    for process in started.values():
        process.wait_healthy(START_TIMEOUT)
    yield {"identity": stack.identity.addr, **{name: p.addr for name, p in started.items()}}
    for process in started.values():
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def story(processes):
    """A citizen submits a dossier to AGENCY, a desk officer of AGENCY receives it; waits until
    the audit index holds both."""
    procedure_id = published_full_procedure(processes["procedures"], processes["dossiers"]).procedure_id
    citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name=APPLICANT_NAME)
    dossier = dossiers_stub(processes["dossiers"], citizen.access_token).SubmitDossier(submit_request(
        procedure_id, AGENCY, applicant=applicant(account_id=citizen.account_id, full_name=APPLICANT_NAME))).dossier
    desk = auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=AGENCY, display_name="Trần Văn Bình")
    received = dossiers_stub(processes["dossiers"], desk.access_token).ReceiveDossier(
        dossier_pb.ReceiveDossierRequest(dossier_id=dossier.dossier_id)).dossier
    province = audit_stub(processes["dossiers"], auditor(PROVINCE))

    def indexed() -> list[apb.RecordedEvent]:
        events = province.ListEvents(apb.ListEventsRequest(service="dossiers", dossier_code=received.code)).events
        return list(events) if any(e.event_type.endswith("Received") for e in events) else []

    eventually(indexed, timeout=START_TIMEOUT, what="the dossier's events indexed")
    return {"dossier": received, "citizen": citizen.account_id, "desk": desk.account_id}


@pytest.fixture(scope="module")
def gateway(stack, processes):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ServiceProcess("gateway", gateway_env(port, processes, {}), stack.logs / f"gateway-{port}.log",
                             ready_url=f"{url}/livez")
    yield Gateway(process.start(timeout=START_TIMEOUT), url)
    assert process.terminate(timeout=20) == 0, process.log_path.read_text()


def _history(processes, story) -> list[apb.RecordedEvent]:
    return list(audit_stub(processes["dossiers"], auditor(PROVINCE)).ListEvents(
        apb.ListEventsRequest(service="dossiers", dossier_code=story["dossier"].code)).events)


def test_the_state_at_a_time_is_the_dossier_as_its_last_event_before_then_left_it(processes, story):
    events = _history(processes, story)
    submitted, received = events[0], next(e for e in events if e.event_type.endswith("Received"))
    province = audit_stub(processes["dossiers"], auditor(PROVINCE))
    between = received.record_time.ToDatetime() - (received.record_time.ToDatetime()
                                                    - submitted.record_time.ToDatetime()) / 2
    then = province.GetAggregateState(apb.GetAggregateStateRequest(
        service="dossiers", aggregate_id=story["dossier"].dossier_id, read_time=stamp(between)))
    assert then.version == received.version - 1 and then.current_version == events[-1].version
    assert then.aggregate_type == "Dossier" and then.aggregate_id == story["dossier"].dossier_id
    assert then.state["state"] != "received" and then.state["code"] == story["dossier"].code
    assert then.update_time.ToDatetime() <= between
    now = province.GetAggregateState(apb.GetAggregateStateRequest(service="dossiers",
                                                                  aggregate_id=story["dossier"].code))
    assert now.version == events[-1].version and now.state["state"] == "received"
    assert now.state["handling_agency_id"] == AGENCY
    by_version = province.GetAggregateState(apb.GetAggregateStateRequest(
        service="dossiers", aggregate_id=story["dossier"].code, version=then.version))
    assert by_version.version == then.version and by_version.state == then.state


def test_personal_fields_stay_masked_and_vietnamese_text_round_trips(processes, story):
    state = audit_stub(processes["dossiers"], auditor(PROVINCE)).GetAggregateState(
        apb.GetAggregateStateRequest(service="dossiers", aggregate_id=story["dossier"].code)).state
    text = json.dumps(json_format.MessageToDict(state), ensure_ascii=False)
    assert APPLICANT_NAME not in text
    assert state["applicant_data"]["full_name"] == MASKED
    assert "Tờ khai" in text  # a document's name, not personal: as written


def test_the_state_needs_every_event_it_folds_in_to_be_in_the_caller_s_scope(processes, story):
    # The submission was recorded by the citizen (no agency): only the province's auditors may
    # see it, as ListEvents shows it to them only; the state folds it in.
    for agency in (AGENCY, SIBLING):
        stub = audit_stub(processes["dossiers"], auditor(agency))
        assert error_reason(lambda stub=stub: stub.GetAggregateState(apb.GetAggregateStateRequest(
            service="dossiers", aggregate_id=story["dossier"].code))) == "AGENCY_SCOPE"
    officer = auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=PROVINCE).access_token
    with pytest.raises(grpc.RpcError) as officer_refused:
        audit_stub(processes["dossiers"], officer).GetAggregateState(
            apb.GetAggregateStateRequest(service="dossiers", aggregate_id=story["dossier"].code))
    assert officer_refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_time_before_the_dossier_or_a_version_past_it_is_a_field_error(processes, story):
    province = audit_stub(processes["dossiers"], auditor(PROVINCE))
    first = _history(processes, story)[0].record_time.ToDatetime()
    for request, field in (
        (apb.GetAggregateStateRequest(service="dossiers", aggregate_id=story["dossier"].code,
                                      read_time=stamp(first - timedelta(days=1))), "read_time"),
        (apb.GetAggregateStateRequest(service="dossiers", aggregate_id=story["dossier"].code, version=9999),
         "version"),
        (apb.GetAggregateStateRequest(service="dossiers", aggregate_id=story["dossier"].code, version=1,
                                      read_time=stamp(first)), "version"),
    ):
        with pytest.raises(grpc.RpcError) as bad:
            province.GetAggregateState(request)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad.value.details()
        assert field in bad.value.details()
    with pytest.raises(grpc.RpcError) as unknown:
        province.GetAggregateState(apb.GetAggregateStateRequest(service="dossiers",
                                                                aggregate_id="000.00.13.H56-990101-9999"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as not_a_uuid:
        audit_stub(processes["procedures"], auditor(PROVINCE)).GetAggregateState(
            apb.GetAggregateStateRequest(service="procedures", aggregate_id=story["dossier"].code))
    assert not_a_uuid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_gateway_serves_the_state_at_a_time_by_code(processes, story, gateway):
    events = _history(processes, story)
    headers = {"Authorization": f"Bearer {auditor(PROVINCE)}"}
    at = quote(events[0].record_time.ToJsonString())
    reply = gateway.call("GET", f"/v1/audit/dossiers/aggregates/{story['dossier'].code}/state?read_time={at}",
                         headers=headers)
    assert reply.status == 200, reply.raw
    assert int(reply.json["version"]) == 1
    assert reply.json["aggregate_id"] == story["dossier"].dossier_id
    assert APPLICANT_NAME not in reply.raw.decode("utf-8")
    early = quote(stamp(events[0].record_time.ToDatetime() - timedelta(days=1)).ToJsonString())
    refused = gateway.call("GET", f"/v1/audit/dossiers/aggregates/{story['dossier'].code}/state?read_time={early}",
                           headers=headers)
    assert refused.status == 400, refused.raw
    assert "read_time" in refused.raw.decode("utf-8")


# --- the CLI: the API by default, the database with --db -------------------------------------


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "motcua-audit"
    result = subprocess.run([str(script), *args], env=env, capture_output=True, timeout=120)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode("utf-8"),
                                       result.stderr.decode("utf-8"))


def api_env(gateway, **more: str) -> dict[str, str]:
    """No database settings at all: only the gateway's URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "MOTCUA_TOKEN", "MOTCUA_API"))}
    return {**env, "MOTCUA_API_URL": gateway.url, **more}


def test_the_cli_reads_through_the_api_by_default_with_a_token_file(processes, story, gateway, tmp_path: Path):
    token_file = tmp_path / "auditor.token"
    token_file.write_text(auditor(PROVINCE) + "\n", encoding="utf-8")
    code = story["dossier"].code
    history = run_cli("--token-file", str(token_file), "history", "dossiers", code, "--format", "json",
                      env=api_env(gateway))
    assert history.returncode == 0, history.stderr
    events = json.loads(history.stdout)
    assert {e["aggregate_id"] for e in events} == {story["dossier"].dossier_id}
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    first = events[0]["record_time"]
    state = run_cli("state", "dossiers", code, "--at", first, env=api_env(gateway, MOTCUA_TOKEN_FILE=str(token_file)))
    assert state.returncode == 0, state.stderr
    then = json.loads(state.stdout)
    assert then["version"] == 1 and then["id"] == story["dossier"].dossier_id and then["type"] == "Dossier"
    assert then["attributes"]["applicant_data"]["full_name"] == MASKED and APPLICANT_NAME not in state.stdout
    log = run_cli("log", "dossiers", "--after", str(events[0]["position"]), "--limit", "1", "--format", "json",
                  env=api_env(gateway, MOTCUA_TOKEN=auditor(PROVINCE)))
    assert log.returncode == 0, log.stderr
    (next_event,) = json.loads(log.stdout)
    assert next_event["position"] > events[0]["position"]
    assert f"--after {next_event['position']}" in log.stderr
    chain = run_cli("chain", "dossiers", "--json", env=api_env(gateway, MOTCUA_TOKEN=auditor(PROVINCE)))
    assert chain.returncode == 0, chain.stderr
    status = json.loads(chain.stdout)
    assert status["service"] == "dossiers" and int(status["last_position"]) >= next_event["position"]


def test_the_cli_without_a_gateway_says_which_api_it_could_not_reach(tmp_path: Path):
    from motcua.devstack import free_port

    url = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "MOTCUA_API"))}
    failed = run_cli("--api", url, "--token", "t", "log", "procedures", env=env)
    assert failed.returncode == 1 and f"cannot reach the API at {url}" in failed.stderr, failed.stderr
    no_token = run_cli("--api", url, "log", "procedures",
                       env={k: v for k, v in env.items() if not k.startswith("MOTCUA_TOKEN")})
    assert no_token.returncode == 1 and "--token-file" in no_token.stderr, no_token.stderr


def test_the_cli_reads_the_database_with_db(stack, processes, story):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "MOTCUA_API", "MOTCUA_TOKEN"))}
    env |= {"POSTGRES_HOST": stack.postgres.host, "POSTGRES_PORT": str(stack.postgres.port),
            "POSTGRES_USER": stack.postgres.user, "POSTGRES_PASSWORD": stack.postgres.password,
            # an API configured, and still the database: --db wins
            "MOTCUA_API_URL": "http://127.0.0.1:9"}
    dossier_id = story["dossier"].dossier_id
    for flag in ("--db", "--direct"):
        state = run_cli(flag, "state", "dossiers", dossier_id, "--version", "1", env=env)
        assert state.returncode == 0, state.stderr
        assert json.loads(state.stdout)["version"] == 1
    history = run_cli("history", "dossiers", dossier_id, "--db", "--json", env=env)
    assert history.returncode == 0, history.stderr
    assert json.loads(history.stdout)[0]["version"] == 1
    by_code = run_cli("--db", "history", "dossiers", story["dossier"].code, env=env)
    assert by_code.returncode == 2 and "through the API" in by_code.stderr, by_code.stderr
    api_only = run_cli("--db", "trace", "0af7651916cd43dd8448eb211c80319c", env=env)
    assert api_only.returncode == 2 and "auditor API" in api_only.stderr, api_only.stderr
