"""The chart's Kafka connection settings: TLS, SASL from an existing Secret, the replication of
the topics the services create; all of it read by the kernel's KafkaSettings."""

from __future__ import annotations

import pytest

from motcua.kernel.config import KafkaSettings

from .rendering import GRPC_SERVICES, render, render_error

SASL_SSL = {
    "kafka": {
        "securityProtocol": "SASL_SSL",
        "replicationFactor": 3,
        "minInsyncReplicas": 2,
        "sasl": {"mechanism": "SCRAM-SHA-512", "username": "motcua", "existingSecret": "motcua"},
        "tls": {"caSecret": "motcua-kafka-cluster-ca-cert", "clientCertSecret": "motcua-tls",
                "clientCertKey": "user.crt", "clientKeyKey": "user.key"},
    }
}


def _volume_files(rendered, service: str) -> dict[str, tuple[str, str]]:
    """Path of every file the container sees from a Secret -> (Secret name, key)."""
    pod = rendered.deployment(service)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    secrets = {v["name"]: v["secret"] for v in pod["volumes"] if "secret" in v}
    files = {}
    for mount in container["volumeMounts"]:
        if (secret := secrets.get(mount["name"])) is not None:
            for item in secret.get("items", []):
                files[f"{mount['mountPath']}/{item['path']}"] = (secret["secretName"], item["key"])
    return files


def test_defaults_are_plaintext_with_one_replica() -> None:
    env = render().environment("dossiers")
    settings = KafkaSettings.from_env(env)
    assert (settings.security_protocol, settings.replication_factor, settings.min_insync_replicas) == \
        ("PLAINTEXT", 1, 1)
    assert not any(name.startswith("MOTCUA_KAFKA_SASL") or name.startswith("MOTCUA_KAFKA_SSL_") for name in env)


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_sasl_ssl_reaches_every_service_with_its_password_and_certificates_from_secrets(service: str) -> None:
    rendered = render(SASL_SSL)
    env = rendered.environment(service)
    assert env["MOTCUA_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["MOTCUA_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["MOTCUA_KAFKA_SASL_USERNAME"] == "motcua"
    assert env["MOTCUA_KAFKA_SASL_PASSWORD"] == "<external>"  # from the Secret, never a value
    (var,) = [v for v in rendered.container(service)["env"] if v["name"] == "MOTCUA_KAFKA_SASL_PASSWORD"]
    assert var["valueFrom"]["secretKeyRef"] == {"name": "motcua", "key": "password"}
    assert (env["MOTCUA_KAFKA_REPLICATION_FACTOR"], env["MOTCUA_KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    files = _volume_files(rendered, service)
    assert files[env["MOTCUA_KAFKA_SSL_CAFILE"]] == ("motcua-kafka-cluster-ca-cert", "ca.crt")
    assert files[env["MOTCUA_KAFKA_SSL_CERTFILE"]] == ("motcua-tls", "user.crt")
    assert files[env["MOTCUA_KAFKA_SSL_KEYFILE"]] == ("motcua-tls", "user.key")
    # What the kernel makes of it (its check of the files' existence aside: they are in the pod).
    settings = KafkaSettings(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], security_protocol="SASL_SSL",
                             sasl_mechanism=env["MOTCUA_KAFKA_SASL_MECHANISM"],
                             sasl_username=env["MOTCUA_KAFKA_SASL_USERNAME"], sasl_password="x")
    assert settings.client_kwargs()["sasl_mechanism"] == "SCRAM-SHA-512"


def test_the_gateway_gets_no_kafka_secret() -> None:
    rendered = render(SASL_SSL)
    assert "MOTCUA_KAFKA_SASL_PASSWORD" not in {v["name"] for v in rendered.container("gateway").get("env", [])}
    assert _volume_files(rendered, "gateway") == {}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafka": {"securityProtocol": "SASL_SSL"}}, "kafka.sasl.existingSecret: required"),
        ({"kafka": {"securityProtocol": "SASL_SSL", "sasl": {"username": "u", "existingSecret": "s"}}},
         "kafka.sasl.mechanism: required"),
        ({"kafka": {"sasl": {"username": "u"}}}, "kafka.sasl: set, but kafka.securityProtocol is PLAINTEXT"),
        ({"kafka": {"tls": {"caSecret": "ca"}}}, "kafka.tls: a Secret is set"),
        ({"kafka": {"minInsyncReplicas": 2}}, "kafka.minInsyncReplicas: 2 exceeds kafka.replicationFactor 1"),
    ],
)
def test_kafka_settings_that_cannot_work_fail_with_a_readable_message(values: dict, message: str) -> None:
    error = render_error(values)
    assert "VALUES VALIDATION" in error and message in error


def test_the_schema_rejects_an_unknown_protocol() -> None:
    assert "securityProtocol" in render_error({"kafka": {"securityProtocol": "TLS"}})
