"""HttpRule path templates (google/api/http.proto), parsed and matched: pure logic, no servers."""

from __future__ import annotations

import pytest

from motcua.gateway.descriptors import backend_name
from motcua.gateway.pathtemplate import TemplateError, decode_path, parse


def match(template: str, raw_path: str) -> dict[str, str] | None:
    decoded = decode_path(raw_path)
    assert decoded is not None
    return parse(template).match(decoded)


def test_one_segment_variables_and_verbs():
    assert match("/v1/procedures/{procedure_id}", "/v1/procedures/abc") == {"procedure_id": "abc"}
    assert match("/v1/procedures/{procedure_id}:publish", "/v1/procedures/abc:publish") == {"procedure_id": "abc"}
    assert match("/v1/procedures/{procedure_id}:publish", "/v1/procedures/abc:rename") is None
    assert match("/v1/procedures/{procedure_id}", "/v1/procedures/abc/def") is None
    assert match("/v1/procedures", "/v1/procedures") == {}
    assert match("/v1/dossiers:submit", "/v1/dossiers:submit") == {}
    assert match("/v1/dossiers:submit", "/v1/dossiers") is None


def test_percent_decoding():
    # One segment: decoded wholly, an encoded slash included.
    assert match("/v1/x/{id}", "/v1/x/a%2Fb%20c%C4%91") == {"id": "a/b cđ"}
    # Several segments: slashes separate them; an encoded one stays encoded.
    assert match("/v1/{name=shelves/*/books/*}", "/v1/shelves/s%201/books/b%2F2") == {"name": "shelves/s 1/books/b%2F2"}
    assert decode_path("/v1/x/%00") is None


def test_patterns_nested_fields_and_wildcards():
    assert match("/v1/{name=shelves/*}/books", "/v1/shelves/7/books") == {"name": "shelves/7"}
    assert match("/v1/{name=shelves/*}/books", "/v1/shelves/7/8/books") is None
    assert match("/v1/{book.name=**}", "/v1/a/b/c") == {"book.name": "a/b/c"}
    assert match("/v1/*/{id}", "/v1/anything/9") == {"id": "9"}
    assert parse("/v1/{name=shelves/*}/books/{book.id}:move").openapi_path == "/v1/{name}/books/{book.id}:move"


@pytest.mark.parametrize("template", ["v1/x", "/v1/{x", "/v1/{x}/{x}", "/v1/{a={b}}", "/v1/x:", "/v1/{1x}", "/v1//x"])
def test_malformed_templates_are_refused(template: str):
    with pytest.raises(TemplateError):
        parse(template)


def test_backend_names_come_from_the_package():
    assert backend_name("motcua.procedures.v1") == "procedures"
    assert backend_name("motcua.signing.v2beta1") == "signing"
    assert backend_name("acme.billing") == "billing"
