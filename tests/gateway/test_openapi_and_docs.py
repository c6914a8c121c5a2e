"""/openapi.json is a valid OpenAPI document listing every RPC's HTTP binding, generated from the
protos;
/docs is Swagger UI rendering it in a real headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from openapi_spec_validator import validate

from motcua.devstack import repo_root
from motcua.gateway.descriptors import load_api
from motcua.gateway.openapi import build_openapi
from tests.gateway.support import Gateway, StartGateway

SCHEMAS = "#/components/schemas/"


@pytest.fixture(scope="module")
def gw(start_module_gateway: StartGateway) -> Gateway:
    return start_module_gateway({})  # the document and the docs need no backend


@pytest.fixture(scope="module")
def document(gw: Gateway) -> dict:
    status, doc = gw.get("/openapi.json")
    assert status == 200
    return doc


def http_rules_in_the_protos() -> list[tuple[str, str, str]]:
    """(HTTP method, OpenAPI path, RPC) of every binding, read straight from `make gen`'s descriptor
    set."""
    fds = descriptor_pb2.FileDescriptorSet.FromString((repo_root() / "protos/gen/descriptor_set.binpb").read_bytes())
    found = []
    for file in fds.file:
        if not file.package.startswith("motcua."):
            continue
        for service in file.service:
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                for r in [rule, *rule.additional_bindings]:
                    kind = r.WhichOneof("pattern")
                    verb, path = (r.custom.kind, r.custom.path) if kind == "custom" else (kind, getattr(r, kind))
                    found.append((verb.lower(), re.sub(r"\{([^}=]+)(=[^}]*)?\}", r"{\1}", path), method.name))
    return found


def test_the_document_is_valid_openapi_3_1(document: dict):
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises OpenAPIValidationError with the path of what is wrong


def test_every_operation_says_who_may_call_it_as_the_services_enforce(document: dict):
    from motcua.kernel.grpc_server import access_policies
    from tests.support.rpcs import services

    policies = {
        path.rsplit("/", 1)[1]: policy for service in services() for path, policy in access_policies(service).items()
    }
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len(operations) >= len(policies)
    for op in operations:
        policy = policies[op["summary"]]
        if policy.public:
            assert (op["x-motcua-access"], op["security"]) == ("public", []), op["operationId"]
        elif policy.authenticated:
            assert op["x-motcua-access"] == "authenticated" and "security" not in op, op["operationId"]
        else:
            assert (op["x-motcua-access"], op["x-motcua-roles"]) == ("roles", list(policy.roles)), op["operationId"]
            assert "Who may call: callers with one of the roles" in op["description"]
    issue = document["paths"]["/v1/tokens:issueDevelopment"]["post"]
    assert issue["security"] == [] and document["security"] == [{"bearer": []}, {"oidc": ["openid", "api"]}]


def test_every_rpc_has_its_path(document: dict):
    rules = http_rules_in_the_protos()
    assert len(rules) >= 20  # every service of protos/motcua
    for verb, path, rpc in rules:
        assert path in document["paths"], f"{rpc}: {path} missing"
        operation = document["paths"][path].get(verb)
        assert operation is not None, f"{rpc}: {verb.upper()} {path} missing"
        assert operation["summary"] == rpc
        assert operation["operationId"].endswith("_" + rpc)
    operations = [(p, v) for p, item in document["paths"].items() for v in item]
    assert len(operations) == len(rules)


def test_schemas_come_from_the_messages_their_comments_and_rules(document: dict):
    schemas = document["components"]["schemas"]
    create = document["paths"]["/v1/procedures"]["post"]
    assert create["description"].startswith("Creates a procedure in the draft state.")
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": SCHEMAS + "motcua.procedures.v1.CreateProcedureRequest"}
    request = schemas["motcua.procedures.v1.CreateProcedureRequest"]
    # processing_days may be replaced by processing_time.
    assert set(request["required"]) == {"code", "name", "agency_id"}
    props = request["properties"]
    assert props["name"]["minLength"] == 1 and props["name"]["maxLength"] == 500
    assert "Vietnamese" in props["name"]["description"]
    assert props["code"]["maxLength"] == 64 and props["code"]["pattern"].startswith("^[0-9]+")
    assert props["processing_days"] == {**props["processing_days"], "type": "integer", "minimum": 1, "maximum": 365}

    procedure = schemas["motcua.procedures.v1.Procedure"]
    assert "catalog of administrative procedures" in procedure["description"]
    assert procedure["properties"]["version"]["type"] == "string"  # int64 in proto3 JSON
    assert procedure["properties"]["version"]["readOnly"] is True  # OUTPUT_ONLY
    assert procedure["properties"]["state"]["$ref"] == SCHEMAS + "motcua.procedures.v1.ProcedureState"
    state = schemas["motcua.procedures.v1.ProcedureState"]
    assert "PROCEDURE_STATE_PUBLISHED" in state["enum"]
    assert "`PROCEDURE_STATE_DRAFT`: Being prepared" in state["description"]

    get = document["paths"]["/v1/procedures/{procedure_id}"]["get"]
    (param,) = [p for p in get["parameters"] if p["in"] == "path"]
    assert param["required"] is True
    assert param["schema"]["format"] == "uuid"
    publish = document["paths"]["/v1/procedures/{procedure_id}:publish"]["post"]
    body = publish["requestBody"]["content"]["application/json"]["schema"]
    assert "procedure_id" not in document["components"]["schemas"][body["$ref"].removeprefix(SCHEMAS)]["properties"]

    catalog = document["paths"]["/v1/procedures"]["get"]
    assert {p["name"] for p in catalog["parameters"] if p["in"] == "query"} >= {
        "agency_id", "field", "level", "online_mode", "query", "page_size", "page_token"}

    listing = document["paths"]["/v1/dossiers"]["get"]
    assert {p["name"] for p in listing["parameters"] if p["in"] == "query"} >= {"page_size", "page_token", "state"}
    assert listing["responses"]["default"] == {"$ref": "#/components/responses/Error"}
    error = schemas["ErrorStatus"]
    assert set(error["required"]) == {"code", "status", "message", "details"}
    assert "google.rpc.BadRequest" in schemas


def test_comments_come_from_the_descriptor_set_that_matches_the_stubs(tmp_path: Path):
    source = repo_root() / "protos/gen/descriptor_set.binpb"
    fds = descriptor_pb2.FileDescriptorSet.FromString(source.read_bytes())
    (file,) = [f for f in fds.file if f.name == "motcua/procedures/v1/procedure_service.proto"]
    for location in file.source_code_info.location:
        if "Creates a procedure in the draft state." in location.leading_comments:
            location.leading_comments = " Tạo một thủ tục ở trạng thái nháp.\n"
    edited = tmp_path / "edited.binpb"
    edited.write_bytes(fds.SerializeToString())
    doc = build_openapi(load_api(edited, required=True))
    assert doc["paths"]["/v1/procedures"]["post"]["description"].startswith("Tạo một thủ tục ở trạng thái nháp.")

    # A set that no longer describes the installed file lends it no comments; the routes stay.
    file.message_type[0].field[0].name = "renamed"
    stale = tmp_path / "stale.binpb"
    stale.write_bytes(fds.SerializeToString())
    doc = build_openapi(load_api(stale, required=True))
    assert doc["paths"]["/v1/procedures"]["post"]["description"] == (  # who may call: from the option, not a comment
        "Who may call: callers with one of the roles `administrator` (else 403, `ROLE_REQUIRED`).\n\n"
        "gRPC: `/motcua.procedures.v1.ProcedureService/CreateProcedure`")
    assert "catalog of administrative procedures" in (
        doc["components"]["schemas"]["motcua.procedures.v1.Procedure"]["description"])  # another file: still there


def test_without_a_descriptor_set_the_stubs_alone_give_the_same_api(document: dict, tmp_path: Path):
    """An image that did not copy the descriptor set: same paths and schemas, no descriptions."""
    bare = build_openapi(load_api(tmp_path / "absent.binpb", required=False))
    validate(bare)
    assert bare["paths"].keys() == document["paths"].keys()
    assert bare["components"]["schemas"].keys() == document["components"]["schemas"].keys()
    assert bare["paths"]["/v1/procedures"]["post"]["description"] == (  # who may call: the stubs carry the option
        "Who may call: callers with one of the roles `administrator` (else 403, `ROLE_REQUIRED`).\n\n"
        "gRPC: `/motcua.procedures.v1.ProcedureService/CreateProcedure`")


def test_a_descriptor_set_that_is_not_there_stops_the_start(start_gateway: StartGateway, tmp_path: Path):
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 2.*MOTCUA_DESCRIPTOR_SET names no file"):
        start_gateway({}, MOTCUA_DESCRIPTOR_SET=str(tmp_path / "missing.binpb"))


def test_docs_assets_are_served_by_the_gateway(gw: Gateway):
    from tests.gateway.support import http

    page = http("GET", gw.url + "/docs")
    assert page.status == 200 and (page.content_type or "").startswith("text/html"), page.raw[:300]  # make gateway-ui
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page.raw.decode()):
        reply = http("GET", gw.url + asset)
        assert reply.status == 200, asset


def chromium() -> str:
    for candidate in (os.environ.get("MOTCUA_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    pytest.fail("no chromium: `make gateway-browser` installs Debian's (or set MOTCUA_CHROMIUM)")


def test_docs_render_in_a_real_headless_chromium(gw: Gateway, tmp_path: Path):
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}",
        # Runs the page's scripts (Swagger UI fetching /openapi.json and rendering it) before the
        # dump.
        "--virtual-time-budget=20000", "--dump-dom", gw.url + "/docs",
    ]
    result = subprocess.run(command, capture_output=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    dom = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")[-3000:]
    assert "Failed to load API definition" not in dom, dom[-3000:]
    assert "ProcedureService_CreateProcedure" in dom, dom[-3000:]  # the operation, rendered by Swagger UI's JS
    assert ">/v1/procedures<" in re.sub(r"<wbr>", "", dom), dom[-3000:]
    assert "ProcedureService" in dom and "DossierService" in dom


def test_strings_a_response_may_carry_empty_accept_the_empty_value(document: dict):
    """The fuzzer's schema break on GET /v1/dossiers: a draft's applicant with no phone, e-mail
    or identity number yet came back as "" against rules that hold only for requests or only
    when set."""
    applicant = document["components"]["schemas"]["motcua.dossiers.v1.Applicant"]["properties"]

    def valid(field: str, value: str) -> bool:
        checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
        return jsonschema.Draft202012Validator(applicant[field], format_checker=checker).is_valid(value)

    for field in ("phone", "email", "identity_number", "full_name"):
        assert valid(field, ""), field
    assert valid("phone", "0912345678") and not valid("phone", "12345")
    assert valid("email", "hang@example.vn") and not valid("email", "khong-phai-email")
    assert valid("full_name", "Nguyễn Thị Hằng")
