"""The edge under hostile input, against real processes: bodies over MOTCUA_MAX_MESSAGE_BYTES are
refused with 413 before they are read (declared) or as soon as they pass the limit (chunked),
at the REST routes and at the identity proxy; a call that needs a token is refused with 401
before its body is parsed; one limit holds from the gateway to the services (a 9 MiB attachment
goes through, a gRPC message over a service's limit is RESOURCE_EXHAUSTED naming it, 413 at
the gateway)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import grpc
import pytest
from fpdf import FPDF
from joserfc import jwt
from joserfc.jwk import ECKey

from motcua.gateway.guard import MAX_JSON_VALUES
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.config import DEFAULT_MAX_MESSAGE_BYTES
from motcua.procedures.v1 import procedure_service_pb2 as ppb
from tests.gateway.support import Gateway, StartGateway
from tests.support import auth
from tests.support.clients import dossiers_stub, procedures_stub
from tests.support.dossiers import applicant, fresh_agency, published_full_procedure, submit_request

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
SMALL_LIMIT = 64 * 1024  # the smallest MOTCUA_MAX_MESSAGE_BYTES allowed: cheap to go over


@pytest.fixture(scope="module")
def backends(stack) -> Iterator[dict[str, str]]:
    """dossiers with the default limit; procedures with a small one (a service stricter than the
    gateway)."""
    procedures = stack.service("procedures", MOTCUA_MAX_MESSAGE_BYTES=str(SMALL_LIMIT)).start()
    dossiers = stack.service("dossiers").start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr}
    assert procedures.terminate() == 0
    assert dossiers.terminate() == 0


@pytest.fixture(scope="module")
def gw(stack, backends, start_module_gateway: StartGateway) -> Gateway:
    """The default limit; identity's OIDC endpoints proxied."""
    return start_module_gateway(backends, MOTCUA_IDENTITY_URL=f"http://127.0.0.1:{stack.identity_http_port}")


@pytest.fixture(scope="module")
def small_gw(backends, start_module_gateway: StartGateway) -> Gateway:
    return start_module_gateway(backends, MOTCUA_MAX_MESSAGE_BYTES=str(SMALL_LIMIT))


@pytest.fixture(scope="module")
def verifying_gw(stack, backends, start_module_gateway: StartGateway) -> Gateway:
    """A gateway holding the token keys (MOTCUA_AUTH_*), as the chart configures it."""
    return start_module_gateway(backends, **stack.auth_env)


# ---------------------------------------------------------------------------- raw HTTP


def _connect(gateway: Gateway) -> socket.socket:
    url = urlsplit(gateway.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    return sock


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: gateway", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _read_reply(sock: socket.socket) -> tuple[int, dict[str, str], dict]:
    """The response, read until the server closes the connection (a refusal comes with Connection:
    close)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # the server closed with our unread bytes: what came before stands
            break
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def _error_info(body: dict) -> dict:
    (info,) = [d for d in body["error"]["details"] if d["@type"] == ERROR_INFO]
    return info


def _assert_too_large(status: int, body: dict, limit: int) -> None:
    assert status == 413, body
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert str(limit) in body["error"]["message"]
    info = _error_info(body)
    assert (info["reason"], info["metadata"]["limit_bytes"]) == ("MESSAGE_TOO_LARGE", str(limit))


def _declared_but_not_sent(gateway: Gateway, path: str, declared: int, headers: dict[str, str]) -> tuple[int, dict]:
    """Declares a body of `declared` bytes, sends a kilobyte of it and waits for the answer with
    the rest never sent: an answer at all proves the server did not wait to read the body."""
    with _connect(gateway) as sock:
        sock.sendall(_head("POST", path, {**headers, "Content-Length": str(declared)}))
        sock.sendall(b'{"name": "' + b"a" * 1024)
        status, _, body = _read_reply(sock)
    return status, body


def _chunked_flood(gateway: Gateway, path: str, total: int, headers: dict[str, str]) -> tuple[int, dict, int]:
    """Sends a chunked body of up to `total` bytes while reading the answer; returns the answer and
    how many body bytes went out before the server stopped taking them."""
    sent = 0
    with _connect(gateway) as sock:
        sock.sendall(_head("POST", path, {**headers, "Transfer-Encoding": "chunked"}))

        def flood() -> None:
            nonlocal sent
            chunk = b"[" + b"1," * 8191 + b"1]"  # valid JSON pieces: nothing but the size is wrong
            try:
                while sent < total:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                sock.sendall(b"0\r\n\r\n")
            except OSError:  # the server answered and closed: it reads no more
                pass

        sender = threading.Thread(target=flood)
        sender.start()
        try:
            status, _, body = _read_reply(sock)
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # ends the sender's sendall, if it is still at it
            except OSError:
                pass
            sender.join(timeout=30)
    return status, body, sent


# ---------------------------------------------------------------------------- sizes


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(gw: Gateway):
    token = {"Authorization": f"Bearer {auth.default_token()}", "Content-Type": "application/json"}
    status, body = _declared_but_not_sent(gw, f"/v1/dossiers/{uuid.uuid4()}/attachments",
                                          DEFAULT_MAX_MESSAGE_BYTES + 1, token)
    _assert_too_large(status, body, DEFAULT_MAX_MESSAGE_BYTES)
    assert "MOTCUA_MAX_MESSAGE_BYTES" in body["error"]["message"]


def test_a_chunked_body_is_cut_off_at_the_limit(small_gw: Gateway):
    headers = {"Authorization": f"Bearer {auth.default_token()}", "Content-Type": "application/json"}
    status, body, sent = _chunked_flood(small_gw, "/v1/procedures", 64 * SMALL_LIMIT, headers)
    _assert_too_large(status, body, SMALL_LIMIT)
    assert sent < 64 * SMALL_LIMIT  # it stopped taking the body rather than read it all


def test_the_identity_proxy_refuses_large_bodies_before_reading_them(gw: Gateway):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = _declared_but_not_sent(gw, "/oauth2/token", 10 * 1024 * 1024, form)
    assert status == 413 and body["error"]["status"] == "RESOURCE_EXHAUSTED", body
    limit = int(_error_info(body)["metadata"]["limit_bytes"])
    assert limit < 10 * 1024 * 1024 and str(limit) in body["error"]["message"]
    status, body, sent = _chunked_flood(gw, "/oauth2/token", 64 * limit, form)
    assert (status, _error_info(body)["metadata"]["limit_bytes"]) == (413, str(limit)), body
    assert sent < 64 * limit
    # Small requests still reach identity (an OAuth2 error of its own, not the gateway's).
    reply = gw.call("POST", "/oauth2/token", raw=b"grant_type=password", anonymous=True, headers=form)
    assert reply.status in (400, 401) and b"error" in reply.raw and b"MESSAGE_TOO_LARGE" not in reply.raw, reply.raw


def _pdf_of(size: int) -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="Ban scan ho so")
    head = bytes(document.output())
    return head + b"%" + os.urandom(size - len(head) - 1)  # random: as incompressible as a scan


def test_a_9_mib_attachment_goes_through_end_to_end(gw: Gateway, backends):
    procedure = published_full_procedure(backends["procedures"], backends["dossiers"])
    citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Nguyễn Thị Hồng Nhung")
    request = submit_request(procedure.procedure_id, fresh_agency(), applicant=applicant(account_id=citizen.account_id))
    dossier = dossiers_stub(backends["dossiers"], citizen.access_token).SubmitDossier(request).dossier
    content = _pdf_of(9 * 1024 * 1024)
    reply = gw.call("POST", f"/v1/dossiers/{dossier.dossier_id}/attachments",
                    {"name": "Bản scan hồ sơ", "content": base64.b64encode(content).decode(),
                     "content_type": "application/pdf"},
                    headers={"Authorization": f"Bearer {citizen.access_token}"}, timeout=120)
    assert reply.status == 200, reply.raw[:2000]
    (attachment,) = reply.json["dossier"]["attachments"]
    assert attachment["name"] == "Bản scan hồ sơ"
    assert (attachment["size_bytes"], attachment["sha256"]) == (str(len(content)), hashlib.sha256(content).hexdigest())


def test_a_grpc_message_over_a_services_limit_is_resource_exhausted_naming_it(gw: Gateway, backends):
    oversized = ppb.CreateProcedureRequest(code="1.000001.000.00.00.H56", name="Thủ tục " + "ả" * SMALL_LIMIT,
                                           agency_id="000.00.10.H56", processing_days=3)
    with pytest.raises(grpc.RpcError) as failure:
        procedures_stub(backends["procedures"]).CreateProcedure(oversized)
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert str(SMALL_LIMIT) in (failure.value.details() or "")
    # Through the gateway (whose own limit is larger): the service's refusal becomes 413, naming its
    # limit.
    reply = gw.call("POST", "/v1/procedures", {"code": oversized.code, "name": oversized.name,
                                               "agency_id": oversized.agency_id, "processing_days": 3})
    _assert_too_large(reply.status, reply.json, SMALL_LIMIT)
    assert "CreateProcedureRequest" in reply.json["error"]["message"]


def test_a_body_of_too_many_json_values_is_refused_before_it_is_parsed(gw: Gateway):
    # Well under the byte limit, but millions of objects once parsed; a 400 (not an object) if
    # parsed.
    many = b"[" + b"{}," * MAX_JSON_VALUES + b"{}]"
    reply = gw.call("POST", "/v1/dossiers:submit", raw=many, headers={"Content-Type": "application/json"})
    assert (reply.status, reply.json["error"]["status"]) == (413, "RESOURCE_EXHAUSTED"), reply.raw[:500]
    info = _error_info(reply.json)
    assert (info["reason"], info["metadata"]["limit"]) == ("TOO_MANY_JSON_VALUES", str(MAX_JSON_VALUES))
    assert str(MAX_JSON_VALUES) in reply.json["error"]["message"]
    # Fewer are parsed, and judged on their shape (not an object).
    few = b"[" + b"{}," * (MAX_JSON_VALUES // 4) + b"{}]"
    reply = gw.call("POST", "/v1/dossiers:submit", raw=few, headers={"Content-Type": "application/json"})
    assert (reply.status, reply.json["error"]["status"]) == (400, "INVALID_ARGUMENT"), reply.raw[:500]


# ---------------------------------------------------------------------------- tokens before parsing


def test_a_call_needing_a_token_is_refused_before_its_body_is_parsed(gw: Gateway):
    malformed = b'{"procedure_id": ' + b"[" * 10_000  # a 400 if it were parsed
    json_type = {"Content-Type": "application/json"}
    reply = gw.call("POST", "/v1/dossiers:submit", raw=malformed, anonymous=True, headers=json_type)
    assert (reply.status, reply.json["error"]["status"]) == (401, "UNAUTHENTICATED"), reply.raw
    assert _error_info(reply.json)["reason"] == "TOKEN_MISSING"
    reply = gw.call("POST", "/v1/dossiers:submit", raw=malformed, headers={**json_type, "Authorization": "Bearer x"})
    assert (reply.status, _error_info(reply.json)["reason"]) == (401, "TOKEN_INVALID"), reply.raw
    # With a token the body is parsed, and found malformed.
    reply = gw.call("POST", "/v1/dossiers:submit", raw=malformed, headers=json_type)
    assert (reply.status, reply.json["error"]["status"]) == (400, "INVALID_ARGUMENT"), reply.raw
    assert "malformed JSON" in reply.json["error"]["message"]
    # A public RPC needs no token: its body is parsed for everyone.
    reply = gw.call("POST", "/v1/dossiers:lookUpStatus", raw=malformed, anonymous=True, headers=json_type)
    assert (reply.status, reply.json["error"]["status"]) == (400, "INVALID_ARGUMENT"), reply.raw


def test_with_the_keys_the_gateway_refuses_a_forged_token_before_parsing(verifying_gw: Gateway, stack):
    now = int(time.time())
    claims = {"iss": stack.auth_env["MOTCUA_AUTH_ISSUER"], "aud": "motcua", "sub": str(uuid.uuid4()),
              "exp": now + 600, "iat": now, "roles": ["ROLE_ADMINISTRATOR"]}
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "not-identity's"}, claims,
                        ECKey.generate_key("P-256"))
    malformed = b'{"procedure_id": ' + b"[" * 10_000
    json_type = {"Content-Type": "application/json"}
    reply = verifying_gw.call("POST", "/v1/dossiers:submit", raw=malformed,
                              headers={**json_type, "Authorization": f"Bearer {forged}"})
    assert (reply.status, _error_info(reply.json)["reason"]) == (401, "TOKEN_INVALID"), reply.raw
    reply = verifying_gw.call("POST", "/v1/dossiers:submit", raw=malformed, headers=json_type)
    assert (reply.status, reply.json["error"]["status"]) == (400, "INVALID_ARGUMENT"), reply.raw
