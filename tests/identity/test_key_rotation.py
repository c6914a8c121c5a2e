"""Key rotation: identity restarted with a second key signs with it, keeps publishing the
old one, and a service goes on accepting the tokens the old key signed until they expire."""

from __future__ import annotations

import time
import uuid

import grpc
import httpx2
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jws, jwt
from joserfc.jwk import ECKey

from motcua.procedures.v1 import procedure_service_pb2 as pb
from tests.support.clients import procedures_stub
from tests.support.waiting import eventually

from .oidc_support import SERVICE, SERVICE_SECRET, start_identity


def client_credentials_token(issuer: str) -> str:
    client = OAuth2Client(client_id=SERVICE, client_secret=SERVICE_SECRET, trust_env=False)
    return client.fetch_token(f"{issuer}/oauth2/token", grant_type="client_credentials")["access_token"]


def kid(token: str) -> str:
    return jws.extract_compact(token.encode()).headers()["kid"]


def status_of(addr: str, token: str) -> grpc.StatusCode:
    try:
        get_procedure(addr, token)
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK


def get_procedure(addr: str, token: str):
    return procedures_stub(addr, token).GetProcedure(pb.GetProcedureRequest(procedure_id=str(uuid.uuid4())))


def test_a_new_key_signs_and_the_old_ones_tokens_still_validate(stack, tmp_path):
    keys = tmp_path / "identity" / "keys"
    keys.mkdir(parents=True)
    old = ECKey.generate_key("P-256")
    (keys / "2026-01-old.pem").write_bytes(old.as_pem(private=True))
    # A key is there: none is generated (the store's own keys are, in development).
    identity, issuer = start_identity(stack, tmp_path / "identity", database="motcua_identity_rotation")
    auth = {"MOTCUA_AUTH_ISSUER": issuer, "MOTCUA_AUTH_JWKS_URL": f"{issuer}/.well-known/jwks.json"}
    procedures = stack.service("procedures", **auth).start()
    try:
        before = client_credentials_token(issuer)
        assert kid(before) == old.thumbprint()
        with pytest.raises(grpc.RpcError) as known:
            get_procedure(procedures.addr, before)
        assert known.value.code() == grpc.StatusCode.NOT_FOUND  # authenticated: the procedure is unknown

        # Rotation: a key whose name sorts last, then a restart (same address, same issuer).
        new = ECKey.generate_key("P-256")
        (keys / "2026-02-new.pem").write_bytes(new.as_pem(private=True))
        assert identity.terminate() == 0
        identity.start()
        published = {k["kid"] for k in httpx2.get(auth["MOTCUA_AUTH_JWKS_URL"], trust_env=False).json()["keys"]}
        assert published == {old.thumbprint(), new.thumbprint()}
        after = client_credentials_token(issuer)
        assert kid(after) == new.thumbprint()
        # The service fetches the keys again on a token naming an unknown key (at most every
        # few seconds: auth.REFRESH_INTERVAL), then accepts both keys' tokens.
        eventually(lambda: status_of(procedures.addr, after) == grpc.StatusCode.NOT_FOUND, timeout=30,
                   interval=1.0, what="the service to accept the new key")
        assert status_of(procedures.addr, before) == grpc.StatusCode.NOT_FOUND
        # Until it expires: an old-key token past its expiry is refused.
        now = int(time.time())
        expired = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": old.thumbprint()},
                             {"iss": issuer, "aud": "motcua", "sub": SERVICE, "iat": now - 7200, "exp": now - 3600},
                             old)
        with pytest.raises(grpc.RpcError) as refused:
            get_procedure(procedures.addr, expired)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        assert procedures.terminate() == 0
        assert identity.terminate() == 0
