"""docs/api/openapi.json is the REST contract frontends build against (clients are generated from
it): it must be the document the gateway serves, generated from the protos as they are."""

from __future__ import annotations

import json

from motcua.devstack import repo_root
from motcua.gateway.descriptors import load_api
from motcua.gateway.openapi import build_openapi

COMMITTED = repo_root() / "docs" / "api" / "openapi.json"


def test_the_committed_openapi_document_is_the_one_the_protos_give():
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    current = build_openapi(load_api())
    # The whole document, compared as JSON; the message says how to bring it up to date.
    assert committed == current, (
        "docs/api/openapi.json differs from the protos: run `make gateway-openapi` and commit it "
        f"(paths only in the protos: {sorted(set(current['paths']) - set(committed['paths']))}, "
        f"only in the file: {sorted(set(committed['paths']) - set(current['paths']))})")
