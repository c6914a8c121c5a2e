"""Helpers for the gateway tests: HTTP requests without proxies, gateway processes on free ports."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from motcua.devstack import ServiceProcess, free_port
from motcua.devstack.services import gateway_env
from tests.support.auth import default_token

_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via an http_proxy


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes
    json: Any = field(default=None)  # decoded JSON: its shape is what each test asserts

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


def http(method: str, url: str, body: object = None, *, raw: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 20) -> Reply:
    """One HTTP request; the reply whatever its status, with its JSON decoded when it is JSON."""
    headers = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _http.open(request, timeout=timeout) as response:
            status, response_headers, content = response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        status, response_headers, content = e.code, e.headers, e.read()
    reply = Reply(status, {k.lower(): v for k, v in response_headers.items()}, content)
    if reply.content_type == "application/json":
        reply.json = json.loads(content)
    return reply


class Gateway:
    def __init__(self, process: ServiceProcess, url: str) -> None:
        self.process = process
        self.url = url

    def get(self, path: str, timeout: float = 10) -> tuple[int, dict]:
        reply = self.call("GET", path, timeout=timeout)
        assert reply.content_type == "application/json", (reply.status, reply.content_type, reply.raw)
        assert isinstance(reply.json, dict)
        return reply.status, reply.json

    def call(self, method: str, path: str, body: object = None, *, anonymous: bool = False,
             headers: dict[str, str] | None = None, **kwargs) -> Reply:
        """One request as the session's default caller (its bearer token), unless anonymous or
        the headers carry an Authorization of their own."""
        headers = dict(headers or {})
        if not anonymous and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {default_token()}"
        return http(method, self.url + path, body, headers=headers, **kwargs)


StartGateway = Callable[..., Gateway]


class GatewayStarter:
    """Starts gateways on free ports; stop() requires each one still running to exit with code 0."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.started: list[ServiceProcess] = []

    def __call__(self, backends: dict[str, str], timeout: float = 90, **extra_env: str) -> Gateway:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = gateway_env(port, backends, {"MOTCUA_LOG_LEVEL": "DEBUG", **extra_env})
        log = self.stack.logs / f"gateway-{port}.log"
        process = ServiceProcess("gateway", env, log, ready_url=f"{url}/livez")
        self.started.append(process)
        return Gateway(process.start(timeout=timeout), url)  # a loaded machine takes its time to import

    def stop(self) -> None:
        try:
            for process in self.started:
                if process.alive:
                    assert process.terminate(timeout=20) == 0, process.log_path.read_text()
        finally:
            for process in self.started:
                process.kill()
