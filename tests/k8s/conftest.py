"""The cluster tests start a real single-node Kubernetes (infra/k8s/up.sh) and tear it down. They
take minutes and need root, so they are opt-in: collected always, run only when `-m k8s` selects
them (make k8s-test), skipped with that reason otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = ROOT / "infra" / "k8s" / "kubectl.sh"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "k8s" in (config.option.markexpr or ""):
        return
    opt_in = pytest.mark.skip(reason="the cluster tests are opt-in: make k8s-test (pytest -m k8s)")
    for item in items:
        if item.get_closest_marker("k8s"):
            item.add_marker(opt_in)


def kubectl(*args: str, timeout: float = 120, check: bool = True, stdin: str | None = None) -> str:
    result = subprocess.run([str(KUBECTL), *args], cwd=ROOT, input=stdin, capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def run_pod(namespace: str, image: str, script: str, *args: str, timeout: float = 300) -> str:
    """Runs `python -c script args` once in a pod `client` of the namespace and returns its log.
    Waits for either end (Succeeded or Failed): a pod that failed, or never ended, fails the test
    with its description, events and log, which a timeout alone would not show."""
    kubectl("-n", namespace, "run", "client", f"--image={image}", "--image-pull-policy=Never",
            "--restart=Never", "--command", "--", "python", "-c", script, *args)
    deadline = time.monotonic() + timeout
    phase = ""
    while time.monotonic() < deadline:
        phase = kubectl("-n", namespace, "get", "pod", "client", "-o", "jsonpath={.status.phase}")
        if phase in ("Succeeded", "Failed"):
            break
        time.sleep(2)
    log = kubectl("-n", namespace, "logs", "client", check=False)
    if phase != "Succeeded":
        described = kubectl("-n", namespace, "describe", "pod", "client", check=False)
        raise AssertionError(f"pod {namespace}/client ended {phase or 'in no phase'} after at most {timeout:g} s"
                             f"\n--- describe\n{described}\n--- log\n{log}")
    return log


@pytest.fixture(scope="session")
def cluster() -> Iterator[str]:
    """A started cluster for the session's tests; stopped and cleaned afterwards. Yields the
    `make k8s-up` output (it ends with the start time)."""
    if os.geteuid() != 0:
        pytest.fail("the cluster needs root (network namespace, containerd, kubelet)")
    up = subprocess.run(["bash", "infra/k8s/up.sh"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    try:
        assert up.returncode == 0, f"k8s-up failed:\n{up.stdout}\n{up.stderr}"
        print("\n" + up.stdout.strip().splitlines()[-1])  # k8s-up: cluster ready in N s
        yield up.stdout
    finally:
        down = subprocess.run(["bash", "infra/k8s/down.sh"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert down.returncode == 0, f"k8s-down failed:\n{down.stdout}\n{down.stderr}"


VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
NAMESPACE = "motcua"
RELEASE = "motcua"
SERVICES = ("identity", "procedures", "dossiers", "signing", "notifications", "gateway")
# On this shared two-core machine under load, a service's first connection to PostgreSQL can
# exceed the event store's 30 s pool timeout at a start: the pod restarts once or twice, then
# serves. verify tolerates that many restarts; more would be reported.
RESTARTS = "3"


def run(script: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", f"infra/k8s/{script}", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def helm(*args: str, timeout: float = 900) -> str:
    result = run("helm.sh", *args, "--namespace", NAMESPACE, timeout=timeout)
    assert result.returncode == 0, f"helm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def image_digest() -> str:
    """The manifest digest of the image make image built (what every pod must run)."""
    with tarfile.open(ROOT / ".local" / "image" / f"motcua-{VERSION}.oci.tar") as archive:
        member = archive.extractfile("./index.json") or archive.extractfile("index.json")
        assert member is not None, "the image archive has no index.json"
        index = json.load(member)
    return index["manifests"][0]["digest"]


@pytest.fixture(scope="module")
def installed(cluster: str) -> Iterator[dict[str, float]]:
    figures: dict[str, float] = {}
    kubectl("apply", "--server-side", "-f", str(ROOT / "infra" / "k8s" / "manifests" / "dev-deps.yaml"))
    for workload in ("statefulset/postgresql", "statefulset/kafka"):
        kubectl("-n", "motcua-deps", "rollout", "status", workload, "--timeout=300s", timeout=320)
    secrets = run("dev-secrets.sh", NAMESPACE)
    assert secrets.returncode == 0, secrets.stdout + secrets.stderr
    started = time.monotonic()
    helm("install", RELEASE, "charts/motcua", "--values", "infra/k8s/values-dev.yaml", "--wait",
         "--timeout", "15m", timeout=960)
    figures["install"] = time.monotonic() - started
    try:
        yield figures
    finally:
        started = time.monotonic()
        helm("uninstall", RELEASE, "--wait", "--timeout", "5m", timeout=320)
        figures["uninstall"] = time.monotonic() - started
        print("\nchart on the cluster: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in figures.items()))
