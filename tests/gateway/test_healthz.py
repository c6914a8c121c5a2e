"""The gateway shell as real processes: /healthz asks every backend's grpc.health.v1 over a
long-lived
channel and says which one is down, while the gateway stays ready (a down backend's routes answer
503 naming it); /livez, JSON 404s, and a clean, graceful SIGTERM (unready while it drains)."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from motcua.devstack import free_port
from tests.gateway.support import _http
from tests.support.auth import default_token
from tests.support.waiting import eventually


class HealthBackend:
    """A bare gRPC server with only the standard health service, its status set by the test."""

    def __init__(self, port: int) -> None:
        self.addr = f"127.0.0.1:{port}"
        self.server: grpc.Server | None = None
        self.health = health.HealthServicer()

    def start(self, status: int) -> HealthBackend:
        self.server = grpc.server(futures.ThreadPoolExecutor(2))
        self.health = health.HealthServicer()
        self.health.set("", status)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        assert self.server.add_insecure_port(self.addr)
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(0).wait()
            self.server = None


@pytest.fixture
def health_backend() -> Iterator[HealthBackend]:
    backend = HealthBackend(free_port())
    yield backend
    backend.stop()


@pytest.fixture
def black_hole() -> Iterator[Callable[[], str]]:
    """Addresses whose TCP port accepts connections (the kernel's backlog) but never answers a
    byte."""
    sockets: list[socket.socket] = []

    def make() -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sockets.append(sock)
        return f"127.0.0.1:{sock.getsockname()[1]}"

    yield make
    for sock in sockets:
        sock.close()


def nowhere() -> str:
    """An address where nothing listens."""
    return f"127.0.0.1:{free_port()}"


def test_healthz_names_the_unreachable_backend(services, start_gateway):
    ghost = nowhere()
    gw = start_gateway({**services, "ghost": ghost})
    status, body = gw.get("/healthz")
    assert status == 200  # the gateway serves: the other backends' routes work
    assert body == {
        "status": "SERVING",
        "backends": {"procedures": "SERVING", "dossiers": "SERVING", "ghost": "UNREACHABLE"},
        "backends_not_serving": ["ghost"],
    }
    assert '"state": "UNREACHABLE"' in gw.process.log_path.read_text()  # logged once, as it changed


def test_one_backend_down_leaves_the_gateway_ready_and_only_its_routes_503(services, start_gateway):
    gw = start_gateway({"procedures": services["procedures"], "dossiers": nowhere()})
    status, body = gw.get("/healthz")
    assert (status, body["status"], body["backends_not_serving"]) == (200, "SERVING", ["dossiers"])
    token = {"Authorization": f"Bearer {default_token()}"}
    assert gw.call("GET", "/v1/procedures?page_size=1", headers=token).status == 200
    down = gw.call("GET", f"/v1/dossiers/{uuid.uuid4()}", headers=token)
    assert (down.status, down.json["error"]["status"]) == (503, "UNAVAILABLE"), down.raw
    assert "dossiers" in down.json["error"]["message"]
    assert "127.0.0.1" not in down.json["error"]["message"]


def test_healthz_is_200_when_every_backend_serves(services, start_gateway):
    gw = start_gateway(services)
    for _ in range(3):  # the same channels serve probe after probe
        status, body = gw.get("/healthz")
        assert status == 200
        assert body == {"status": "SERVING", "backends": {"procedures": "SERVING", "dossiers": "SERVING"},
                        "backends_not_serving": []}


def test_livez_and_json_errors(start_gateway):
    gw = start_gateway({"ghost": nowhere()})  # liveness does not depend on the backends
    assert gw.get("/livez") == (200, {"status": "SERVING"})
    status, body = gw.get("/no/such/path")
    assert status == 404
    assert body["error"]["code"] == 404
    assert "/no/such/path" in body["error"]["message"]
    request = urllib.request.Request(gw.url + "/livez", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        _http.open(request, timeout=10)
    assert e.value.code == 405
    assert json.loads(e.value.read())["error"]["code"] == 405


def test_healthz_follows_a_backend_down_and_back(start_gateway, health_backend):
    backend = health_backend.start(health_pb2.HealthCheckResponse.NOT_SERVING)
    gw = start_gateway({"flaky": backend.addr})
    assert gw.get("/healthz") == (200, {"status": "SERVING", "backends": {"flaky": "NOT_SERVING"},
                                        "backends_not_serving": ["flaky"]})

    backend.health.set("", health_pb2.HealthCheckResponse.SERVING)
    assert gw.get("/healthz") == (200, {"status": "SERVING", "backends": {"flaky": "SERVING"},
                                        "backends_not_serving": []})

    backend.stop()
    eventually(lambda: gw.get("/healthz")[1]["backends"] == {"flaky": "UNREACHABLE"}, timeout=10,
               what="UNREACHABLE once the backend is gone")

    backend.start(health_pb2.HealthCheckResponse.SERVING)  # back, on the same address
    # The same channel reconnects by itself, after a backoff of at most 2 s.
    eventually(lambda: gw.get("/healthz")[1]["backends"] == {"flaky": "SERVING"}, timeout=10,
               what="SERVING once the backend is back")


class MeetingHealth(health_pb2_grpc.HealthServicer):
    """Says SERVING only once every backend sharing ``meeting`` is being checked at the same
    time: checks made one after the other never all meet, and answer NOT_SERVING."""

    def __init__(self, meeting: threading.Barrier) -> None:
        self.meeting = meeting

    def Check(self, request, context):
        try:
            self.meeting.wait()
        except threading.BrokenBarrierError:
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.NOT_SERVING)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


def test_healthz_checks_backends_concurrently(start_gateway):
    meeting = threading.Barrier(3, timeout=5)
    servers, backends = [], {}
    for name in ("a", "b", "c"):
        server = grpc.server(futures.ThreadPoolExecutor(2))
        health_pb2_grpc.add_HealthServicer_to_server(MeetingHealth(meeting), server)
        addr = f"127.0.0.1:{free_port()}"
        assert server.add_insecure_port(addr)
        server.start()
        servers.append(server)
        backends[name] = addr
    try:
        gw = start_gateway(backends, MOTCUA_HEALTH_TIMEOUT="10")
        status, body = gw.get("/healthz", timeout=20)
        assert (status, body["backends"]) == (200, {"a": "SERVING", "b": "SERVING", "c": "SERVING"}), body
    finally:
        for server in servers:
            server.stop(0)


def test_healthz_answers_within_its_deadline_when_backends_never_answer(start_gateway, black_hole):
    gw = start_gateway({"a": black_hole(), "b": black_hole(), "c": black_hole()}, MOTCUA_HEALTH_TIMEOUT="1")
    status, body = gw.get("/healthz")
    assert status == 200
    assert body["backends"] == {"a": "UNREACHABLE", "b": "UNREACHABLE", "c": "UNREACHABLE"}


def test_sigterm_finishes_the_request_in_flight_and_exits_0(start_gateway, black_hole) -> None:
    gw = start_gateway({"slow": black_hole()}, MOTCUA_HEALTH_TIMEOUT="1.5")
    result: dict[str, Any] = {}

    def call() -> None:
        try:
            result["response"] = gw.get("/healthz")
            result["answered"] = time.monotonic()
        except Exception as e:  # reported by the assertion below
            result["error"] = e

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.5)  # the request is waiting on the backend's deadline
    assert gw.process.pid is not None
    os.kill(gw.process.pid, signal.SIGTERM)
    signalled = time.monotonic()
    assert gw.process.wait_exit(timeout=20) == 0
    caller.join(timeout=10)
    # Answered while draining: no longer ready, so that no new request is sent its way.
    assert result.get("response") == (503, {"status": "NOT_SERVING", "backends": {"slow": "UNREACHABLE"},
                                            "backends_not_serving": ["slow"]}), result
    assert result["answered"] > signalled  # it was in flight when SIGTERM came, and still got its answer
    with pytest.raises(urllib.error.URLError):  # no longer listening
        _http.open(gw.url + "/livez", timeout=2)
    log = gw.process.log_path.read_text()
    assert "backend channels closed" in log
    assert '"level": "ERROR"' not in log


def test_bad_configuration_exits_2_and_says_why(start_gateway):
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 2.*MOTCUA_BACKENDS entries must be name=host:port"):
        start_gateway({}, MOTCUA_BACKENDS="procedures")
