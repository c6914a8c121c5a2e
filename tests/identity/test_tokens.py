"""The token path for real: identity issues and publishes its keys; every service's kernel
verifies the bearer token of each call and answers UNAUTHENTICATED to a missing, forged or
expired one."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
import uuid

import grpc
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from motcua.devstack import free_port
from motcua.identity.v1 import identity_service_pb2 as identity_pb
from motcua.identity.v1.role_pb2 import Role
from motcua.procedures.v1 import procedure_service_pb2 as pb
from tests.e2e.support import audit_history
from tests.support import auth
from tests.support.clients import error_reason, field_violations, procedures_stub
from tests.support.procedures import create_request

_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def active_key(stack) -> ECKey:
    (path,) = sorted(stack.identity_keys.glob("*.pem"))
    return ECKey.import_key(path.read_bytes())


def claims(stack, **overrides) -> dict:
    now = int(time.time())
    base = {"iss": stack.auth_env["MOTCUA_AUTH_ISSUER"], "aud": "motcua", "sub": str(uuid.uuid4()),
            "iat": now, "exp": now + 600, "roles": ["administrator"]}
    return {**base, **overrides}


def signed(key: ECKey, payload: dict, kid: str | None = None, **header) -> str:
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid or key.thumbprint(), **header}, payload, key)


def unauthenticated_reason(call) -> str:
    return error_reason(call, grpc.StatusCode.UNAUTHENTICATED)


@pytest.fixture(scope="module")
def procedures_addr(services) -> str:
    return services[0].addr


def get_procedure(addr: str, token: str | None = None, metadata=None):
    stub = procedures_stub(addr, token)
    return lambda: stub.GetProcedure(pb.GetProcedureRequest(procedure_id=str(uuid.uuid4())), metadata=metadata)


def test_a_call_without_a_token_is_unauthenticated(procedures_addr):
    from motcua.procedures.v1 import procedure_service_pb2_grpc

    # (GetProcedure itself is public: the catalog is read without logging in.)
    bare = procedure_service_pb2_grpc.ProcedureServiceStub(grpc.insecure_channel(procedures_addr))
    rename = pb.RenameProcedureRequest(procedure_id=str(uuid.uuid4()), name="Tên mới", expected_version=1)
    assert unauthenticated_reason(lambda: bare.RenameProcedure(rename)) == "TOKEN_MISSING"
    basic = (("authorization", "Basic dXNlcjpwYXNz"),)
    assert unauthenticated_reason(get_procedure(procedures_addr, metadata=basic)) == "TOKEN_MISSING"


def test_a_valid_token_is_accepted_and_names_the_actor_in_the_event_log(stack, procedures_addr):
    issued = auth.issue(roles=(Role.ROLE_ADMINISTRATOR,), agency_id="000.00.10.H56", display_name="Trần Văn Bình")
    stub = procedures_stub(procedures_addr, issued.access_token)
    created = stub.CreateProcedure(create_request(name="Cấp phép hoạt động", agency_id="000.00.10.H56"))
    history = audit_history(stack, "procedures", created.procedure.procedure_id)
    assert [(e["actor"], e["agency_id"]) for e in history] == [(issued.account_id, "000.00.10.H56")]


def test_forged_tokens_are_rejected(stack, procedures_addr):
    real = active_key(stack)
    impostor = ECKey.generate_key("P-256")
    # Signed by another key under the real key's id.
    assert (
        unauthenticated_reason(get_procedure(procedures_addr, signed(impostor, claims(stack), kid=real.thumbprint())))
        == "TOKEN_INVALID"
    )
    # A payload altered after signing.
    token = signed(real, claims(stack, roles=["applicant"]))
    head, _, rest = token.partition(".")
    body, _, signature = rest.partition(".")
    altered = json.loads(base64.urlsafe_b64decode(body + "=="))
    altered["roles"] = ["administrator"]
    tampered = ".".join([head, base64.urlsafe_b64encode(json.dumps(altered).encode()).rstrip(b"=").decode(), signature])
    assert unauthenticated_reason(get_procedure(procedures_addr, tampered)) == "TOKEN_INVALID"
    # alg=none, unsigned.
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    unsigned = f"{none_header}.{base64.urlsafe_b64encode(json.dumps(claims(stack)).encode()).rstrip(b'=').decode()}."
    assert unauthenticated_reason(get_procedure(procedures_addr, unsigned)) == "TOKEN_INVALID"
    assert unauthenticated_reason(get_procedure(procedures_addr, "not-a-jwt")) == "TOKEN_INVALID"


def test_tokens_for_someone_else_or_of_another_kind_are_rejected(stack, procedures_addr):
    real = active_key(stack)
    assert (
        unauthenticated_reason(get_procedure(procedures_addr, signed(real, claims(stack, aud="another-system"))))
        == "TOKEN_INVALID"
    )
    assert (
        unauthenticated_reason(get_procedure(procedures_addr, signed(real, claims(stack, iss="https://evil.example"))))
        == "TOKEN_INVALID"
    )
    # An ID token (typ JWT) is not an access token.
    assert unauthenticated_reason(get_procedure(procedures_addr, signed(real, claims(stack), typ="JWT"))) \
        == "TOKEN_INVALID"


def test_an_expired_token_is_rejected(stack, procedures_addr):
    real = active_key(stack)
    long_ago = int(time.time()) - 3600
    expired = signed(real, claims(stack, iat=long_ago, exp=long_ago + 60))
    assert unauthenticated_reason(get_procedure(procedures_addr, expired)) == "TOKEN_EXPIRED"


def test_identity_serves_its_public_keys_as_a_jwks(stack):
    with _http.open(stack.auth_env["MOTCUA_AUTH_JWKS_URL"], timeout=5) as response:
        assert response.status == 200
        document = json.load(response)
    (key,) = document["keys"]
    assert key["kid"] == active_key(stack).thumbprint()
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in key  # never the private part


def test_development_tokens_are_validated(stack):
    stub = auth.identity_stub()
    with pytest.raises(grpc.RpcError) as failure:
        stub.IssueDevelopmentToken(identity_pb.IssueDevelopmentTokenRequest())
    assert "roles" in field_violations(failure.value)
    with pytest.raises(grpc.RpcError) as failure:
        stub.IssueDevelopmentToken(identity_pb.IssueDevelopmentTokenRequest(roles=[Role.ROLE_DESK_OFFICER]))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(failure.value) == {"agency_id": "is required for every role but applicant"}
    citizen = stub.IssueDevelopmentToken(identity_pb.IssueDevelopmentTokenRequest(roles=[Role.ROLE_APPLICANT]))
    payload = jwt.decode(citizen.access_token, active_key(stack)).claims
    assert payload["sub"] == citizen.account_id and payload["roles"] == ["applicant"]
    assert payload["exp"] == citizen.expire_time.seconds


def test_development_tokens_are_off_unless_turned_on(stack, tmp_path):
    http_port = free_port()
    # A database of its own: started without the session's clients file, on the session's
    # database it would deregister the session identity's OIDC clients (the file is the registry).
    database = "motcua_identity_no_dev_tokens"
    stack.postgres.create_database(database)
    identity = stack.service("identity", POSTGRES_DBNAME=database, MOTCUA_HTTP_ADDR=f"127.0.0.1:{http_port}",
                             MOTCUA_IDENTITY_DIR=str(tmp_path / "identity")).start()
    try:
        with pytest.raises(grpc.RpcError) as failure:
            auth._identity_stub(identity.addr).IssueDevelopmentToken(
                identity_pb.IssueDevelopmentTokenRequest(roles=[Role.ROLE_APPLICANT]))
        assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "MOTCUA_IDENTITY_DEV_TOKENS" in failure.value.details()
    finally:
        assert identity.terminate() == 0


def test_a_service_that_cannot_reach_the_keys_answers_unavailable(stack):
    nowhere = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    procedures = stack.service("procedures", MOTCUA_AUTH_JWKS_URL=nowhere).start()
    try:
        with pytest.raises(grpc.RpcError) as failure:
            get_procedure(procedures.addr)()
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        assert procedures.terminate() == 0
