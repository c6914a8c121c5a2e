"""The chart's metrics (metrics.enabled: the port in every pod, Service and NetworkPolicy, the
address the processes read, a ServiceMonitor per service) and the gateway's CORS origins,
rendered by the real helm and read back by the processes' own configuration code."""

from __future__ import annotations

import json
from pathlib import Path

from motcua.gateway.config import GatewaySettings
from motcua.kernel.config import metrics_addr_from_env
from tests.charts.kubeschema import validate_documents
from tests.charts.rendering import RELEASE, render, render_error

SERVICES = ("gateway", "identity", "procedures", "dossiers", "notifications", "signing")
DASHBOARD = Path(__file__).resolve().parents[2] / "charts" / "motcua" / "dashboards" / "motcua.json"


def test_metrics_are_off_by_default():
    rendered = render()
    assert not rendered.of_kind("ServiceMonitor")
    for service in SERVICES:
        assert "MOTCUA_METRICS_ADDR" not in rendered.environment(service)
        assert "metrics" not in {p["name"] for p in rendered.container(service)["ports"]}


def test_metrics_enabled_opens_the_port_everywhere_and_adds_service_monitors():
    peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    rendered = render({"metrics": {"enabled": True, "port": 9500, "from": peers,
                                   "serviceMonitor": {"labels": {"release": "prom"}, "interval": "15s"}}})
    assert not validate_documents(rendered.documents)
    monitors = rendered.of_kind("ServiceMonitor")
    assert sorted(monitors) == sorted(f"{RELEASE}-{s}" for s in SERVICES)
    for service in SERVICES:
        name = f"{RELEASE}-{service}"
        # The process listens where the port is (its own parser reads the address).
        assert metrics_addr_from_env(rendered.environment(service)) == "0.0.0.0:9500"
        assert {"name": "metrics", "containerPort": 9500, "protocol": "TCP"} in rendered.container(service)["ports"]
        service_object = rendered.get("Service", name)
        assert {"name": "metrics", "port": 9500, "targetPort": "metrics", "protocol": "TCP", "appProtocol": "http"} \
            in service_object["spec"]["ports"]
        policy = rendered.get("NetworkPolicy", name)
        assert {"ports": [{"port": 9500, "protocol": "TCP"}], "from": peers} in policy["spec"]["ingress"]
        monitor = monitors[name]
        assert monitor["metadata"]["labels"]["release"] == "prom"
        # The monitor selects the Service by labels the Service has.
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service_object["metadata"]["labels"].items()
        assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s"}]
    assert GatewaySettings.from_env(rendered.environment("gateway")).metrics_addr == "0.0.0.0:9500"


def test_service_monitors_can_be_left_out_without_a_prometheus_operator():
    rendered = render({"metrics": {"enabled": True, "serviceMonitor": {"enabled": False}}})
    assert not rendered.of_kind("ServiceMonitor")
    assert metrics_addr_from_env(rendered.environment("procedures")) == "0.0.0.0:9464"


def test_the_metrics_port_cannot_be_a_port_of_the_services():
    assert "port" in render_error({"metrics": {"enabled": True, "port": 8080}})


def test_the_gateway_reads_its_cors_origins_from_the_values():
    rendered = render({"services": {"gateway": {"corsAllowedOrigins": ["https://dichvucong.example.gov.vn",
                                                                       "http://localhost:5173"]}}})
    settings = GatewaySettings.from_env(rendered.environment("gateway"))
    assert settings.cors_allowed_origins == ("https://dichvucong.example.gov.vn", "http://localhost:5173")
    assert GatewaySettings.from_env(render().environment("gateway")).cors_allowed_origins == ()
    assert "corsAllowedOrigins" in render_error({"services": {"gateway": {"corsAllowedOrigins": ["*"]}}})


def test_the_dashboard_reads_the_series_the_processes_export():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    expressions = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", []))
    for series in ("rpc_server_duration_seconds", "http_server_request_duration_seconds",
                   "motcua_relay_backlog", "motcua_relay_publish_duration_seconds", "motcua_consumer_lag",
                   "motcua_consumer_dead_lettered_total", "motcua_relay_dead_lettered_total",
                   "motcua_deadline_sweeps_total", "motcua_notifications_total", "motcua_logins_total"):
        assert series in expressions, series
