"""The OIDC setup in the chart: the gateway serves identity's OIDC endpoints under its URL
(MOTCUA_IDENTITY_URL, identity's in-cluster HTTP port, admitted by identity's NetworkPolicy),
identity and every service name the same issuer (auth.issuer, the gateway's public URL), and
identity's OIDC clients come from the values as a ConfigMap, with the confidential clients'
secrets from a Secret. Parsed with the services' own code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from motcua.gateway.config import GatewaySettings
from motcua.identity.oidc.clients import load_clients
from motcua.identity.oidc.config import OidcConfig
from motcua.kernel.config import Settings
from tests.charts.kubeschema import KUBE_VERSION, validate_documents
from tests.charts.rendering import GRPC_SERVICES, ISSUER, NAMESPACE, RELEASE, needs_helm, render, render_error

pytestmark = needs_helm

OIDC_DIR = "/etc/motcua/identity/oidc"
SECRETS_DIR = "/etc/motcua/identity/oidc-secrets"
PORTAL = {
    "client_id": "cong-dich-vu-cong",
    "client_name": "Cổng dịch vụ công tỉnh",
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "redirect_uris": [f"{ISSUER}/callback"],
    "post_logout_redirect_uris": [f"{ISSUER}/"],
    "scope": "openid profile roles offline_access api",
}
PAYMENTS: dict[str, Any] = {"client_id": "cong-thanh-toan", "grant_types": ["client_credentials"], "scope": "api",
            "audience": "motcua", "roles": ["desk_officer"],
            "agency_id": "000.00.10.H56"}
WITH_CLIENTS = {"identity": {"oidc": {"clients": [PORTAL, PAYMENTS], "clientSecretsSecret": "oidc-client-secrets"}}}


def test_the_gateway_serves_identitys_oidc_endpoints_from_its_http_port() -> None:
    rendered = render()
    url = urlsplit(GatewaySettings.from_env(rendered.environment("gateway")).identity_url)
    assert (url.scheme, url.hostname, url.port) == ("http", f"{RELEASE}-identity.{NAMESPACE}.svc.cluster.local", 8081)
    service = rendered.get("Service", f"{RELEASE}-identity")
    assert {p["port"]: p["targetPort"] for p in service["spec"]["ports"]}[8081] == "http"
    # identity's NetworkPolicy lets the gateway's pods reach that port.
    (rule,) = rendered.get("NetworkPolicy", f"{RELEASE}-identity")["spec"]["ingress"]
    assert {"port": 8081, "protocol": "TCP"} in rule["ports"]
    gateway_pod_labels = rendered.deployment("gateway")["spec"]["template"]["metadata"]["labels"]
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchLabels"].items() <= gateway_pod_labels.items()


def test_without_identity_in_the_release_the_gateway_proxies_no_oidc() -> None:
    rendered = render({"services": {"identity": {"enabled": False}}, "auth": {"jwksUrl": "http://id.example:8081/j"},
                       "identity": {"keysSecret": ""}})
    assert GatewaySettings.from_env(rendered.environment("gateway")).identity_url == ""


def test_identity_and_every_service_name_the_same_public_issuer() -> None:
    issuer = "https://dichvucong.thanhhoa.gov.vn"
    rendered = render({"auth": {"issuer": issuer}})
    auths = {service: Settings.from_env(rendered.environment(service)).auth for service in GRPC_SERVICES}
    issuers = {service: auth.issuer if auth else None for service, auth in auths.items()}
    assert set(issuers.values()) == {issuer}, issuers
    # identity's OIDC provider is configured against that issuer: its cookies are https-only.
    identity = rendered.environment("identity")
    assert OidcConfig.from_env(issuer, identity).secure_cookies is True


def test_oidc_clients_come_from_the_values_and_their_secrets_from_a_secret(tmp_path: Path) -> None:
    rendered = render(WITH_CLIENTS)
    env = rendered.environment("identity")
    clients_file = OidcConfig.from_env(ISSUER, env).clients_file
    assert clients_file == Path(OIDC_DIR) / "clients.json"
    mounts = {m["mountPath"]: m for m in rendered.container("identity")["volumeMounts"]}
    volumes = {v["name"]: v for v in rendered.deployment("identity")["spec"]["template"]["spec"]["volumes"]}
    config_map = rendered.get("ConfigMap", volumes[mounts[OIDC_DIR]["name"]]["configMap"]["name"])
    assert volumes[mounts[SECRETS_DIR]["name"]]["secret"] == {"secretName": "oidc-client-secrets", "defaultMode": 0o440}
    assert mounts[OIDC_DIR]["readOnly"] and mounts[SECRETS_DIR]["readOnly"]
    text = config_map["data"]["clients.json"]
    assert "secret\"" not in text.replace("client_secret_file", "")  # no secret in the ConfigMap
    # identity's own loader reads the file as mounted: the Secret's key named by the client_id.
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / PAYMENTS["client_id"]).write_text("bí-mật-thanh-toán\n", encoding="utf-8")
    local = tmp_path / "clients.json"
    local.write_text(text.replace(SECRETS_DIR, str(tmp_path / "secrets")), encoding="utf-8")
    portal, payments = load_clients(local)
    assert portal.public and portal.check_redirect_uri(f"{ISSUER}/callback")
    assert portal.client_metadata["client_name"] == "Cổng dịch vụ công tỉnh"
    assert not payments.public and payments.check_client_secret("bí-mật-thanh-toán")
    assert (payments.roles, payments.agency_id) == (["desk_officer"], "000.00.10.H56")
    assert payments.allows_scope("api") and payments.audience == "motcua" and not portal.allows_scope("made-up")
    assert validate_documents(rendered.documents, KUBE_VERSION) == []


def test_changed_clients_roll_identitys_pods_only() -> None:
    base, changed = (
        render(WITH_CLIENTS),
        render(
            {
                "identity": {
                    "oidc": {
                        "clients": [{**PORTAL, "redirect_uris": [f"{ISSUER}/moi"]}, PAYMENTS],
                        "clientSecretsSecret": "s",
                    }
                }
            }
        ),
    )

    def annotations(rendered, service):
        return rendered.deployment(service)["spec"]["template"]["metadata"]["annotations"]

    assert (
        annotations(base, "identity")["checksum/oidc-clients"]
        != annotations(changed, "identity")["checksum/oidc-clients"]
    )
    assert annotations(base, "dossiers") == annotations(changed, "dossiers")


def test_without_clients_identity_gets_no_clients_file() -> None:
    rendered = render()
    assert OidcConfig.from_env(ISSUER, rendered.environment("identity")).clients_file is None
    assert f"{RELEASE}-identity-oidc" not in rendered.of_kind("ConfigMap")


@pytest.mark.parametrize("values, message", [
    ({"identity": {"oidc": {"clients": [PAYMENTS]}}},
     "identity.oidc.clientSecretsSecret: not set, but client cong-thanh-toan is confidential"),
], ids=["confidential-without-secret"])
def test_bad_oidc_values_fail_with_a_readable_message(values: dict, message: str) -> None:
    error = render_error(values)
    assert "VALUES VALIDATION" in error and message in error


@pytest.mark.parametrize("client, fragment", [
    ({**PORTAL, "redirect_uri": "x"}, "redirect_uri"),  # a misspelt field
    ({**PAYMENTS, "client_secret": "lộ"}, "client_secret"),  # secrets belong in the Secret, never in values
], ids=["unknown-field", "secret-in-values"])
def test_the_values_schema_rejects_unknown_client_fields_and_secrets(client: dict, fragment: str) -> None:
    error = render_error({"identity": {"oidc": {"clients": [client], "clientSecretsSecret": "s"}}})
    assert "values don't meet the specifications of the schema" in error and fragment in error


def test_the_clients_file_is_json_identity_can_parse() -> None:
    text = render(WITH_CLIENTS).get("ConfigMap", f"{RELEASE}-identity-oidc")["data"]["clients.json"]
    assert [c["client_id"] for c in json.loads(text)] == ["cong-dich-vu-cong", "cong-thanh-toan"]
