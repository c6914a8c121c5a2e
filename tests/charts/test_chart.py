"""The Helm chart charts/motcua, rendered by the real helm binary (.local/bin/helm, built by
`make helm`): every service hardened and probed, the environment the kernel and the gateway
actually parse, MOTCUA_BACKENDS, service toggles, render-time validation, config checksums,
network policies, and every object valid against the Kubernetes schemas (strict, offline).
Token authentication (the JWKS address, identity's keys) is in test_auth.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from motcua.gateway.config import GatewaySettings
from motcua.kernel.config import Settings
from motcua.signing.config import SigningConfig
from tests.charts.kubeschema import KUBE_VERSION, load_crd_schemas, validate_documents
from tests.charts.rendering import (
    CHART,
    CI_VALUES,
    GRPC_SERVICES,
    NAMESPACE,
    PASSWORD,
    RELEASE,
    REQUIRED,
    SERVICES,
    Rendered,
    disabled,
    helm,
    merge_values,
    needs_helm,
    render,
    render_error,
    render_notes,
)

pytestmark = needs_helm


# --- every ci value set: lint and schemas --------------------------------------------------------


@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.stem)
def test_helm_lint_strict_passes(values_file: Path) -> None:
    result = helm("lint", "--strict", files=(values_file,))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.stem)
def test_every_object_validates_against_the_kubernetes_schemas(values_file: Path) -> None:
    rendered = render(files=(values_file,), required=False)
    assert rendered.documents
    # The custom resources' CRDs, as make check-charts fetches them (make crds).
    crds = load_crd_schemas(sorted((CHART.parents[1] / ".local" / "crds").glob("*.yaml")))
    assert validate_documents(rendered.documents, KUBE_VERSION, crds) == []


def test_the_ci_value_sets_exist() -> None:
    assert {p.stem for p in CI_VALUES} >= {"default-values", "all-features-values", "minimal-values"}


# --- workloads ---------------------------------------------------------------------------------


def _assert_hardened(deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == 10001
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_grpc_service_deployment_is_hardened_and_probed_over_grpc(service: str) -> None:
    rendered = render()
    deployment = rendered.deployment(service)
    pod = deployment["spec"]["template"]["spec"]
    container = rendered.container(service)
    _assert_hardened(deployment)
    assert container["image"] == "ghcr.io/motcua/motcua:0.1.0"  # the chart's appVersion
    assert container["command"] == ["python", "-m", f"motcua.{service}"]
    # Identity also serves the JWKS every service verifies tokens with (test_auth.py), and
    # notifications the providers' delivery receipts, which the gateway passes on to it.
    http = {"identity": 8081, "notifications": 8082}.get(service)
    assert container["ports"] == [{"name": "grpc", "containerPort": 50051, "protocol": "TCP"},
                                  *([{"name": "http", "containerPort": http, "protocol": "TCP"}] if http else [])]
    assert container["startupProbe"]["grpc"] == {"port": 50051}
    # Liveness and readiness follow the process only, not its background workers (see
    # grpc_server.LIVENESS_SERVICE): a Kafka outage takes no pod out of its Service.
    assert container["livenessProbe"]["grpc"] == {"port": 50051, "service": "liveness"}
    assert container["readinessProbe"]["grpc"] == {"port": 50051, "service": "readiness"}
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                                      "limits": {"cpu": "1", "memory": "256Mi"}}
    shutdown_grace = float(rendered.environment(service)["MOTCUA_SHUTDOWN_GRACE"])
    assert shutdown_grace == 10
    assert pod["terminationGracePeriodSeconds"] > shutdown_grace
    assert pod["serviceAccountName"] in rendered.of_kind("ServiceAccount")
    # Its Service: 50051, named grpc (and the HTTP port above), selecting exactly this
    # Deployment's pods.
    svc = rendered.get("Service", f"{RELEASE}-{service}")
    assert svc["spec"]["ports"] == [
        {"name": "grpc", "port": 50051, "targetPort": "grpc", "protocol": "TCP", "appProtocol": "grpc"},
        *(
            [{"name": "http", "port": http, "targetPort": "http", "protocol": "TCP", "appProtocol": "http"}]
            if http
            else []
        ),
    ]
    assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_gateway_deployment_is_hardened_and_probed_over_http() -> None:
    rendered = render()
    deployment = rendered.deployment("gateway")
    container = rendered.container("gateway")
    _assert_hardened(deployment)
    assert container["command"] == ["python", "-m", "motcua.gateway"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    # /healthz waits up to MOTCUA_HEALTH_TIMEOUT for each backend: the probe must wait longer.
    assert container["readinessProbe"]["timeoutSeconds"] > float(
        rendered.environment("gateway")["MOTCUA_HEALTH_TIMEOUT"]
    )
    svc = rendered.get("Service", f"{RELEASE}-gateway")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"][0]["port"] == 8080 and svc["spec"]["ports"][0]["targetPort"] == "http"


def test_every_object_carries_the_recommended_labels() -> None:
    rendered = render()
    for obj in rendered.objects:
        labels = obj["metadata"]["labels"]
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert labels["app.kubernetes.io/name"] == "motcua", where
        assert labels["app.kubernetes.io/instance"] == RELEASE, where
        assert labels["app.kubernetes.io/version"] == "0.1.0", where
        assert labels["app.kubernetes.io/managed-by"] == "Helm", where
        assert labels["helm.sh/chart"] == "motcua-0.2.0", where
        assert obj["metadata"]["namespace"] == NAMESPACE, where
    for kind in ("Deployment", "Service", "NetworkPolicy"):
        components = {o["metadata"]["labels"]["app.kubernetes.io/component"] for o in rendered.of_kind(kind).values()}
        assert components == set(SERVICES), kind


# --- the environment contract ---------------------------------------------------------------------


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_grpc_service_environment_is_what_the_kernel_reads(service: str) -> None:
    env = render().environment(service)
    settings = Settings.from_env(env)  # the kernel's own parser: raises on a missing setting
    assert settings.service == service
    assert settings.grpc_addr == "0.0.0.0:50051"
    assert settings.kafka_bootstrap == REQUIRED["kafka"]["bootstrapServers"]
    assert settings.log_level == "INFO"
    assert settings.shutdown_grace == 10
    assert settings.eventstore_env["POSTGRES_HOST"] == "pg.databases.svc"
    assert settings.eventstore_env["POSTGRES_PORT"] == "5432"
    assert settings.eventstore_env["POSTGRES_USER"] == "motcua"
    assert settings.eventstore_env["POSTGRES_DBNAME"] == f"motcua_{service}"
    assert settings.eventstore_env["POSTGRES_PASSWORD"] == PASSWORD
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env and "OTEL_SERVICE_NAME" not in env  # tracing is off


def test_the_services_and_the_gateway_trust_the_configured_proxies_only() -> None:
    from ipaddress import ip_address

    from motcua.gateway.config import GatewaySettings

    rendered = render({"config": {"trustedProxies": ["10.42.0.0/16", "fd00:42::/64"]}})
    for service in GRPC_SERVICES:
        trusted = Settings.from_env(rendered.environment(service)).trusted_proxies
        assert trusted.trusts(ip_address("10.42.7.1")) and trusted.trusts(ip_address("fd00:42::9"))
        assert not trusted.trusts(ip_address("10.43.0.1"))
    gateway = GatewaySettings.from_env(rendered.environment("gateway")).trusted_proxies
    assert gateway.client_address("10.42.0.5", ["203.0.113.9"]) == "203.0.113.9"
    assert gateway.client_address("203.0.113.66", ["203.0.113.9"]) == "203.0.113.66"


def test_password_comes_from_a_secret_never_from_a_plain_value() -> None:
    rendered = render()
    assert PASSWORD not in json.dumps(rendered.of_kind("ConfigMap"))
    for service in GRPC_SERVICES:
        (var,) = [v for v in rendered.container(service)["env"] if v["name"] == "POSTGRES_PASSWORD"]
        assert var["valueFrom"]["secretKeyRef"] == {"name": f"{RELEASE}-postgresql", "key": "password"}
    assert "POSTGRES_PASSWORD" not in {v["name"] for v in rendered.container("gateway")["env"]}


def test_existing_secret_is_used_and_no_secret_is_created() -> None:
    values = {"postgresql": {"password": "", "existingSecret": "pg-credentials", "existingSecretPasswordKey": "pw"}}
    rendered = render(values)
    assert rendered.of_kind("Secret") == {}
    for service in GRPC_SERVICES:
        (var,) = [v for v in rendered.container(service)["env"] if v["name"] == "POSTGRES_PASSWORD"]
        assert var["valueFrom"]["secretKeyRef"] == {"name": "pg-credentials", "key": "pw"}


def test_per_service_database_and_extra_env() -> None:
    values = {
        "extraEnvVars": [
            {"name": "MOTCUA_GRPC_WORKERS", "value": "8"},
            {"name": "MOTCUA_RELAY_BATCH_SIZE", "value": "50"},
        ],
        "services": {
            "dossiers": {
                "database": "dossiers_prod",
                "extraEnvVars": [
                    {"name": "MOTCUA_GRPC_WORKERS", "value": "64"},
                    {"name": "MOTCUA_LOG_LEVEL", "value": "DEBUG"},
                ],
            }
        },
    }
    rendered = render(values)
    dossiers = Settings.from_env(rendered.environment("dossiers"))
    assert dossiers.eventstore_env["POSTGRES_DBNAME"] == "dossiers_prod"
    assert (dossiers.grpc_workers, dossiers.relay_batch_size, dossiers.log_level) == (64, 50, "DEBUG")
    names = [v["name"] for v in rendered.container("dossiers")["env"]]
    assert len(names) == len(set(names)), names  # the service's own value replaces the global one
    identity = Settings.from_env(rendered.environment("identity"))
    assert (identity.grpc_workers, identity.log_level) == (8, "INFO")


def test_tracing_sets_the_otlp_endpoint_and_each_service_name() -> None:
    endpoint = "http://otel-collector.observability.svc:4317"
    rendered = render({"tracing": {"otlpEndpoint": endpoint}})
    for service in SERVICES:
        env = rendered.environment(service)
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == endpoint, service
        assert env["OTEL_SERVICE_NAME"] == service
        assert f"k8s.namespace.name={NAMESPACE}" in env["OTEL_RESOURCE_ATTRIBUTES"]
        names = [v["name"] for v in rendered.container(service)["env"]]
        # $(K8S_POD_NAME) in OTEL_RESOURCE_ATTRIBUTES expands only if defined before it.
        assert names.index("K8S_POD_NAME") < names.index("OTEL_RESOURCE_ATTRIBUTES")


# --- the gateway's backends -----------------------------------------------------------------------


def _backends(rendered: Rendered) -> dict[str, str]:
    return GatewaySettings.from_env(rendered.environment("gateway")).backends  # the gateway's own parser


def test_gateway_backends_are_every_enabled_grpc_service_at_its_service_address() -> None:
    rendered = render()
    gateway = GatewaySettings.from_env(rendered.environment("gateway"))
    assert (gateway.http_host, gateway.http_port) == ("0.0.0.0", 8080)
    backends = gateway.backends
    assert set(backends) == set(GRPC_SERVICES)
    services = rendered.of_kind("Service")
    for name, addr in backends.items():
        host, port = addr.rsplit(":", 1)
        svc_name, namespace, svc, domain = host.split(".", 3)
        assert (namespace, svc, domain) == (NAMESPACE, "svc", "cluster.local"), addr
        assert port == "50051" and services[svc_name]["spec"]["ports"][0]["port"] == 50051
        assert services[svc_name]["metadata"]["labels"]["app.kubernetes.io/component"] == name


def test_dossiers_sign_results_with_the_release_signing_service() -> None:
    from motcua.dossiers.config import DossiersConfig

    rendered = render()
    addr = DossiersConfig.from_env(rendered.environment("dossiers")).signing_addr
    host, port = addr.rsplit(":", 1)
    service = rendered.of_kind("Service")[host.split(".", 1)[0]]
    assert service["metadata"]["labels"]["app.kubernetes.io/component"] == "signing"
    assert port == "50051"
    # Without a signing service there is nobody to ask: results then fail with a clear error.
    assert "MOTCUA_SIGNING_ADDR" not in render(disabled("signing")).environment("dossiers")


def test_dossiers_ask_the_release_identity_and_notifications_for_a_persons_data() -> None:
    from motcua.dossiers.config import DossiersConfig

    rendered = render()
    config = DossiersConfig.from_env(rendered.environment("dossiers"))
    for name, addr in (("identity", config.identity_addr), ("notifications", config.notifications_addr)):
        host, port = addr.rsplit(":", 1)
        service = rendered.of_kind("Service")[host.split(".", 1)[0]]
        assert service["metadata"]["labels"]["app.kubernetes.io/component"] == name
        assert port == "50051"
    assert "MOTCUA_NOTIFICATIONS_ADDR" not in render(disabled("notifications")).environment("dossiers")


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_disabling_a_service_removes_its_objects_and_its_backend(service: str) -> None:
    rendered = render(disabled(service))
    name = f"{RELEASE}-{service}"
    for kind in ("Deployment", "Service", "NetworkPolicy"):
        assert name not in rendered.of_kind(kind), kind
        assert len(rendered.of_kind(kind)) == len(SERVICES) - 1, kind
    assert set(_backends(rendered)) == set(GRPC_SERVICES) - {service}


def test_only_the_enabled_services_are_backends() -> None:
    rendered = render(disabled("identity", "signing", "notifications"))
    assert set(_backends(rendered)) == {"procedures", "dossiers"}
    assert set(rendered.of_kind("Deployment")) == {f"{RELEASE}-{s}" for s in ("procedures", "dossiers", "gateway")}


def test_disabling_the_gateway_keeps_the_grpc_services() -> None:
    rendered = render(disabled("gateway"))
    assert set(rendered.of_kind("Deployment")) == {f"{RELEASE}-{s}" for s in GRPC_SERVICES}


# --- render-time validation -----------------------------------------------------------------------


def test_no_password_source_fails_with_a_readable_message() -> None:
    error = render_error({"postgresql": {"password": ""}})
    assert "VALUES VALIDATION" in error
    assert "no PostgreSQL password" in error
    assert "postgresql.existingSecret" in error and "postgresql.password" in error


def test_both_password_sources_fail_with_a_readable_message() -> None:
    error = render_error({"postgresql": {"existingSecret": "pg-credentials"}})
    assert "both postgresql.password and postgresql.existingSecret are set" in error


def test_bare_defaults_fail_and_name_everything_missing() -> None:
    error = render_error({}, required=False)
    assert "no PostgreSQL password" in error
    assert "postgresql.host: not set" in error
    assert "kafka.bootstrapServers: not set" in error
    assert "signing.keysSecret: not set" in error
    assert "auth.issuer: not set" in error
    assert "identity.keysSecret: not set" in error


@pytest.mark.parametrize(
    "values, message",
    [
        ({"kafka": {"bootstrapServers": "kafka.svc"}}, '"kafka.svc" is not host:port'),
        ({"config": {"shutdownGrace": 30}}, "must be more than\n  config.shutdownGrace (30)"),
        (disabled(*SERVICES), "every service is disabled"),
        (
            {"services": {"identity": {"extraEnvVars": [{"name": "POSTGRES_DBNAME", "value": "x"}]}}},
            "services.identity.extraEnvVars: POSTGRES_DBNAME is set by the chart for identity",
        ),
        (
            {"extraEnvVars": [{"name": "MOTCUA_BACKENDS", "value": "x=y:1"}]},
            "extraEnvVars: MOTCUA_BACKENDS is set by the chart for gateway",
        ),
        ({"services": {"gateway": {"healthTimeout": 5}}}, "probes.readiness.timeoutSeconds: 2 must be more than"),
        ({"services": {"gateway": {"service": {"nodePort": 30080}}}}, "a ClusterIP Service has no node port"),
        ({"tracing": {"samplerArg": "0.1"}}, "tracing.samplerArg: set without tracing.sampler"),
        (
            {"podLabels": {"app.kubernetes.io/component": "x"}},
            "podLabels: app.kubernetes.io/component is set by the chart",
        ),
        (
            {"services": {"signing": {"podAnnotations": {"checksum/config": "x"}}}},
            "services.signing.podAnnotations: checksum/config is set by the chart",
        ),
        ({"signing": {"devPki": True}}, "both signing.devPki and signing.keysSecret are set"),
        (
            {"services": {"signing": {"extraEnvVars": [{"name": "MOTCUA_SIGNING_DEV_PKI", "value": "true"}]}}},
            "MOTCUA_SIGNING_DEV_PKI is set by the chart for signing and cannot be overridden here (use the signing "
            "values)",
        ),
    ],
    ids=[
        "kafka-address",
        "grace-period",
        "nothing-enabled",
        "managed-env",
        "managed-env-global",
        "health-timeout",
        "node-port",
        "sampler-arg",
        "chart-label",
        "checksum-annotation",
        "signing-both-pki-sources",
        "signing-managed-env",
    ],
)
def test_bad_values_fail_with_a_readable_message(values: dict, message: str) -> None:
    error = render_error(values)
    assert "VALUES VALIDATION" in error
    assert message in error


@pytest.mark.parametrize(
    "values, fragment",
    [
        ({"services": {"dossier": {"enabled": True}}}, "dossier"),  # a typo of dossiers
        ({"config": {"logLevel": "verbose"}}, "logLevel"),
        ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
        ({"services": {"identity": {"replicas": "two"}}}, "replicas"),
        ({"tracing": {"otlpEndpoint": "collector:4317"}}, "otlpEndpoint"),
        ({"postgresql": {"hostname": "pg"}}, "hostname"),
        ({"signing": {"tsaUrl": "tsa.example:318"}}, "tsaUrl"),
        ({"signing": {"auditKeyFile": "../audit.key.pem"}}, "auditKeyFile"),
        ({"signing": {"storage": {"claim": "pvc"}}}, "claim"),
        ({"config": {"trustedProxies": "10.0.0.0/8"}}, "trustedProxies"),
    ],
    ids=[
        "unknown-service",
        "log-level-enum",
        "pull-policy-enum",
        "replicas-type",
        "endpoint-url",
        "unknown-key",
        "tsa-url",
        "audit-key-file-name",
        "signing-unknown-key",
        "trusted-proxies-list",
    ],
)
def test_the_values_schema_rejects_bad_values(values: dict, fragment: str) -> None:
    error = render_error(values)
    assert "values don't meet the specifications of the schema" in error
    assert fragment in error


# --- the signing service: data volume, keys Secret
# -------------------------------------------------

SIGNING_DIR = "/var/lib/motcua/signing"
SIGNING_KEYS = "/etc/motcua/signing/keys"


def _volumes(rendered: Rendered, service: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """(mounts by path, volumes by name) of a service's pod."""
    pod = rendered.deployment(service)["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in rendered.container(service)["volumeMounts"]}
    return mounts, {v["name"]: v for v in pod["volumes"]}


def test_signing_gets_a_writable_volume_at_its_data_dir_and_its_keys_secret_read_only() -> None:
    rendered = render()
    env = rendered.environment("signing")
    config = SigningConfig.from_env(env)  # the service's own parser
    assert str(config.directory) == SIGNING_DIR
    assert config.dev_pki is False
    assert str(config.keys_dir) == SIGNING_KEYS
    assert [str(p) for p in config.trust_roots] == [f"{SIGNING_KEYS}/trust-roots.pem"]
    assert str(config.documents_dir).startswith(SIGNING_DIR + "/")  # the signed PDFs are on the volume
    assert config.tsa_url is None and "MOTCUA_SIGNING_TSA_URL" not in env
    mounts, volumes = _volumes(rendered, "signing")
    data = mounts[SIGNING_DIR]
    assert not data.get("readOnly", False)
    assert volumes[data["name"]] == {"name": data["name"], "emptyDir": {"sizeLimit": "1Gi"}}
    keys = mounts[SIGNING_KEYS]
    assert keys["readOnly"] is True
    assert volumes[keys["name"]] == {
        "name": keys["name"],
        "secret": {"secretName": "signing-keys", "defaultMode": 0o440},
    }
    # The root filesystem stays read-only; nothing else is mounted.
    assert rendered.container("signing")["securityContext"]["readOnlyRootFilesystem"] is True
    assert set(mounts) == {"/tmp", SIGNING_DIR, SIGNING_KEYS}


def test_signing_storage_on_an_existing_claim_and_a_timestamp_authority() -> None:
    tsa = "https://tsa.example.gov.vn/tsa"
    rendered = render({"signing": {"storage": {"existingClaim": "signing-documents"}, "tsaUrl": tsa}})
    config = SigningConfig.from_env(rendered.environment("signing"))
    assert config.tsa_url == tsa
    mounts, volumes = _volumes(rendered, "signing")
    data = mounts[SIGNING_DIR]
    assert volumes[data["name"]] == {"name": data["name"], "persistentVolumeClaim": {"claimName": "signing-documents"}}
    assert validate_documents(rendered.documents, KUBE_VERSION) == []


def test_signing_signs_chain_checkpoints_with_the_audit_key_of_its_keys_secret() -> None:
    assert SigningConfig.from_env(render().environment("signing")).audit_key is None
    rendered = render({"signing": {"auditKeyFile": "audit-2026.key.pem"}})
    config = SigningConfig.from_env(rendered.environment("signing"))
    assert str(config.audit_key) == f"{SIGNING_KEYS}/audit-2026.key.pem"
    assert validate_documents(rendered.documents, KUBE_VERSION) == []


def test_signing_dev_pki_for_demos_needs_no_secret() -> None:
    rendered = render({"signing": {"devPki": True, "keysSecret": ""}})
    config = SigningConfig.from_env(rendered.environment("signing"))
    assert config.dev_pki is True
    assert config.dev_pki_dir == Path(SIGNING_DIR) / "pki"  # generated on the writable volume
    assert config.keys_dir == Path(SIGNING_DIR) / "pki" / "keys"
    mounts, volumes = _volumes(rendered, "signing")
    assert set(mounts) == {"/tmp", SIGNING_DIR}
    assert not any("secret" in v for v in volumes.values())
    assert validate_documents(rendered.documents, KUBE_VERSION) == []


def test_signing_without_keys_secret_or_dev_pki_fails_with_a_readable_message() -> None:
    error = render_error({"signing": {"keysSecret": ""}})
    assert "VALUES VALIDATION" in error
    assert "signing.keysSecret: not set" in error
    assert "signing.devPki=true" in error and "services.signing.enabled=false" in error


def test_signing_disabled_needs_no_keys() -> None:
    rendered = render(merge_values(disabled("signing"), {"signing": {"keysSecret": ""}}))
    assert f"{RELEASE}-signing" not in rendered.of_kind("Deployment")


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "signing"])
def test_other_services_get_none_of_the_signing_setup(service: str) -> None:
    values = {"signing": {"storage": {"existingClaim": "signing-documents"}, "tsaUrl": "http://tsa.example/"}}
    rendered = render(values)
    env = rendered.environment(service)
    # Dossiers only learns where signing is (MOTCUA_SIGNING_ADDR), nothing of its setup.
    assert [name for name in env if name.startswith("MOTCUA_SIGNING_")] == (
        ["MOTCUA_SIGNING_ADDR"] if service == "dossiers" else [])
    mounts, volumes = _volumes(rendered, service)
    # Identity's keys Secrets, dossiers' attachments and the notifications' key-encryption keys
    # are their only other volumes.
    own = {"identity": (("/etc/motcua/identity/keys", "identity-keys"),
                        ("/etc/motcua/identity/subject-keks", "identity-subject-keks")),
           "dossiers": (("/var/lib/motcua/dossiers", "dossiers-data"),),
           "notifications": (("/etc/motcua/notifications/subject-keks", "notifications-subject-keks"),),
           }.get(service, ())
    assert set(mounts) == {"/tmp", *(path for path, _ in own)}
    assert set(volumes) == {"tmp", *(name for _, name in own)}


def test_dossiers_keep_attachments_on_their_data_volume() -> None:
    from motcua.dossiers.config import DossiersConfig

    rendered = render()
    documents = DossiersConfig.from_env(rendered.environment("dossiers")).documents_dir
    mounts, volumes = _volumes(rendered, "dossiers")
    mount = mounts["/var/lib/motcua/dossiers"]
    config = DossiersConfig.from_env(rendered.environment("dossiers"))
    assert documents.is_relative_to("/var/lib/motcua/dossiers")  # writable despite the read-only root
    assert config.lookup_key_file.is_relative_to("/var/lib/motcua/dossiers")  # generated there when missing
    assert "MOTCUA_DOSSIERS_LOOKUP_KEY" not in rendered.environment("dossiers")
    keyed = render({"dossiers": {"lookupKeySecret": "dossier-lookup-key"}})
    (var,) = [v for v in keyed.container("dossiers")["env"] if v["name"] == "MOTCUA_DOSSIERS_LOOKUP_KEY"]
    assert var["valueFrom"]["secretKeyRef"] == {"name": "dossier-lookup-key", "key": "lookup-throttle.key"}
    # By default a claim of the chart's own, kept when the release is uninstalled: attachments
    # survive evictions, reschedules and upgrades.
    claim = volumes[mount["name"]]["persistentVolumeClaim"]["claimName"]
    pvc = rendered.of_kind("PersistentVolumeClaim")[claim]
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert "storageClassName" not in pvc["spec"]  # the cluster's default class

    claimed = render({"dossiers": {"storage": {"existingClaim": "dossier-files"}}})
    _, volumes = _volumes(claimed, "dossiers")
    assert volumes["dossiers-data"]["persistentVolumeClaim"] == {"claimName": "dossier-files"}
    assert not claimed.of_kind("PersistentVolumeClaim")  # the existing one is used, none created

    # An emptyDir only when chosen (its attachments are lost with the pod).
    scratch = render({"dossiers": {"storage": {"type": "emptyDir"}}})
    _, volumes = _volumes(scratch, "dossiers")
    assert volumes["dossiers-data"]["emptyDir"] == {"sizeLimit": "2Gi"}
    assert not scratch.of_kind("PersistentVolumeClaim")


def test_several_dossiers_replicas_need_a_claim_they_can_all_write() -> None:
    refused = render_error({"services": {"dossiers": {"replicas": 2}}})
    assert "dossiers.storage.accessModes" in refused and "ReadWriteMany" in refused
    shared = render({"services": {"dossiers": {"replicas": 2}},
                     "dossiers": {"storage": {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs"}}})
    (pvc,) = shared.of_kind("PersistentVolumeClaim").values()
    assert pvc["spec"] == {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs",
                           "resources": {"requests": {"storage": "20Gi"}}}


# --- config checksum ------------------------------------------------------------------------------


def _checksums(rendered: Rendered) -> dict[str, str]:
    return {name: d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            for name, d in rendered.of_kind("Deployment").items()}


def test_config_checksum_changes_with_the_config_and_only_then() -> None:
    base = _checksums(render())
    assert len(set(base.values())) == 1  # one shared ConfigMap
    for change in ({"config": {"logLevel": "DEBUG"}},
                   {"kafka": {"bootstrapServers": "other-kafka:9092"}},
                   {"postgresql": {"port": 6432}},
                   {"tracing": {"otlpEndpoint": "http://collector:4317"}}):
        changed = _checksums(render(change))
        assert all(changed[name] != base[name] for name in base), change
    unrelated = _checksums(render({"services": {"procedures": {"replicas": 3}}, "podAnnotations": {"a": "b"}}))
    assert unrelated == base


# --- network policies -----------------------------------------------------------------------------


def test_network_policies_admit_grpc_only_from_the_release_and_http_from_anywhere() -> None:
    rendered = render()
    policies = rendered.of_kind("NetworkPolicy")
    gateway_pod_labels = rendered.deployment("gateway")["spec"]["template"]["metadata"]["labels"]
    for service in SERVICES:
        policy = policies[f"{RELEASE}-{service}"]["spec"]
        assert policy["policyTypes"] == ["Ingress"]  # egress stays open (documented in values.yaml)
        assert policy["podSelector"]["matchLabels"] == rendered.deployment(service)["spec"]["selector"]["matchLabels"]
        (rule,) = policy["ingress"]
        if service == "gateway":
            assert rule == {"ports": [{"port": 8080, "protocol": "TCP"}]}  # no `from`: anyone
        else:
            # Identity's JWKS port too, from the same pods: every service fetches the keys there;
            # and notifications' receipts port, which the gateway passes the providers' calls to.
            http = {"identity": 8081, "notifications": 8082}.get(service)
            assert rule["ports"] == [{"port": 50051, "protocol": "TCP"},
                                     *([{"port": http, "protocol": "TCP"}] if http else [])]
            (peer,) = rule["from"]
            assert set(peer) == {"podSelector"}  # this namespace only
            selector = peer["podSelector"]["matchLabels"]
            assert selector == {"app.kubernetes.io/name": "motcua", "app.kubernetes.io/instance": RELEASE}
            assert selector.items() <= gateway_pod_labels.items()  # the gateway gets in


def test_network_policies_can_be_turned_off() -> None:
    assert render({"networkPolicy": {"enabled": False}}).of_kind("NetworkPolicy") == {}


# --- NOTES.txt ------------------------------------------------------------------------------------


def test_notes_tell_how_to_reach_the_gateway_and_check_health(tmp_path: Path) -> None:
    notes = render_notes(tmp_path, {})
    assert f"kubectl --namespace {NAMESPACE} port-forward svc/{RELEASE}-gateway 8080:8080" in notes
    assert "curl -s http://127.0.0.1:8080/healthz" in notes and "curl -s http://127.0.0.1:8080/livez" in notes
    for service in GRPC_SERVICES:
        assert f"{RELEASE}-{service}.{NAMESPACE}.svc.cluster.local:50051" in notes


def test_notes_without_the_gateway_point_at_a_grpc_service(tmp_path: Path) -> None:
    notes = render_notes(tmp_path, disabled("gateway", "dossiers"))
    assert "gateway" not in notes.split("The gateway is disabled")[0]
    assert f"port-forward svc/{RELEASE}-identity 50051:50051" in notes
    assert "grpc.health.v1.Health/Check" in notes
