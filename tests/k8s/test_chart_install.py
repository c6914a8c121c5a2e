"""The chart on the project's own cluster, as a platform engineer would run it (README, "Deploy on
Kubernetes"): the development PostgreSQL and Kafka, the Secrets, `helm install` (its pre-install
Job provisions the databases, the services' role and the topics), `helm test` (the walk-through
through the gateway's Service), `motcua-deploy verify` (rollouts, readiness, restarts, the image
digest); a broken rollout that verify reports and `helm rollback` repairs; `helm uninstall`.
Prints the figures (install, test and verify times)."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.k8s.conftest import NAMESPACE, RELEASE, RESTARTS, SERVICES, helm, image_digest, kubectl, run

# Under load the cluster alone can take minutes to start; the install, tests and rollback as long.
pytestmark = [pytest.mark.k8s, pytest.mark.timeout(2400)]

def test_the_pre_install_job_provisioned_a_role_without_rights_beyond_its_own_databases(installed):
    # The Job is gone once it succeeded (hook-succeeded); what it made is in PostgreSQL.
    query = ("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'motcua';"
             "SELECT datname || '=' || pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE 'motcua_%' "
             "ORDER BY 1")
    out = kubectl("-n", "motcua-deps", "exec", "postgresql-0", "--", "env", "PGPASSWORD=motcua-dev", "psql",
                  "-U", "postgres", "-h", "127.0.0.1", "-AtF", ",", "-c", query)
    lines = out.split()
    assert lines[0] == "f,f,f", out
    assert lines[1:] == [f"motcua_{s}=motcua" for s in sorted(SERVICES) if s != "gateway"], out
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-o", "json"))["items"]
    running = sorted(p["metadata"]["labels"].get("app.kubernetes.io/component", "") for p in pods
                     if p["status"]["phase"] == "Running")
    assert running == sorted(SERVICES), running


def test_helm_test_walks_through_the_gateway(installed):
    started = time.monotonic()
    out = helm("test", RELEASE, "--logs", "--timeout", "10m", timeout=660)
    installed["helm test"] = time.monotonic() - started
    assert re.search(r"Phase:\s+Succeeded", out), out
    for step in ("procedure published", "dossier submitted", "dossier received", "notification read",
                 "PDF signed and verified", "walk-through passed"):
        assert step in out, out
    assert "tiếp nhận" in out  # the citizen's notification, in Vietnamese, as the pod printed it


def test_motcua_deploy_verifies_the_release_runs_the_built_image(installed):
    digest = image_digest()
    started = time.monotonic()
    verify = run("deploy.sh", "verify", "--namespace", NAMESPACE, "--release", RELEASE, "--timeout", "300",
                 "--max-restarts", RESTARTS, "--expect-digest", digest, timeout=360)
    installed["verify"] = time.monotonic() - started
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"HEALTHY: {len(SERVICES)} workloads rolled out, {len(SERVICES)} pods ready" in verify.stdout, verify.stdout
    assert verify.stdout.count(digest) == len(SERVICES), verify.stdout
    print("\n" + verify.stdout)

    # Another digest expected: every pod is named as running something else.
    other = "sha256:" + "0" * 64
    wrong = run("deploy.sh", "status", "--namespace", NAMESPACE, "--max-restarts", RESTARTS, "--expect-digest", other,
                timeout=120)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert wrong.stdout.count(f"expected {other}") == len(SERVICES), wrong.stdout


def test_a_broken_rollout_is_reported_with_its_events_and_helm_rollback_repairs_it(installed):
    revision = json.loads(helm("history", RELEASE, "-o", "json"))[-1]["revision"]
    # An upgrade to an image the node does not have (without the hook Job, which would never start
    # either): the new pods can never start, the old ones keep serving (one surge pod at a time).
    helm("upgrade", RELEASE, "charts/motcua", "--values", "infra/k8s/values-dev.yaml", "--no-hooks",
         "--set", "image.tag=not-built", timeout=320)
    broken = run("deploy.sh", "verify", "--namespace", NAMESPACE, "--timeout", "30", timeout=120)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "UNHEALTHY" in broken.stdout and "NOT ROLLED OUT" in broken.stdout, broken.stdout
    assert "ErrImageNeverPull" in broken.stdout, broken.stdout  # the waiting reason and the pods' events
    assert "events of pod/" in broken.stdout, broken.stdout

    started = time.monotonic()
    helm("rollback", RELEASE, str(revision), "--wait", "--timeout", "10m", timeout=620)
    installed["rollback"] = time.monotonic() - started
    again = run("deploy.sh", "verify", "--namespace", NAMESPACE, "--timeout", "300", "--max-restarts", RESTARTS,
                "--expect-digest", image_digest(), timeout=360)
    assert again.returncode == 0, again.stdout + again.stderr
