"""The chart's hooks, rendered: the pre-install/pre-upgrade Job running motcua-migrate with the
Secrets made beforehand (the release's own do not exist yet), and the `helm test` walk-through
pod aimed at the gateway's Service. Run on a real cluster by tests/k8s/test_chart_install.py."""

from __future__ import annotations

from motcua.kernel.provision import SERVICES as PROVISIONED
from tests.charts.rendering import GRPC_SERVICES, NAMESPACE, RELEASE, disabled, needs_helm, render, render_error

pytestmark = needs_helm

MIGRATE = {"postgresql": {"password": "", "existingSecret": "pg-app"},
           "migrate": {"enabled": True, "adminSecret": "pg-admin"}}


def test_the_migrate_job_is_a_pre_install_and_pre_upgrade_hook_with_the_secrets_made_beforehand():
    job = render(MIGRATE).get("Job", f"{RELEASE}-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod  # the release's ServiceAccount is not there yet
    (container,) = pod["containers"]
    assert container["command"] == ["motcua-migrate", "--services", ",".join(sorted(GRPC_SERVICES))]
    assert set(GRPC_SERVICES) == set(PROVISIONED)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "pg-app", "key": "password"}
    assert env["MOTCUA_ADMIN_POSTGRES_USER"]["valueFrom"]["secretKeyRef"] == {"name": "pg-admin", "key": "username"}
    assert env["MOTCUA_ADMIN_POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "pg-admin", "key": "password"}
    assert env["POSTGRES_HOST"]["value"] == "pg.databases.svc"
    assert env["MOTCUA_DOSSIERS_DBNAME"]["value"] == "motcua_dossiers"
    assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == "kafka-0.kafka.svc:9092,kafka-1.kafka.svc:9092"


def test_the_job_provisions_only_the_enabled_services_under_their_database_names():
    values = {**MIGRATE, **disabled("notifications"),
              "services": {"notifications": {"enabled": False}, "dossiers": {"database": "hoso"}}}
    (container,) = render(values).get("Job", f"{RELEASE}-migrate")["spec"]["template"]["spec"]["containers"]
    assert container["command"][-1] == "dossiers,identity,procedures,signing"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MOTCUA_DOSSIERS_DBNAME"] == "hoso" and "MOTCUA_NOTIFICATIONS_DBNAME" not in env


def test_no_job_unless_enabled_and_an_enabled_job_needs_both_secrets():
    assert "Job" not in {o["kind"] for o in render().objects}
    message = render_error({"migrate": {"enabled": True}})
    assert "migrate.adminSecret: not set" in message
    assert "migrate.enabled: needs postgresql.existingSecret" in message


def test_helm_test_walks_through_the_gateway_s_service():
    pod = render().get("Pod", f"{RELEASE}-test-walkthrough")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["python", "-m", "motcua.deploy.walkthrough", "--api",
                                    f"http://{RELEASE}-gateway.{NAMESPACE}.svc.cluster.local:8080"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert "Pod" not in {o["kind"] for o in render({"tests": {"walkthrough": {"enabled": False}}}).objects}
