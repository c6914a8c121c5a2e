"""One flag vocabulary across the command-line tools (kernel.cli_flags): each installed tool
answers --version and --help with the shared flags, keeps its old spellings working, reads its
token from a file, and talks TLS when given --tls-ca: a real gRPC server (and an HTTPS server
for motcua-audit) with a test certificate sees the calls, and a plain client never reaches it."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BIN = Path(sys.executable).parent
SEED = Path(__file__).resolve().parents[2] / "infra" / "local" / "seed"
TOOLS = ("motcua-audit", "motcua-seed-agencies", "motcua-import-procedures", "motcua-calendar-import",
         "motcua-migrate", "motcua-deploy")
SHARED = {
    "motcua-audit": ("--api", "--token", "--token-file", "--tls-ca", "--version"),
    "motcua-seed-agencies": ("--addr", "--token", "--token-file", "--tls-ca", "--version"),
    "motcua-import-procedures": ("--addr", "--agency", "--token", "--token-file", "--tls-ca", "--version"),
    "motcua-calendar-import": ("--addr", "--agency", "--token", "--token-file", "--tls-ca", "--version"),
    # These two reach PostgreSQL and Kafka (as the services do) and the Kubernetes API (through
    # the kubeconfig), not a motcua service: --version is the shared flag they have a use for.
    "motcua-migrate": ("--version",),
    "motcua-deploy": ("--version",),
}
TOKEN = "eyJ0ZXN0IjoidG9rZW4ifQ.e30.c2lnbmF0dXJl"


def tool(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("MOTCUA_TOKEN", "MOTCUA_TLS", "MOTCUA_API", "POSTGRES_"))}
    result = subprocess.run([str(BIN / name), *args], env={**clean, **(env or {})}, capture_output=True,
                            timeout=120)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode("utf-8"),
                                       result.stderr.decode("utf-8"))


@pytest.mark.parametrize("name", TOOLS)
def test_each_tool_answers_version_and_help_with_the_shared_flags(name: str):
    version = tool(name, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"{name} 0.1.0"
    shown = tool(name, "--help")
    assert shown.returncode == 0, shown.stderr
    for flag in SHARED[name]:
        assert flag in shown.stdout, f"{name} --help lacks {flag}"
    # Old spellings stay accepted but out of the help.
    assert "--target" not in shown.stdout and "--agency-id" not in shown.stdout


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> dict[str, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "motcua test server")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    paths = {"cert": folder / "server.pem", "key": folder / "server.key"}
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


class Recorder(grpc.GenericRpcHandler):
    """Answers every method PERMISSION_DENIED, after noting it and its authorization header."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def service(self, handler_call_details):
        metadata = dict(handler_call_details.invocation_metadata)
        self.calls.append((handler_call_details.method, metadata.get("authorization", "")))

        def refuse(request, context):
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "recorded by the test server")

        return grpc.unary_unary_rpc_method_handler(refuse, request_deserializer=None, response_serializer=None)


@pytest.fixture
def tls_server(certificate) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[recorder])
    credentials = grpc.ssl_server_credentials([(certificate["key"].read_bytes(), certificate["cert"].read_bytes())])
    port = server.add_secure_port("localhost:0", credentials)
    server.start()
    yield f"localhost:{port}", recorder
    server.stop(None)


def _inputs(tmp_path: Path) -> dict[str, Path]:
    agencies = tmp_path / "agencies.json"
    agencies.write_text(json.dumps([{"eid": "000.00.00.H56", "name": "UBND tỉnh Hưng Yên", "kind": "province",
                                     "parent": None}], ensure_ascii=False), encoding="utf-8")
    procedures = tmp_path / "procedures.json"
    procedures.write_text(json.dumps(json.loads((SEED / "procedures.sample.json").read_text(encoding="utf-8"))[:1],
                                     ensure_ascii=False), encoding="utf-8")
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n", encoding="utf-8")
    return {"agencies": agencies, "procedures": procedures, "calendar": SEED / "calendar-2026.json", "token": token}


@pytest.mark.parametrize("name", ["motcua-seed-agencies", "motcua-calendar-import"])
def test_a_tool_given_tls_ca_calls_over_tls_with_the_token_from_its_file(name, tls_server, certificate, tmp_path):
    addr, recorder = tls_server
    inputs = _inputs(tmp_path)
    file = inputs["agencies"] if name == "motcua-seed-agencies" else inputs["calendar"]
    extra = ("--timeout", "20") if name == "motcua-calendar-import" else ()
    plain = tool(name, "--addr", addr, "--token-file", str(inputs["token"]), *extra, str(file))
    assert plain.returncode != 0 and not recorder.calls, plain.stdout + plain.stderr
    secure = tool(name, "--addr", addr, "--token-file", str(inputs["token"]), *extra, str(file),
                  env={"MOTCUA_TLS_CA": str(certificate["cert"])})
    assert recorder.calls, secure.stdout + secure.stderr
    assert {auth for _, auth in recorder.calls} == {f"Bearer {TOKEN}"}
    assert "PERMISSION_DENIED" in secure.stderr and secure.returncode == 1


def test_import_procedures_keeps_its_old_target_flag_and_uses_tls(tls_server, certificate, tmp_path):
    addr, recorder = tls_server
    done = tool("motcua-import-procedures", str(_inputs(tmp_path)["procedures"]), "--target", addr,
                "--tls-ca", str(certificate["cert"]), "--agency", "000.00.10.H56", env={"MOTCUA_TOKEN": TOKEN})
    assert recorder.calls, done.stdout + done.stderr
    assert {auth for _, auth in recorder.calls} == {f"Bearer {TOKEN}"}
    assert done.returncode == 1  # the test server refuses every call


def test_a_bad_ca_file_is_a_usage_error(tmp_path):
    missing = tmp_path / "nowhere.pem"
    done = tool("motcua-seed-agencies", "--addr", "localhost:1", "--tls-ca", str(missing), "--token", "t",
                str(_inputs(tmp_path)["agencies"]))
    assert done.returncode == 2 and "nowhere.pem" in done.stderr, done.stderr


@pytest.fixture
def https_gateway(certificate) -> Iterator[tuple[str, list[str]]]:
    """An HTTPS server answering the audit API's events route with no events, and any POST with
    403 (noting its path)."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            seen.append(self.headers.get("Authorization", ""))
            body = json.dumps({"events": [], "next_page_token": ""}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802 (the standard library's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(f"POST {self.path}")
            body = json.dumps({"code": 7, "message": "recorded by the test server"}).encode()
            self.send_response(403)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate["cert"], certificate["key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_motcua_audit_checks_an_https_gateway_against_tls_ca(https_gateway, certificate, tmp_path):
    url, seen = https_gateway
    token = tmp_path / "token"
    token.write_text(TOKEN, encoding="utf-8")
    untrusted = tool("motcua-audit", "--api", url, "--token-file", str(token), "log", "procedures")
    assert untrusted.returncode == 1 and "cannot reach the API" in untrusted.stderr, untrusted.stderr
    trusted = tool("motcua-audit", "--api", url, "--token-file", str(token), "--tls-ca", str(certificate["cert"]),
                   "log", "procedures", "--format", "json")
    assert trusted.returncode == 0, trusted.stderr
    assert json.loads(trusted.stdout) == [] and seen == [f"Bearer {TOKEN}"]


def test_the_walkthrough_takes_the_shared_api_and_tls_flags(https_gateway, certificate):
    """The chart's test pod runs the walk-through with --api; --tls-ca checks an HTTPS gateway."""
    url, seen = https_gateway
    walkthrough = [sys.executable, "-m", "motcua.deploy.walkthrough"]
    untrusted = subprocess.run([*walkthrough, "--api", url], capture_output=True, text=True, timeout=120)
    assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr, untrusted.stderr
    assert seen == []
    trusted = subprocess.run([*walkthrough, "--api", url, "--tls-ca", str(certificate["cert"])],
                             capture_output=True, text=True, timeout=120)
    # The test server refuses the first step; reaching it over the checked TLS is what is shown.
    assert trusted.returncode == 1 and "HTTP 403" in trusted.stderr, trusted.stderr
    assert seen == ["POST /v1/tokens:issueDevelopment"]
    version = subprocess.run([*walkthrough, "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.strip().endswith("0.1.0"), version
