"""The cluster tests start a real single-node Kubernetes (infra/k8s/up.sh) and tear it down. They
take minutes and need root, so they are opt-in: collected always, run only when `-m k8s` selects
them (make k8s-test), skipped with that reason otherwise."""

from __future__ import annotations

import os
import subprocess
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


@pytest.fixture(scope="session")
def cluster() -> Iterator[str]:
    """A started cluster for the session's tests; stopped and cleaned afterwards. Yields the
    `make k8s-up` output (it ends with the start time)."""
    if os.geteuid() != 0:
        pytest.fail("the cluster needs root (network namespace, containerd, kubelet)")
    up = subprocess.run(["bash", "infra/k8s/up.sh"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    try:
        assert up.returncode == 0, f"k8s-up failed:\n{up.stdout}\n{up.stderr}"
        yield up.stdout
    finally:
        down = subprocess.run(["bash", "infra/k8s/down.sh"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert down.returncode == 0, f"k8s-down failed:\n{down.stdout}\n{down.stderr}"
