"""Metrics on every process's metrics port (MOTCUA_METRICS_ADDR): real services, the gateway and
the OIDC provider do real work, then each port is scraped over HTTP, as Prometheus would, and
the series named in kernel/metrics.py are there and have moved."""

from __future__ import annotations

import base64
import hashlib
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from motcua.devstack import ServiceProcess, free_port
from motcua.devstack.services import gateway_env
from motcua.procedures.v1 import procedure_service_pb2 as ppb
from tests.gateway.support import Gateway
from tests.identity.oidc_support import OFFICER, SPA, SPA_REDIRECT, Browser, start_identity
from tests.support.auth import default_token
from tests.support.clients import procedures_stub
from tests.support.dossier_events import DossierEvents
from tests.support.procedures import create_request
from tests.support.waiting import eventually

Series = dict[tuple[str, frozenset], float]
PROCEDURES_TOPIC = "motcua.procedures.events.v1"
DOSSIERS_TOPIC = "motcua.dossiers.events.v1"
VN = timezone(timedelta(hours=7))


def scrape(port: int) -> Series:
    """GET /metrics, parsed: {(sample name, labels): value}."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode("utf-8")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(series: Series, name: str, **labels: str) -> float:
    """The sum of the samples of that name whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in series.items() if n == name and wanted <= have)


def has(series: Series, name: str, **labels: str) -> bool:
    wanted = set(labels.items())
    return any(n == name and wanted <= have for (n, have) in series)


def labels_of(series: Series, name: str) -> list[dict[str, str]]:
    return [dict(have) for (n, have) in series if n == name]


class Metered:
    """One process and its metrics port."""

    def __init__(self, process: ServiceProcess, port: int) -> None:
        self.process = process
        self.port = port

    def scrape(self) -> Series:
        return scrape(self.port)


@pytest.fixture(scope="module")
def metered(stack, tmp_path_factory) -> Iterator[dict[str, Metered]]:
    started: dict[str, Metered] = {}

    def service(name: str, **env: str) -> Metered:
        port = free_port()
        process = stack.service(name, MOTCUA_METRICS_ADDR=f"127.0.0.1:{port}", **env).start()
        started[name] = Metered(process, port)
        return started[name]

    notifications_db = f"motcua_notifications_m{uuid.uuid4().hex[:8]}"
    stack.postgres.create_database(notifications_db)
    try:
        service("procedures")
        service("dossiers", MOTCUA_DEADLINE_WATCH_INTERVAL="0.2")
        # A database of its own: the hand-made dossier events below must not move the positions
        # of another test's notifications service.
        service("notifications", POSTGRES_DBNAME=notifications_db)
        identity_port = free_port()
        identity, internal = start_identity(stack, tmp_path_factory.mktemp("metrics-identity"),
                                            database=f"motcua_identity_m{uuid.uuid4().hex[:8]}",
                                            MOTCUA_METRICS_ADDR=f"127.0.0.1:{identity_port}")
        started["identity"] = Metered(identity, identity_port)
        started["identity"].url = internal  # type: ignore[attr-defined]
        gateway_port, gateway_metrics = free_port(), free_port()
        backends = {name: m.process.addr for name, m in started.items() if name != "identity"}
        env = gateway_env(gateway_port, backends, {"MOTCUA_METRICS_ADDR": f"127.0.0.1:{gateway_metrics}"})
        gateway = ServiceProcess("gateway", env, stack.logs / f"gateway-{gateway_port}.log",
                                 ready_url=f"http://127.0.0.1:{gateway_port}/livez").start(timeout=30)
        started["gateway"] = Metered(gateway, gateway_metrics)
        yield started
    finally:
        for m in reversed(list(started.values())):
            if m.process.alive:
                assert m.process.terminate() == 0, m.process.log_path.read_text()[-3000:]


def test_rpc_calls_are_counted_by_method_and_status_with_their_latency(metered):
    procedures = procedures_stub(metered["procedures"].process.addr, default_token())
    before = metered["procedures"].scrape()
    procedures.CreateProcedure(create_request(name="Cấp giấy phép xây dựng"))
    with pytest.raises(grpc.RpcError):
        procedures.CreateProcedure(create_request(name=""))  # refused by validation
    after = metered["procedures"].scrape()
    method = {"rpc_service": "motcua.procedures.v1.ProcedureService", "rpc_method": "CreateProcedure"}
    count = "rpc_server_duration_seconds_count"
    assert value(after, count, **method, rpc_grpc_status_code="OK") == \
        value(before, count, **method, rpc_grpc_status_code="OK") + 1
    assert value(after, count, **method, rpc_grpc_status_code="INVALID_ARGUMENT") == \
        value(before, count, **method, rpc_grpc_status_code="INVALID_ARGUMENT") + 1
    assert value(after, "rpc_server_duration_seconds_sum", **method) > value(before, "rpc_server_duration_seconds_sum",
                                                                              **method)
    # Latency buckets in seconds, so that one dashboard reads every service.
    assert value(after, "rpc_server_duration_seconds_bucket", **method, le="+Inf") >= 2


def test_the_gateway_counts_requests_by_route_template_never_by_path(metered):
    gateway = Gateway(metered["gateway"].process, metered["gateway"].process.addr.removesuffix("/livez"))
    created = gateway.call("POST", "/v1/procedures", _json(create_request(name="Đăng ký tạm trú")))
    assert created.status == 200, created.raw
    procedure_id = created.json["procedure"]["procedure_id"]
    assert gateway.call("GET", f"/v1/procedures/{procedure_id}").status == 200
    assert gateway.call("GET", f"/v1/procedures/{uuid.uuid4()}").status == 404
    assert gateway.call("GET", f"/v1/no-such-thing/{uuid.uuid4()}").status == 404
    series = metered["gateway"].scrape()
    count = "http_server_request_duration_seconds_count"
    assert value(series, count, http_route="/v1/procedures", http_request_method="POST",
                 http_response_status_code="200") >= 1
    get = {"http_route": "/v1/procedures/{procedure_id}", "http_request_method": "GET"}
    assert value(series, count, **get, http_response_status_code="200") >= 1
    assert value(series, count, **get, http_response_status_code="404") >= 1
    assert value(series, count, http_route="unmatched") >= 1
    routes = {labels["http_route"] for labels in labels_of(series, count)}
    assert not [r for r in routes if procedure_id in r or "no-such-thing" in r], routes
    # The calls it made went through the services, where they count too.
    assert value(metered["procedures"].scrape(), "rpc_server_duration_seconds_count",
                 rpc_method="GetProcedure", rpc_grpc_status_code="NOT_FOUND") >= 1


def test_the_relay_and_the_consumers_report_publishing_backlog_and_lag(metered):
    procedures = procedures_stub(metered["procedures"].process.addr, default_token())
    created = procedures.CreateProcedure(create_request(name="Cấp bản sao trích lục")).procedure
    procedures.PublishProcedure(ppb.PublishProcedureRequest(procedure_id=created.procedure_id))
    relay = eventually(lambda: _moved(metered["procedures"], "motcua_relay_published_total",
                                      topic=PROCEDURES_TOPIC), what="the relay's publishing counted")
    assert value(relay, "motcua_relay_publish_duration_seconds_count", topic=PROCEDURES_TOPIC) >= 1
    assert has(relay, "motcua_relay_backlog", topic=PROCEDURES_TOPIC)
    # The dossiers service's catalog consumer applies the procedure's events.
    consumer = eventually(lambda: _moved(metered["dossiers"], "motcua_consumer_applied_total",
                                         topic=PROCEDURES_TOPIC), what="the catalog consumer's applying counted")
    lag = [labels for labels in labels_of(consumer, "motcua_consumer_lag") if labels["topic"] == PROCEDURES_TOPIC]
    assert lag and lag[0]["group"].startswith("motcua.dossiers."), lag


def test_deadline_sweeps_are_counted(metered):
    first = value(metered["dossiers"].scrape(), "motcua_deadline_sweeps_total", outcome="ok")
    eventually(lambda: value(metered["dossiers"].scrape(), "motcua_deadline_sweeps_total", outcome="ok") > first,
               what="another sweep counted")
    assert has(metered["dossiers"].scrape(), "motcua_deadline_flagged_total")


def test_notifications_are_counted_by_channel_and_state(metered, stack):
    events = DossierEvents(stack.kafka.bootstrap)
    try:
        events.send(events.received(str(uuid.uuid4()), datetime(2026, 1, 12, 9, tzinfo=VN)))
    finally:
        events.close()
    # Both awaited: a notification and an event's applying are each counted once the consumer's
    # transaction has committed, one after the other; in-app notices
    # of other topics' events (identity's, signing's) may be counted meanwhile too, long before
    # the batch of dossier events holding this one commits.
    def counted() -> Series | None:
        series = _moved(metered["notifications"], "motcua_notifications_total", channel="in_app")
        return series if series and value(series, "motcua_consumer_applied_total", topic=DOSSIERS_TOPIC) else None

    series = eventually(counted, what="a notification and the dossier event's applying counted")
    states = {labels["state"] for labels in labels_of(series, "motcua_notifications_total")}
    assert states and all(state.isidentifier() for state in states), states
    assert value(series, "motcua_consumer_applied_total", topic=DOSSIERS_TOPIC) >= 1


def test_logins_are_counted_by_outcome_without_who(metered):
    identity = metered["identity"]
    browser = Browser()
    refused = browser.submit(browser.login_form(_authorize_url(identity.url)), login=OFFICER["login"],
                             password="not the password")
    assert refused.status_code == 401
    assert browser.log_in(_authorize_url(identity.url), OFFICER["login"]).startswith(SPA_REDIRECT)
    series = identity.scrape()
    assert value(series, "motcua_logins_total", outcome="ok") >= 1
    assert value(series, "motcua_logins_total", outcome="bad_credentials") >= 1
    text = " ".join(str(labels) for labels in labels_of(series, "motcua_logins_total"))
    assert OFFICER["login"] not in text and OFFICER["account_id"] not in text


def test_a_bad_metrics_address_stops_the_start():
    from motcua.gateway.config import GatewaySettings
    from motcua.kernel.config import ConfigError, metrics_addr_from_env

    assert metrics_addr_from_env({"MOTCUA_METRICS_ADDR": " 0.0.0.0:9464 "}) == "0.0.0.0:9464"
    for bad in ("9464", "host:", ":9464", "host:99999"):
        with pytest.raises(ConfigError, match="MOTCUA_METRICS_ADDR"):
            metrics_addr_from_env({"MOTCUA_METRICS_ADDR": bad})
        with pytest.raises(ConfigError, match="MOTCUA_METRICS_ADDR"):
            GatewaySettings.from_env({"MOTCUA_METRICS_ADDR": bad})


# ------------------------------------------------------------------ helpers


def _moved(metered: Metered, name: str, **labels: str) -> Series | None:
    series = metered.scrape()
    return series if value(series, name, **labels) > 0 else None


def _json(message) -> dict:
    from google.protobuf import json_format

    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _authorize_url(issuer: str) -> str:
    verifier = base64.urlsafe_b64encode(uuid.uuid4().bytes * 3).decode().rstrip("=")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return f"{issuer}/oauth2/authorize?" + urlencode({
        "response_type": "code", "client_id": SPA, "redirect_uri": SPA_REDIRECT, "scope": "openid api",
        "state": uuid.uuid4().hex, "code_challenge": challenge, "code_challenge_method": "S256"})
