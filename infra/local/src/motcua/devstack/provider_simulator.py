"""A provider simulator as a real HTTP server: eSMS's SMS brandname API and Zalo's ZNS API,
with their documented request and answer shapes, and the failures providers really return.

A test scripts what the next requests for a phone number get, in order (``script``):
``ok``, ``throttle`` (HTTP 429 with Retry-After), ``5xx`` (HTTP 503), ``timeout`` (no answer
for longer than the client waits), ``invalid_number`` (eSMS 108 / ZNS -108),
``not_approved`` (eSMS 146 / ZNS -117). Unscripted requests get ``ok``. Every request
received is kept (``received``), in order, parsed.

With ``receipts``, a message accepted is also reported delivered, as the providers do a moment
later: eSMS calls the ``CallbackUrl`` its request named (``GET`` with ``SMSID``, ``SendStatus=5``,
``SendSuccess``, ``SendFailed``), Zalo posts a ``user_received_message`` event to the OA's webhook,
signed ``X-ZEvent-Signature: mac=<sha256(app id + body + timestamp + OA secret key)>``. A receipt
answered 404 (not known yet) or not answered is repeated a few times, as providers repeat them.

``make run`` runs it as its own process (``python -m motcua.devstack.provider_simulator``),
with receipts, appending every message it receives to a JSON-lines file (``--record``), so that
a developer reads what would have reached a phone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ._proc import free_port

log = logging.getLogger("motcua.devstack.providers")

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


@dataclass(frozen=True)
class Receipts:
    """Where and how the simulator reports deliveries (eSMS: the request's own CallbackUrl)."""

    zalo_webhook: str = ""
    zalo_app_id: str = ""
    zalo_oa_secret_key: str = ""
    delay: float = 0.2  # a provider reports a moment after it accepted
    attempts: int = 5


def zalo_mac(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Zalo's OA webhook signature, as its documentation gives it."""
    return "mac=" + hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()


class ProviderSimulator:
    def __init__(self, timeout_sleep: float = 3.0, access_token: str = "zns-token", port: int | None = None,
                 receipts: Receipts | None = None, record: Path | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout_sleep = timeout_sleep
        self.access_token = access_token
        self.receipts = receipts
        self.record = record
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
                self._json(200, answer)
                if behaviour == "ok":
                    simulator._accepted(self.path, phone, body, answer)

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

    def _accepted(self, path: str, phone: str, body: dict[str, Any], answer: dict[str, Any]) -> None:
        """A message the provider took: recorded, and reported delivered when receipts are on."""
        esms = path == ESMS_PATH
        message_id = answer["SMSID"] if esms else answer["data"]["msg_id"]
        if self.record is not None:
            line = {"received_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "provider": "esms" if esms else "zalo_zns",
                    "phone": phone, "message_id": message_id,
                    **({"brandname": body.get("Brandname"), "text": body.get("Content")} if esms else
                       {"template_id": body.get("template_id"), "template_data": body.get("template_data")})}
            with self._lock, self.record.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        if self.receipts is None:
            return
        if esms and body.get("CallbackUrl"):
            query = urllib.parse.urlencode({"SMSID": message_id, "SendStatus": "5", "SendSuccess": "1",
                                            "SendFailed": "0", "TypeId": str(body.get("SmsType", "2")),
                                            "phonenumber": phone})
            url = body["CallbackUrl"] + ("&" if "?" in body["CallbackUrl"] else "?") + query
            request = urllib.request.Request(url, method="GET")
        elif not esms and self.receipts.zalo_webhook:
            timestamp = str(int(time.time() * 1000))
            event = {"app_id": self.receipts.zalo_app_id, "event_name": "user_received_message",
                     "timestamp": timestamp, "message": {"msg_id": message_id,
                                                         "tracking_id": body.get("tracking_id", ""),
                                                         "delivery_time": timestamp}}
            data = json.dumps(event, ensure_ascii=False).encode()
            request = urllib.request.Request(self.receipts.zalo_webhook, data=data, method="POST", headers={
                "Content-Type": "application/json",
                "X-ZEvent-Signature": zalo_mac(self.receipts.zalo_app_id, data, timestamp,
                                               self.receipts.zalo_oa_secret_key)})
        else:
            return
        threading.Thread(target=self._report, args=(request,), daemon=True).start()

    def _report(self, request: urllib.request.Request) -> None:
        assert self.receipts is not None
        for attempt in range(self.receipts.attempts):
            time.sleep(self.receipts.delay * (2 ** attempt))
            try:
                with urllib.request.urlopen(request, timeout=10):
                    return
            except urllib.error.HTTPError as e:
                if e.code != 404:  # refused (a bad token or signature): repeating will not help
                    log.warning("receipt to %s refused: HTTP %s", request.full_url.split("?")[0], e.code)
                    return
            except OSError as e:
                log.info("receipt to %s not delivered yet: %s", request.full_url.split("?")[0], e)
        log.warning("receipt to %s given up", request.full_url.split("?")[0])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.devstack.provider_simulator",
                                     description="eSMS and Zalo ZNS as a local HTTP server (make run)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True, help="append every message received here (JSON lines)")
    parser.add_argument("--access-token", default="zns-token", help="the ZNS access token it accepts")
    parser.add_argument("--zalo-webhook", default="", help="the OA webhook receipts are posted to")
    parser.add_argument("--zalo-app-id", default="")
    parser.add_argument("--zalo-oa-secret-key", default="")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args.record.parent.mkdir(parents=True, exist_ok=True)
    simulator = ProviderSimulator(port=args.port, access_token=args.access_token, record=args.record,
                                  receipts=Receipts(args.zalo_webhook, args.zalo_app_id, args.zalo_oa_secret_key))
    log.info("eSMS and Zalo ZNS at %s; messages in %s", simulator.url, args.record)
    simulator._server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
