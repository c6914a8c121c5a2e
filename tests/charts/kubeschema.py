"""Validates rendered Kubernetes manifests against the JSON schemas bundled in kubernetes-validate,
offline and strictly (unknown fields are errors).

Unlike the `kubernetes-validate` CLI, a kind without a schema (a typo in apiVersion or kind, a
custom resource) is an error here, not a warning, and each error names the object and the
template it came from (helm's `# Source:` comment). The Prometheus Operator's ServiceMonitor
is checked against the part of its CRD's schema the chart uses (CUSTOM_SCHEMAS), as strictly.
Other custom resources (the Gateway API's HTTPRoute, the CloudNativePG and Strimzi examples) are
checked against the openAPIV3Schema of the CRDs given with --crd (released CRD files, fetched by
mk/charts.mk), made strict the same way: a field no schema declares is an error.

    python -m tests.charts.kubeschema [--kube-version 1.31.0] [--origin VALUES] [--crd CRD.yaml] \
        rendered.yaml...
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, VersionNotSupportedError

# The Kubernetes version the chart is rendered for (helm --kube-version) and validated against.
# mk/charts.mk pins the same default and exports CHARTS_KUBE_VERSION, which overrides this one.
KUBE_VERSION = os.environ.get("CHARTS_KUBE_VERSION") or "1.31.0"

_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
_SOURCE = re.compile(r"^# Source: (\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    obj: dict[str, Any]
    source: str | None  # the template that rendered it, from helm's "# Source:" comment

    @property
    def name(self) -> str:
        if isinstance(self.obj, dict):
            meta = self.obj.get("metadata") or {}
            where = f"{self.obj.get('kind', '?')}/{meta.get('name', '?') if isinstance(meta, dict) else '?'}"
        else:
            where = f"a {type(self.obj).__name__}"
        return f"{where} ({self.source})" if self.source else where


def load_documents(text: str) -> list[Document]:
    """The non-empty YAML documents of a multi-document stream (as `helm template` prints it)."""
    docs = []
    for chunk in _SEPARATOR.split(text):
        obj = yaml.safe_load(chunk)
        if obj:
            source = _SOURCE.search(chunk)
            docs.append(Document(obj, source.group(1) if source else None))
    return docs


_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
# From the monitoring.coreos.com/v1 ServiceMonitor CRD (prometheus-operator), the fields the chart
# sets; anything else is an error, as for the built-in kinds.
CUSTOM_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "ServiceMonitor"},
            "metadata": {
                "type": "object", "required": ["name"], "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": _LABELS,
                               "annotations": _LABELS},
            },
            "spec": {
                "type": "object", "required": ["selector", "endpoints"], "additionalProperties": False,
                "properties": {
                    "selector": {"type": "object", "additionalProperties": False,
                                 "properties": {"matchLabels": _LABELS}},
                    "namespaceSelector": {"type": "object", "additionalProperties": False,
                                          "properties": {"any": {"type": "boolean"},
                                                         "matchNames": {"type": "array", "items": {"type": "string"}}}},
                    "endpoints": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "additionalProperties": False, "required": ["port"],
                        "properties": {"port": {"type": "string"}, "path": {"type": "string"},
                                       "interval": {"type": "string", "pattern": "^(0|(([0-9]+)(ms|s|m|h))+)$"},
                                       "scheme": {"enum": ["http", "https"]}}}},
                },
            },
        },
    },
}


def _strict(schema: Any) -> Any:
    """A CRD schema in which an object with declared properties admits no other field (as the
    API server prunes or, with strict field validation, rejects them), unless the CRD says it
    keeps unknown fields."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_strict(item) for item in schema]
    return schema


def load_crd_schemas(paths: Iterable[Path]) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict JSON schema, for each served version of the files' CRDs."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in paths:
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served", True):
                    continue
                schema = _strict(version["schema"]["openAPIV3Schema"])
                # metadata is the API server's ObjectMeta, not described by the CRD.
                schema.setdefault("properties", {})["metadata"] = {"type": "object"}
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def validate_documents(docs: Iterable[Document], kube_version: str = KUBE_VERSION,
                       crd_schemas: dict[tuple[str, str], dict[str, Any]] | None = None) -> list[str]:
    """One message per invalid object: '<Kind>/<name> (<template>): <field path>: <what is
    wrong>'."""
    errors = []
    custom_schemas = {**(crd_schemas or {}), **CUSTOM_SCHEMAS}
    for doc in docs:
        if not isinstance(doc.obj, dict) or "apiVersion" not in doc.obj or "kind" not in doc.obj:
            errors.append(f"{doc.name}: not a Kubernetes object (no apiVersion or kind)")
            continue
        custom = custom_schemas.get((doc.obj["apiVersion"], doc.obj["kind"]))
        if custom is not None:
            for error in jsonschema.Draft202012Validator(custom).iter_errors(doc.obj):
                path = ".".join(str(p) for p in error.path) or "(top level)"
                errors.append(f"{doc.name}: {path}: {error.message}")
            continue
        try:
            kubernetes_validate.validate(doc.obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path) or "(top level)"
            errors.append(f"{doc.name}: {path}: {e.message}")
        except SchemaNotFoundError as e:
            errors.append(f"{doc.name}: {e.message}")
        except VersionNotSupportedError as e:
            raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {e.version}") from e
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kube-version", default=KUBE_VERSION, help="Kubernetes version of the schemas")
    parser.add_argument("--origin", help="what the files were rendered from (e.g. a values file), for messages")
    parser.add_argument("--crd", action="append", default=[], type=Path,
                        help="a CustomResourceDefinition file whose resources the manifests may hold")
    parser.add_argument("files", nargs="+", type=Path, help="rendered manifests (multi-document YAML)")
    args = parser.parse_args(argv)
    crd_schemas = load_crd_schemas(args.crd)
    failed = False
    for path in args.files:
        label = args.origin or str(path)
        docs = load_documents(path.read_text())
        errors = validate_documents(docs, args.kube_version, crd_schemas)
        for error in errors:
            print(f"{label}: {error}")
        failed |= bool(errors)
        invalid = len({error.split(": ", 1)[0] for error in errors})  # an object may have several errors
        print(f"{label}: {len(docs) - invalid}/{len(docs)} objects valid against the Kubernetes "
              f"{args.kube_version} schemas (strict)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
