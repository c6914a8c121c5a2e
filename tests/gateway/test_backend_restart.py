"""A rolling upgrade seen through the gateway, as real processes: while a backend (procedures,
identity) stops with SIGTERM or SIGKILL and comes back, and while the gateway itself stops with
requests in flight, every answer is the backend's answer or a retryable 503 UNAVAILABLE with
the gateway's JSON error body, never a 500 and never uvicorn's plain-text "Internal Server
Error"."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from motcua.devstack import ServiceProcess, free_port, identity_env
from tests.gateway.support import Gateway, Reply, StartGateway
from tests.support.waiting import eventually

# What the load sends: a transcoded RPC of each backend stopped below, and identity's proxied
# OIDC discovery. (POST /v1/tokens:issueDevelopment is a transcoded gRPC call of identity.)
REQUESTS: list[tuple[str, str, dict | None]] = [
    ("GET", "/v1/procedures?page_size=1", None),
    ("POST", "/v1/tokens:issueDevelopment", {"roles": ["ROLE_APPLICANT"], "display_name": "Nguyễn Thị Hằng"}),
    ("GET", "/.well-known/openid-configuration", None),
]


class Load:
    """Threads sending REQUESTS through the gateway in a loop, every reply kept."""

    def __init__(self, gateway: Gateway, threads: int = 3) -> None:
        self.gateway = gateway
        self.replies: list[tuple[str, str, Reply]] = []
        self.errors: list[tuple[str, str, BaseException]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def _run(self, offset: int) -> None:
        i = offset
        while not self._stop.is_set():
            method, path, body = REQUESTS[i % len(REQUESTS)]
            i += 1
            try:
                reply = self.gateway.call(method, path, body, timeout=30)
            except OSError as e:  # the gateway stopped listening (its own shutdown)
                with self._lock:
                    self.errors.append((method, path, e))
                time.sleep(0.05)
                continue
            with self._lock:
                self.replies.append((method, path, reply))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def seen(self, path_prefix: str, status: int) -> Callable[[], bool]:
        def check() -> bool:
            with self._lock:
                return any(p.startswith(path_prefix) and r.status == status for _, p, r in self.replies)
        return check

    def since(self, count: int) -> Callable[[], int]:
        return lambda: len(self.replies) - count


def bad_replies(replies: list[tuple[str, str, Reply]]) -> list[tuple[str, str, int, Any]]:
    """Replies that are neither a success nor a JSON 503 UNAVAILABLE with a Retry-After."""
    bad = []
    for method, path, reply in replies:
        if 200 <= reply.status < 300:
            continue
        error = reply.json.get("error") if isinstance(reply.json, dict) else None
        if reply.status == 503 and isinstance(error, dict) and error.get("status") == "UNAVAILABLE" \
                and error.get("code") == 503 and error.get("message") and reply.headers.get("retry-after") == "1":
            continue
        bad.append((method, path, reply.status, reply.json if reply.json is not None else reply.raw[:200]))
    return bad


@pytest.fixture
def own_identity(stack) -> Iterator[tuple[ServiceProcess, int]]:
    """An identity process of this test's own (the session's keys), free to be stopped."""
    http_port = free_port()
    identity = stack.service("identity", **identity_env(stack.profile, http_port)).start()
    yield identity, http_port
    identity.kill()


@pytest.fixture
def own_procedures(stack) -> Iterator[ServiceProcess]:
    procedures = stack.service("procedures").start()
    yield procedures
    procedures.kill()


def test_backends_stopping_and_restarting_answer_only_successes_or_json_503s(
        start_gateway: StartGateway, own_identity, own_procedures) -> None:
    identity, identity_http_port = own_identity
    gw = start_gateway({"procedures": own_procedures.addr, "identity": identity.addr},
                       MOTCUA_IDENTITY_URL=f"http://127.0.0.1:{identity_http_port}", MOTCUA_RPC_TIMEOUT="10")
    with Load(gw) as load:
        eventually(load.seen("/v1/procedures", 200), timeout=30, what="the load under way")
        own_procedures.terminate(timeout=20)  # SIGTERM: a graceful stop with calls in flight
        eventually(load.seen("/v1/procedures", 503), timeout=30, what="503s while procedures is down")
        before = len(load.replies)
        own_procedures.start(timeout=90)  # back on the same address
        eventually(lambda: load.since(before)() > 0 and load.seen("/v1/procedures", 200)(), timeout=60,
                   what="procedures answering again")

        assert identity.pid is not None
        os.kill(identity.pid, signal.SIGKILL)  # no goodbye: connections reset mid-call
        eventually(load.seen("/.well-known/", 503), timeout=30, what="503s from the identity proxy")
        proxied = next(r for _, p, r in load.replies if p.startswith("/.well-known/") and r.status == 503)
        assert proxied.json["error"]["message"] == "the identity service is unavailable; try again later"
        eventually(load.seen("/v1/tokens:", 503), timeout=30, what="503s from identity's RPCs")
        identity.kill()
        identity.start(timeout=90)
        before = len(load.replies)
        eventually(lambda: any(r.status == 200 and p.startswith("/.well-known/")
                               for _, p, r in load.replies[before:]), timeout=60, what="identity answering again")
        identity.terminate(timeout=20)  # and a graceful stop of identity
        eventually(load.seen("/.well-known/", 503), timeout=30, what="503s once identity stopped")
        assert not load.errors, load.errors[:5]

        identity.start(timeout=90)  # procedures runs since its restart above
        before = len(load.replies)
        eventually(lambda: any(r.status == 200 and p.startswith("/v1/tokens:")
                               for _, p, r in load.replies[before:]), timeout=60, what="identity's RPCs again")
        assert gw.process.pid is not None
        os.kill(gw.process.pid, signal.SIGTERM)  # the gateway's own stop, with requests in flight
        assert gw.process.wait_exit(timeout=30) == 0
    # Once it stopped listening the gateway refuses connections (the load's OSErrors): a
    # client tries another replica; what it did answer is judged below.
    assert not bad_replies(load.replies), bad_replies(load.replies)[:10]


def test_gateway_sigterm_answers_requests_still_in_flight_at_its_grace_with_a_json_503(
        start_gateway: StartGateway) -> None:
    """A request that waits on a backend past the shutdown grace (a backend being replaced
    whose new address does not answer yet) is answered a retryable 503, not cut off with a
    plain-text 500 when uvicorn cancels it."""
    import socket
    hole = socket.socket()  # accepts connections (the kernel's backlog) and never answers a byte
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    try:
        backend = f"127.0.0.1:{hole.getsockname()[1]}"
        gw = start_gateway({"procedures": backend, "identity": backend}, MOTCUA_SHUTDOWN_GRACE="1",
                           MOTCUA_RPC_TIMEOUT="60", MOTCUA_HEALTH_TIMEOUT="0.5")
        replies: list[Reply] = []

        def call(method: str, path: str, body: dict | None) -> None:
            replies.append(gw.call(method, path, body, timeout=60))

        callers = [threading.Thread(target=call, args=REQUESTS[0]),
                   threading.Thread(target=call, args=REQUESTS[1])]
        for caller in callers:
            caller.start()
        time.sleep(1.0)  # both are waiting on the backend
        assert gw.process.pid is not None
        os.kill(gw.process.pid, signal.SIGTERM)
        assert gw.process.wait_exit(timeout=30) == 0
        for caller in callers:
            caller.join(timeout=10)
        assert len(replies) == 2
        for reply in replies:
            assert reply.status == 503, (reply.status, reply.raw[:200])
            assert reply.content_type == "application/json", reply.raw[:200]
            assert reply.json["error"]["status"] == "UNAVAILABLE"
            assert "shutting down" in reply.json["error"]["message"]
            assert reply.headers.get("retry-after") == "1"
    finally:
        hole.close()



class SlowProcedures(grpc.GenericRpcHandler):
    """A procedures backend that never finishes a call before it is stopped."""

    def __init__(self) -> None:
        self.called = threading.Event()
        self.release = threading.Event()

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        def handle(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.called.set()
            self.release.wait(30)
            return b""
        return grpc.unary_unary_rpc_method_handler(handle)


def test_a_backend_stopping_with_the_call_in_flight_is_a_json_503(start_gateway: StartGateway) -> None:
    """The backend's graceful stop runs out and cancels the call it was still serving: the
    client cancelled nothing, and a retry reaches the backend's replacement."""
    slow = SlowProcedures()
    server = grpc.server(futures.ThreadPoolExecutor(4), handlers=[slow])
    addr = f"127.0.0.1:{free_port()}"
    assert server.add_insecure_port(addr)
    server.start()
    try:
        gw = start_gateway({"procedures": addr})
        replies: list[Reply] = []
        caller = threading.Thread(target=lambda: replies.append(gw.call("GET", "/v1/procedures?page_size=1")))
        caller.start()
        assert slow.called.wait(30)
        server.stop(0.5).wait()
        caller.join(timeout=30)
        assert len(replies) == 1
        reply = replies[0]
        assert reply.status == 503, (reply.status, reply.raw[:300])
        assert reply.json["error"]["status"] == "UNAVAILABLE"
        assert reply.json["error"]["message"] == "the procedures service is unavailable; try again later"
        assert reply.headers["retry-after"] == "1"
    finally:
        slow.release.set()
        server.stop(0)
