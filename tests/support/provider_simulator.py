"""A provider simulator as a real HTTP server: eSMS's SMS brandname API and Zalo's ZNS API,
with their documented request and answer shapes, and the failures providers really return.

A test scripts what the next requests for a phone number get, in order (``script``):
``ok``, ``throttle`` (HTTP 429 with Retry-After), ``5xx`` (HTTP 503), ``timeout`` (no answer
for longer than the client waits), ``invalid_number`` (eSMS 108 / ZNS -108),
``not_approved`` (eSMS 146 / ZNS -117). Unscripted requests get ``ok``. Every request
received is kept (``received``), in order, parsed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from motcua.devstack import free_port

ESMS_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
ZNS_PATH = "/message/template"

ESMS_ANSWERS = {
    "invalid_number": {"CodeResult": "108", "CountRegenerate": 0, "ErrorMessage": "Phone number invalid format"},
    "not_approved": {"CodeResult": "146", "CountRegenerate": 0, "ErrorMessage": "Sai template Brandname CSKH"},
}
ZNS_ANSWERS = {
    "invalid_number": {"error": -108, "message": "Phone number invalid"},
    "not_approved": {"error": -117, "message": "OA or App does not have permission to access this template"},
}


class ProviderSimulator:
    def __init__(self, timeout_sleep: float = 3.0, access_token: str = "zns-token") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout_sleep = timeout_sleep
        self.access_token = access_token
        self.scripts: dict[str, deque[str]] = defaultdict(deque)
        self.received: list[tuple[str, dict[str, Any]]] = []  # (path, JSON body)
        self.answers: list[tuple[str, str, str]] = []  # (path, phone, behaviour)
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ProviderSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, phone: str, *behaviours: str) -> None:
        with self._lock:
            self.scripts[phone].extend(behaviours)

    def requests_for(self, phone: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for _, body in self.received if phone in (body.get("Phone"), body.get("phone"))]

    def wait_requests(self, phone: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        with self._lock:
            ok = self._lock.wait_for(lambda: len(self.requests_for(phone)) >= count, timeout)
        assert ok, f"{count} requests for {phone} expected, got {self.requests_for(phone)}"
        return self.requests_for(phone)

    def _next(self, phone: str) -> str:
        with self._lock:
            script = self.scripts.get(phone)
            return script.popleft() if script else "ok"

    def _handler(self):
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 (http.server's hook)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == ESMS_PATH:
                    phone = body.get("Phone", "")
                elif self.path == ZNS_PATH:
                    phone = body.get("phone", "")
                    if self.headers.get("access_token") != simulator.access_token:
                        return self._json(200, {"error": -124, "message": "Access token is invalid"})
                else:
                    return self._json(404, {"error": "no such path"})
                behaviour = simulator._next(phone)
                with simulator._lock:
                    simulator.received.append((self.path, body))
                    simulator.answers.append((self.path, phone, behaviour))
                    simulator._lock.notify_all()
                if behaviour == "timeout":
                    time.sleep(simulator.timeout_sleep)
                    return self._json(200, {})
                if behaviour == "throttle":
                    return self._json(429, {"error": "Too many requests"}, {"Retry-After": "0"})
                if behaviour == "5xx":
                    return self._json(503, {"error": "Service unavailable"})
                if self.path == ESMS_PATH:
                    answer = ESMS_ANSWERS.get(behaviour) or {
                        "CodeResult": "100", "CountRegenerate": 0, "SMSID": uuid.uuid4().hex}
                else:
                    answer = ZNS_ANSWERS.get(behaviour) or {
                        "error": 0, "message": "Success",
                        "data": {"msg_id": uuid.uuid4().hex, "sent_time": str(int(time.time() * 1000)),
                                 "quota": {"dailyQuota": "500", "remainingQuota": "499"}}}
                return self._json(200, answer)

            def _json(self, status: int, answer: dict, headers: dict | None = None):
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout)

        return Handler
