"""Token authentication in the chart: every gRPC service verifies bearer tokens with the keys the
identity service publishes on its HTTP port (the JWKS address and the issuer in the shared
ConfigMap), and identity signs them with the keys of a Secret, or with a generated development
key. The rendered environment is parsed with the kernel's and the identity service's own code."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from motcua.identity.config import IdentityConfig
from motcua.identity.endpoints import JWKS_PATH
from motcua.kernel.config import AuthSettings, Settings
from tests.charts.kubeschema import KUBE_VERSION, validate_documents
from tests.charts.rendering import (
    EXTERNAL_JWKS,
    GRPC_SERVICES,
    ISSUER,
    NAMESPACE,
    RELEASE,
    SERVICES,
    Rendered,
    disabled,
    needs_helm,
    render,
    render_error,
    render_notes,
)

pytestmark = needs_helm

IDENTITY_JWKS = f"http://{RELEASE}-identity.{NAMESPACE}.svc.cluster.local:8081{JWKS_PATH}"
IDENTITY_KEYS = "/etc/motcua/identity/keys"
IDENTITY_DIR = "/var/lib/motcua/identity"
DEV_KEYS = {"identity": {"keysSecret": "", "subjectKeksSecret": "", "devKeys": True}}


def _mounts_and_volumes(rendered: Rendered, service: str) -> tuple[dict[str, dict], dict[str, dict]]:
    pod = rendered.deployment(service)["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in rendered.container(service)["volumeMounts"]}
    return mounts, {v["name"]: v for v in pod["volumes"]}


# --- every service verifies tokens with this release's identity -----------------------------------


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_every_grpc_service_verifies_tokens_with_the_identity_jwks(service: str) -> None:
    settings = Settings.from_env(render().environment(service))  # the kernel's own parser
    assert settings.auth == AuthSettings(jwks_url=IDENTITY_JWKS, issuer=ISSUER, audience="motcua", leeway=30)


def test_the_auth_settings_are_in_the_shared_configmap_not_per_container() -> None:
    rendered = render()
    (config,) = rendered.of_kind("ConfigMap").values()
    assert config["data"]["MOTCUA_AUTH_JWKS_URL"] == IDENTITY_JWKS
    assert config["data"]["MOTCUA_AUTH_ISSUER"] == ISSUER
    assert (config["data"]["MOTCUA_AUTH_AUDIENCE"], config["data"]["MOTCUA_AUTH_LEEWAY"]) == ("motcua", "30")
    for service in SERVICES:
        assert not [v for v in rendered.container(service)["env"] if v["name"].startswith("MOTCUA_AUTH_")], service


def test_the_jwks_url_is_the_identity_service_http_port() -> None:
    rendered = render()
    url = urlsplit(rendered.environment("procedures")["MOTCUA_AUTH_JWKS_URL"])
    assert (url.scheme, url.port, url.path) == ("http", 8081, JWKS_PATH)
    assert url.hostname is not None
    service_name, namespace, rest = url.hostname.split(".", 2)
    assert (namespace, rest) == (NAMESPACE, "svc.cluster.local")
    # The Service it names is identity's, and its port 8081 leads to the container port the
    # service's HTTP server listens on (MOTCUA_HTTP_ADDR, parsed by the kernel).
    service = rendered.get("Service", service_name)
    assert service["metadata"]["labels"]["app.kubernetes.io/component"] == "identity"
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    assert port == {"name": "http", "port": 8081, "targetPort": "http", "protocol": "TCP", "appProtocol": "http"}
    assert [p["name"] for p in service["spec"]["ports"]] == ["grpc", "http"]
    container = rendered.container("identity")
    (target,) = [p for p in container["ports"] if p["name"] == port["targetPort"]]
    assert target == {"name": "http", "containerPort": 8081, "protocol": "TCP"}
    assert Settings.from_env(rendered.environment("identity")).http_addr == "0.0.0.0:8081"


def _checksum(rendered: Rendered) -> str:
    return rendered.deployment("dossiers")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


def test_auth_values_reach_every_service_and_roll_the_pods() -> None:
    base = render()
    rendered = render({"auth": {"issuer": "https://motcua.example.gov.vn", "audience": "motcua-prod", "leeway": 5}})
    for service in GRPC_SERVICES:
        assert Settings.from_env(rendered.environment(service)).auth == AuthSettings(
            jwks_url=IDENTITY_JWKS, issuer="https://motcua.example.gov.vn", audience="motcua-prod", leeway=5)
    assert _checksum(rendered) != _checksum(base)


def test_identity_network_policy_admits_its_jwks_port_from_the_release_only() -> None:
    rendered = render()
    (rule,) = rendered.get("NetworkPolicy", f"{RELEASE}-identity")["spec"]["ingress"]
    assert rule["ports"] == [{"port": 50051, "protocol": "TCP"}, {"port": 8081, "protocol": "TCP"}]
    (peer,) = rule["from"]
    dossiers_pod_labels = rendered.deployment("dossiers")["spec"]["template"]["metadata"]["labels"]
    assert peer["podSelector"]["matchLabels"].items() <= dossiers_pod_labels.items()  # a verifier gets in
    for service in GRPC_SERVICES:
        if service != "identity":
            (other,) = rendered.get("NetworkPolicy", f"{RELEASE}-{service}")["spec"]["ingress"]
            # notifications also takes the providers' receipts the gateway passes on.
            extra = [{"port": 8082, "protocol": "TCP"}] if service == "notifications" else []
            assert other["ports"] == [{"port": 50051, "protocol": "TCP"}, *extra], service


def test_without_identity_the_services_trust_the_identity_named_by_auth_jwks_url() -> None:
    rendered = render({**disabled("identity"), "identity": {"keysSecret": ""}})
    for service in GRPC_SERVICES:
        if service != "identity":
            auth = Settings.from_env(rendered.environment(service)).auth
            assert auth is not None and auth.jwks_url == EXTERNAL_JWKS, service
    assert f"{RELEASE}-identity" not in rendered.of_kind("Service")
    assert validate_documents(rendered.documents, KUBE_VERSION) == []


# --- identity's signing keys ----------------------------------------------------------------------


def test_identity_keys_come_from_the_secret_mounted_read_only() -> None:
    rendered = render()
    env = rendered.environment("identity")
    config = IdentityConfig.from_env(env)  # the service's own parser
    assert str(config.keys_dir) == IDENTITY_KEYS
    # The store's keys come from the same Secret: without them identity refuses to start.
    assert (str(config.event_key_file), str(config.lookup_key_file)) == (
        f"{IDENTITY_KEYS}/event-store.key", f"{IDENTITY_KEYS}/lookup.key")
    assert (config.dev_keys, config.dev_tokens) == (False, False)
    assert "MOTCUA_IDENTITY_DIR" not in env  # nothing is written: the keys are the Secret's
    mounts, volumes = _mounts_and_volumes(rendered, "identity")
    # Accounts' key-encryption keys: a Secret of their own (test_subject_keks.py).
    assert set(mounts) == {"/tmp", IDENTITY_KEYS, str(config.subject_keks_dir)}
    keys = mounts[IDENTITY_KEYS]
    assert keys["readOnly"] is True
    assert volumes[keys["name"]] == {"name": keys["name"],
                                     "secret": {"secretName": "identity-keys", "defaultMode": 0o440}}
    assert rendered.container("identity")["securityContext"]["readOnlyRootFilesystem"] is True
    assert "strategy" not in rendered.deployment("identity")["spec"]  # pods share the keys: rolling updates


def test_identity_dev_keys_are_generated_on_an_empty_dir_by_one_pod_at_a_time() -> None:
    rendered = render(DEV_KEYS)
    config = IdentityConfig.from_env(rendered.environment("identity"))
    assert config.dev_keys is True
    assert config.keys_dir == Path(IDENTITY_DIR) / "keys"  # generated on the writable volume
    mounts, volumes = _mounts_and_volumes(rendered, "identity")
    assert set(mounts) == {"/tmp", IDENTITY_DIR}
    data = mounts[IDENTITY_DIR]
    assert not data.get("readOnly", False)
    assert volumes[data["name"]] == {"name": data["name"], "emptyDir": {}}
    assert not any("secret" in v for v in volumes.values())
    # Two pods would sign with different keys, even for the moment of a rolling update.
    spec = rendered.deployment("identity")["spec"]
    assert (spec["replicas"], spec["strategy"]) == (1, {"type": "Recreate"})
    assert validate_documents(rendered.documents, KUBE_VERSION) == []


def test_identity_dev_tokens_are_off_unless_asked_for() -> None:
    assert IdentityConfig.from_env(render().environment("identity")).dev_tokens is False
    rendered = render({**DEV_KEYS, "identity": {**DEV_KEYS["identity"], "devTokens": True}})
    assert IdentityConfig.from_env(rendered.environment("identity")).dev_tokens is True


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "identity"])
def test_other_services_get_none_of_the_identity_setup(service: str) -> None:
    rendered = render({**DEV_KEYS, "identity": {**DEV_KEYS["identity"], "devTokens": True}})
    env = rendered.environment(service)
    # Where a client reaches identity is the client's own setting, not identity's: the gateway's
    # MOTCUA_IDENTITY_URL (where it forwards the OIDC endpoints), dossiers' MOTCUA_IDENTITY_ADDR
    # (where it asks for a person's account data for their export and erasure).
    clients = {"gateway": "MOTCUA_IDENTITY_URL", "dossiers": "MOTCUA_IDENTITY_ADDR"}
    assert not [name for name in env if name.startswith("MOTCUA_IDENTITY_") and name != clients.get(service)]
    assert "8081" not in env.get("MOTCUA_HTTP_ADDR", "")
    if service != "gateway":  # the gateway has its own HTTP port, 8080
        # notifications has one too, 8082, for the providers' receipts the gateway passes on.
        expected = ["grpc", "http"] if service == "notifications" else ["grpc"]
        assert [p["name"] for p in rendered.container(service)["ports"]] == expected
    mounts, volumes = _mounts_and_volumes(rendered, service)
    assert not [path for path in mounts if "identity" in path]
    assert not [name for name in volumes if name.startswith("identity-")]


# --- render-time validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, message",
    [
        ({"auth": {"issuer": ""}}, "auth.issuer: not set. Every gRPC service accepts only bearer tokens whose `iss`"),
        ({"identity": {"devKeys": True}}, "both identity.devKeys and identity.keysSecret are set"),
        ({"identity": {"keysSecret": ""}}, "identity.keysSecret: not set"),
        (
            {**DEV_KEYS, "services": {"identity": {"replicas": 2}}},
            "identity.devKeys: services.identity.replicas is 2, but each pod would generate",
        ),
        (
            {"services": {"identity": {"enabled": False}}},
            "auth.jwksUrl: not set while services.identity is disabled. The gRPC services verify tokens\n"
            "  with the identity service's public keys (dossiers, notifications, procedures, signing)",
        ),
        ({"auth": {"jwksUrl": EXTERNAL_JWKS}}, "auth.jwksUrl: set while services.identity is enabled"),
        (
            {"services": {"identity": {"extraEnvVars": [{"name": "MOTCUA_IDENTITY_DEV_TOKENS", "value": "true"}]}}},
            "MOTCUA_IDENTITY_DEV_TOKENS is set by the chart for identity and cannot be overridden here (use the "
            "identity values)",
        ),
        (
            {"services": {"identity": {"extraEnvVars": [{"name": "MOTCUA_HTTP_ADDR", "value": "0.0.0.0:9000"}]}}},
            "services.identity.extraEnvVars: MOTCUA_HTTP_ADDR is set by the chart for identity",
        ),
    ],
    ids=[
        "no-issuer",
        "both-key-sources",
        "no-key-source",
        "dev-keys-two-replicas",
        "no-identity-no-jwks",
        "identity-and-jwks",
        "identity-managed-env",
        "identity-http-addr",
    ],
)
def test_bad_auth_values_fail_with_a_readable_message(values: dict, message: str) -> None:
    error = render_error(values)
    assert "VALUES VALIDATION" in error
    assert message in error


def test_no_issuer_is_needed_without_a_grpc_service() -> None:
    rendered = render({**disabled(*GRPC_SERVICES), "auth": {"issuer": ""}, "identity": {"keysSecret": ""}})
    assert set(rendered.of_kind("Deployment")) == {f"{RELEASE}-gateway"}


@pytest.mark.parametrize(
    "values, fragment",
    [
        ({"auth": {"issuer": "dichvucong.example.gov.vn"}}, "issuer"),
        ({"auth": {"jwksUrl": "identity:8081"}}, "jwksUrl"),
        ({"auth": {"leeway": -1}}, "leeway"),
        ({"auth": {"audience": ""}}, "audience"),
        ({"identity": {"devKey": True}}, "devKey"),
        ({"identity": {"keysSecret": "Identity_Keys"}}, "keysSecret"),
    ],
    ids=["issuer-url", "jwks-url", "leeway-negative", "audience-empty", "identity-unknown-key", "secret-name"],
)
def test_the_values_schema_rejects_bad_auth_values(values: dict, fragment: str) -> None:
    error = render_error(values)
    assert "values don't meet the specifications of the schema" in error
    assert fragment in error


# --- NOTES.txt ------------------------------------------------------------------------------------


def test_notes_name_the_issuer_and_the_jwks(tmp_path: Path) -> None:
    notes = render_notes(tmp_path, {})
    assert f"issued by {ISSUER} for audience motcua" in notes
    assert IDENTITY_JWKS in notes
    assert "devTokens" not in notes and "devKeys" not in notes


def test_notes_warn_loudly_about_development_tokens_and_keys(tmp_path: Path) -> None:
    notes = render_notes(tmp_path, {**DEV_KEYS, "identity": {**DEV_KEYS["identity"], "devTokens": True}})
    assert "WARNING: identity.devTokens is on. ANYONE who reaches the API can get a token" in notes
    assert "NEVER in production" in notes
    assert "curl -s -X POST http://127.0.0.1:8080/v1/tokens:issueDevelopment" in notes
    assert "identity.devKeys is on" in notes and "invalidates every token" in notes


def test_the_gateway_passes_the_providers_receipts_to_the_notifications_http_port() -> None:
    rendered = render()
    gateway_env = {e["name"]: e.get("value") for e in
                   rendered.deployment("gateway")["spec"]["template"]["spec"]["containers"][0]["env"]}
    url = gateway_env["MOTCUA_NOTIFICATIONS_CALLBACKS_URL"]
    assert url.startswith(f"http://{RELEASE}-notifications.") and url.endswith(":8082"), url
    notifications = rendered.deployment("notifications")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "MOTCUA_HTTP_ADDR", "value": "0.0.0.0:8082"} in notifications["env"]
    assert {"name": "http", "containerPort": 8082, "protocol": "TCP"} in notifications["ports"]
    ports = rendered.get("Service", f"{RELEASE}-notifications")["spec"]["ports"]
    assert {"name": "http", "port": 8082, "targetPort": "http", "protocol": "TCP", "appProtocol": "http"} in ports
