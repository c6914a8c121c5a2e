"""PodDisruptionBudgets, HorizontalPodAutoscalers (only for the services that may scale), and the
public URL's paths to the gateway through an Ingress or a Gateway API HTTPRoute."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charts.kubeschema import Document, load_crd_schemas, validate_documents

from .rendering import RELEASE, SERVICES, render, render_error

ROOT = Path(__file__).resolve().parents[2]
# Fetched by `make crds` (a prerequisite of check-charts, hence of make test).
HTTPROUTE_CRD = ROOT / ".local" / "crds" / "gateway.networking.k8s.io_httproutes.yaml"
HOST = "dichvucong.example.gov.vn"
EXPOSED = {
    "ingress": {"enabled": True, "host": HOST},
    "httpRoute": {"enabled": True, "hostnames": [HOST],
                  "parentRefs": [{"name": "public", "namespace": "gateway-system", "sectionName": "https"}]},
}
API_PATHS = ["/v1", "/docs", "/openapi.json"]
OIDC_PATHS = ["/oauth2", "/.well-known"]


def test_all_of_it_is_off_by_default() -> None:
    rendered = render()
    for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler", "Ingress", "HTTPRoute"):
        assert rendered.of_kind(kind) == {}


def test_a_disruption_budget_per_service_selecting_its_pods() -> None:
    rendered = render({"podDisruptionBudget": {"enabled": True}})
    budgets = rendered.of_kind("PodDisruptionBudget")
    assert set(budgets) == {f"{RELEASE}-{s}" for s in SERVICES}
    for service in SERVICES:
        spec = budgets[f"{RELEASE}-{service}"]["spec"]
        assert spec["maxUnavailable"] == 1 and "minAvailable" not in spec
        pod_labels = rendered.deployment(service)["spec"]["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    spec = render({"podDisruptionBudget": {"enabled": True, "minAvailable": "50%"}}).get(
        "PodDisruptionBudget", f"{RELEASE}-gateway")["spec"]
    assert spec == {"minAvailable": "50%", "selector": spec["selector"]}


def test_autoscaled_services_leave_their_replicas_to_the_autoscaler() -> None:
    rendered = render({"autoscaling": {"enabled": True}})
    autoscalers = rendered.of_kind("HorizontalPodAutoscaler")
    assert set(autoscalers) == {f"{RELEASE}-{s}" for s in ("gateway", "procedures", "notifications")}
    gateway = autoscalers[f"{RELEASE}-gateway"]["spec"]
    assert gateway["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{RELEASE}-gateway"}
    assert (gateway["minReplicas"], gateway["maxReplicas"]) == (2, 6)
    assert gateway["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    assert "replicas" not in rendered.deployment("gateway")["spec"]
    assert rendered.deployment("dossiers")["spec"]["replicas"] == 1  # not autoscaled: the chart's count


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"autoscaling": {"enabled": True, "services": ["signing"]}},
         "signing cannot scale without signing.storage.existingClaim"),
        ({"autoscaling": {"enabled": True, "services": ["dossiers"]}}, "dossiers cannot scale on a volume"),
        ({"autoscaling": {"enabled": True, "services": ["identity"]}, "identity": {"keysSecret": "", "devKeys": True}},
         "identity cannot scale with identity.devKeys"),
        ({"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}},
         "autoscaling.minReplicas: 5 is above autoscaling.maxReplicas 3"),
        ({"ingress": {"enabled": True}}, "ingress.host: required"),
        ({"httpRoute": {"enabled": True, "hostnames": [HOST]}}, "httpRoute.parentRefs: required"),
        ({**EXPOSED, "services": {"gateway": {"enabled": False}}}, "services.gateway.enabled is false"),
    ],
)
def test_what_cannot_work_fails_with_a_readable_message(values: dict, message: str) -> None:
    error = render_error(values)
    assert "VALUES VALIDATION" in error and message in error


def test_dossiers_and_signing_may_scale_on_shared_volumes() -> None:
    rendered = render({"autoscaling": {"enabled": True, "services": ["dossiers", "signing"]},
                       "dossiers": {"storage": {"accessModes": ["ReadWriteMany"]}},
                       "signing": {"storage": {"existingClaim": "signed-pdfs"}}})
    assert set(rendered.of_kind("HorizontalPodAutoscaler")) == {f"{RELEASE}-dossiers", f"{RELEASE}-signing"}


def test_the_ingress_routes_the_api_and_the_oidc_paths_to_the_gateway_over_tls() -> None:
    ingress = render(EXPOSED).get("Ingress", f"{RELEASE}-gateway")["spec"]
    assert ingress["tls"] == [{"hosts": [HOST], "secretName": f"{RELEASE}-tls"}]
    (rule,) = ingress["rules"]
    assert rule["host"] == HOST
    paths = rule["http"]["paths"]
    assert [p["path"] for p in paths] == API_PATHS + OIDC_PATHS
    assert {p["pathType"] for p in paths if p["path"] != "/openapi.json"} == {"Prefix"}
    assert {p["backend"]["service"]["name"] for p in paths} == {f"{RELEASE}-gateway"}
    assert {p["backend"]["service"]["port"]["name"] for p in paths} == {"http"}


def test_the_http_route_routes_the_same_paths_to_the_gateway_service() -> None:
    rendered = render(EXPOSED)
    route = rendered.get("HTTPRoute", f"{RELEASE}-gateway")["spec"]
    assert route["hostnames"] == [HOST]
    assert route["parentRefs"] == EXPOSED["httpRoute"]["parentRefs"]
    (rule,) = route["rules"]
    assert [m["path"]["value"] for m in rule["matches"]] == API_PATHS + OIDC_PATHS
    port = rendered.get("Service", f"{RELEASE}-gateway")["spec"]["ports"][0]["port"]
    assert rule["backendRefs"] == [{"name": f"{RELEASE}-gateway", "port": port}]


def test_without_identity_no_oidc_paths_are_exposed() -> None:
    values = {**EXPOSED, "services": {"identity": {"enabled": False}},
              "auth": {"jwksUrl": "http://identity.elsewhere.svc:8081/.well-known/jwks.json"}}
    rendered = render(values)
    (rule,) = rendered.get("Ingress", f"{RELEASE}-gateway")["spec"]["rules"]
    assert [p["path"] for p in rule["http"]["paths"]] == API_PATHS


def test_the_http_route_is_checked_strictly_against_the_gateway_api_crd() -> None:
    schemas = load_crd_schemas([HTTPROUTE_CRD])
    route = render(EXPOSED).get("HTTPRoute", f"{RELEASE}-gateway")
    assert validate_documents([Document(route, "httproute.yaml")], crd_schemas=schemas) == []
    route["spec"]["rules"][0]["timeout"] = "10s"  # a field HTTPRoute does not have there
    (error,) = validate_documents([Document(route, "httproute.yaml")], crd_schemas=schemas)
    assert "timeout" in error
