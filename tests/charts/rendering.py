"""Renders the chart charts/motcua with the real helm binary (.local/bin/helm, built by
`make helm`) and reads the result: objects by kind and name, a container's environment as
its process would see it."""

from __future__ import annotations

import base64
import functools
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.charts.kubeschema import KUBE_VERSION, load_documents

ROOT = Path(__file__).resolve().parents[2]
HELM = ROOT / ".local" / "bin" / "helm"
CHART = ROOT / "charts" / "motcua"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))

RELEASE = "motcua"
NAMESPACE = "egov"
GRPC_SERVICES = ("identity", "procedures", "dossiers", "signing", "notifications")
SERVICES = (*GRPC_SERVICES, "gateway")
PASSWORD = "s3cret-for-tests"
ISSUER = "https://dichvucong.example.gov.vn"
# The JWKS of an identity service outside the release, for renders without identity.
EXTERNAL_JWKS = "http://motcua-identity.identity.svc.cluster.local:8081/.well-known/jwks.json"
# What every install must set (see values.yaml); the tests add to it.
REQUIRED = {
    "postgresql": {"host": "pg.databases.svc", "password": PASSWORD},
    "kafka": {"bootstrapServers": "kafka-0.kafka.svc:9092,kafka-1.kafka.svc:9092"},
    "auth": {"issuer": ISSUER},
    "identity": {"keysSecret": "identity-keys", "subjectKeksSecret": "identity-subject-keks"},
    "signing": {"keysSecret": "signing-keys"},
    "notifications": {"subjectKeksSecret": "notifications-subject-keks"},
}

# Each test module marks itself with this: without helm, nothing here can run.
needs_helm = pytest.mark.skipif(
    not HELM.exists(), reason="no helm binary at .local/bin/helm: build it with `make helm` (make test does)"
)


def merge_values(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = (
            merge_values(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def helm(*args: str, values: dict | None = None, files: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        json.dump(values or {}, f)  # JSON is YAML
        f.flush()
        cmd = [str(HELM), *args, str(CHART), "--kube-version", KUBE_VERSION]
        for path in (*files, Path(f.name)):
            cmd += ["--values", str(path)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@functools.cache
def _template(values_json: str, files: tuple[Path, ...]) -> subprocess.CompletedProcess:
    return helm("template", RELEASE, "--namespace", NAMESPACE, values=json.loads(values_json), files=files)


class Rendered:
    def __init__(self, text: str) -> None:
        self.documents = load_documents(text)
        self.objects = [doc.obj for doc in self.documents]

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return {o["metadata"]["name"]: o for o in self.objects if o["kind"] == kind}

    def get(self, kind: str, name: str) -> dict[str, Any]:
        objects = self.of_kind(kind)
        assert name in objects, f"no {kind}/{name}; there are {sorted(objects)}"
        return objects[name]

    def deployment(self, service: str) -> dict[str, Any]:
        return self.get("Deployment", f"{RELEASE}-{service}")

    def container(self, service: str) -> dict[str, Any]:
        (container,) = self.deployment(service)["spec"]["template"]["spec"]["containers"]
        return container

    def environment(self, service: str) -> dict[str, str]:
        """The container's environment as the process would see it: envFrom ConfigMaps, then env,
        with Secret and ConfigMap references resolved against the rendered objects."""
        container = self.container(service)
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(self.get("ConfigMap", source["configMapRef"]["name"])["data"])
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
            elif "secretKeyRef" in var["valueFrom"]:
                ref = var["valueFrom"]["secretKeyRef"]
                secret = self.of_kind("Secret").get(ref["name"])
                env[var["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode() if secret else "<external>"
            else:
                env[var["name"]] = "<from the pod>"
        return env


def render(values: dict | None = None, files: tuple[Path, ...] = (), required: bool = True) -> Rendered:
    result = _template(json.dumps(merge_values(REQUIRED, values or {}) if required else values or {}), files)
    assert result.returncode == 0, result.stderr
    return Rendered(result.stdout)


def render_error(values: dict, required: bool = True) -> str:
    result = _template(json.dumps(merge_values(REQUIRED, values) if required else values), ())
    assert result.returncode != 0, f"rendering succeeded:\n{result.stdout[:2000]}"
    return result.stderr


def disabled(*services: str) -> dict:
    """Values turning services off; without identity, the others trust an identity elsewhere."""
    values: dict = {"services": {name: {"enabled": False} for name in services}}
    if "identity" in services:
        values["auth"] = {"jwksUrl": EXTERNAL_JWKS}
    return values


def render_notes(tmp_path: Path, values: dict) -> str:
    """NOTES.txt as `helm install` would print it. `helm template` never prints the notes and
    `helm install --dry-run` needs a cluster: render a copy of the chart in which the notes are
    a named template quoted into a ConfigMap."""
    chart = tmp_path / "motcua"
    shutil.copytree(CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "NOTES.txt").unlink()
    (chart / "templates" / "_notes.tpl").write_text('{{- define "test.notes" -}}\n' + notes + "{{- end }}\n")
    (chart / "templates" / "notes.yaml").write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: '
        '{{ include "test.notes" . | quote }}\n'
    )
    values_file = tmp_path / "values.yaml"
    values_file.write_text(json.dumps(merge_values(REQUIRED, values)))
    result = subprocess.run(
        [str(HELM), "template", RELEASE, str(chart), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION,
         "--values", str(values_file), "--show-only", "templates/notes.yaml"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (doc,) = load_documents(result.stdout)
    return doc.obj["data"]["notes"]
