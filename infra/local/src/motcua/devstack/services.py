"""Run one motcua service (`python -m motcua.<name>`) and wait until its gRPC health says SERVING
(the HTTP gateway: until its liveness URL answers 200)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from . import _proc
from .postgres import Postgres
from .profiles import Profile, repo_root

# Every process of the local stack listens on loopback, the gateway's calls to the services
# included: loopback is the one trusted proxy, whose word on the caller's address counts.
LOCAL_TRUSTED_PROXIES = "127.0.0.0/8,::1/128"


def service_env(profile: Profile, service: str, grpc_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The configuration contract of a service: only these variables (plus extra), not
    os.environ."""
    return {
        "MOTCUA_SERVICE": service,
        "MOTCUA_GRPC_ADDR": f"127.0.0.1:{grpc_port}",
        "POSTGRES_HOST": Postgres.host,
        "POSTGRES_PORT": str(profile.pg_port),
        "POSTGRES_DBNAME": f"motcua_{service}",
        "POSTGRES_USER": Postgres.user,
        "POSTGRES_PASSWORD": Postgres.password,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{profile.kafka_port}",
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "MOTCUA_TRUSTED_PROXIES": LOCAL_TRUSTED_PROXIES,
        **(extra or {}),
    }


def auth_env(identity_http_port: int, issuer: str | None = None) -> dict[str, str]:
    """Where every service finds the keys tokens are verified with (identity's own, internal
    address), and the issuer they name: the public URL of the OIDC provider, the gateway's when
    one fronts identity (default: identity's own address)."""
    internal = f"http://127.0.0.1:{identity_http_port}"
    return {"MOTCUA_AUTH_ISSUER": issuer or internal, "MOTCUA_AUTH_JWKS_URL": f"{internal}/.well-known/jwks.json"}


OIDC_DEV_FILES = repo_root() / "infra" / "local" / "oidc"


def identity_env(profile: Profile, http_port: int) -> dict[str, str]:
    """The identity service's own: its HTTP port, its key folder, development tokens on, the
    development OIDC clients (infra/local/oidc/). People log in with the service's own
    accounts: the seeds create a few with development passwords (seed.py)."""
    return {
        "MOTCUA_HTTP_ADDR": f"127.0.0.1:{http_port}",
        "MOTCUA_IDENTITY_DIR": str(profile.root / "identity"),
        "MOTCUA_IDENTITY_DEV_TOKENS": "true",
        "MOTCUA_IDENTITY_OIDC_CLIENTS": str(OIDC_DEV_FILES / "clients.json"),
    }


# make run's SMS and Zalo: the provider simulator (motcua.devstack.provider_simulator) stands in
# for eSMS and Zalo ZNS, with development credentials; its receipts come back through the
# gateway, as the real providers' would.
PROVIDERS_CALLBACK_TOKEN = "dev-esms-receipts"
PROVIDERS_ZALO_APP_ID = "1000000000000000001"
PROVIDERS_ZALO_OA_SECRET_KEY = "dev-zalo-oa-secret"
PROVIDERS_ZNS_ACCESS_TOKEN = "dev-zns-access-token"


def zalo_template_ids() -> dict[str, str]:
    """An id for each template key the notifications service has a Zalo text for, as Zalo would
    give one per approved template (ids from 300001 on, in the order of the default texts)."""
    from motcua.notifications.domain import DEFAULT_TEMPLATES, ZALO

    keys = list(dict.fromkeys(t.key for t in DEFAULT_TEMPLATES if t.channel == ZALO))
    return {key: str(300001 + i) for i, key in enumerate(keys)}


def providers_env(simulator_url: str, public_url: str) -> dict[str, str]:
    """The notifications service's eSMS and Zalo settings against the simulator at
    ``simulator_url``; receipts are sent to ``public_url`` (the gateway's)."""
    return {
        "MOTCUA_ESMS_URL": simulator_url,
        "MOTCUA_ESMS_API_KEY": "dev-api-key",
        "MOTCUA_ESMS_SECRET_KEY": "dev-secret-key",
        "MOTCUA_ESMS_BRANDNAME": "MOTCUA.DEV",
        "MOTCUA_ESMS_CALLBACK_URL": f"{public_url}/v1/notifications/callbacks/esms?token={PROVIDERS_CALLBACK_TOKEN}",
        "MOTCUA_ESMS_CALLBACK_TOKEN": PROVIDERS_CALLBACK_TOKEN,
        "MOTCUA_ZALO_ZNS_URL": simulator_url,
        "MOTCUA_ZALO_ACCESS_TOKEN": PROVIDERS_ZNS_ACCESS_TOKEN,
        "MOTCUA_ZALO_APP_ID": PROVIDERS_ZALO_APP_ID,
        "MOTCUA_ZALO_OA_SECRET_KEY": PROVIDERS_ZALO_OA_SECRET_KEY,
        "MOTCUA_ZALO_TEMPLATES": ",".join(f"{key}={id_}" for key, id_ in zalo_template_ids().items()),
    }


def provider_simulator_command(port: int, record: Path, public_url: str) -> list[str]:
    """The simulator as a process (make run), its receipts to ``public_url``."""
    return [sys.executable, "-m", "motcua.devstack.provider_simulator", "--port", str(port),
            "--record", str(record), "--access-token", PROVIDERS_ZNS_ACCESS_TOKEN,
            "--zalo-webhook", f"{public_url}/v1/notifications/callbacks/zalo",
            "--zalo-app-id", PROVIDERS_ZALO_APP_ID, "--zalo-oa-secret-key", PROVIDERS_ZALO_OA_SECRET_KEY]


def gateway_env(http_port: int, backends: dict[str, str], extra: dict[str, str] | None = None,
                identity_http_port: int | None = None) -> dict[str, str]:
    """The gateway's configuration: where it listens, the gRPC address of each backend by name,
    and identity's HTTP address, whose OIDC endpoints it serves under its own URL."""
    env = {
        "MOTCUA_HTTP_ADDR": f"127.0.0.1:{http_port}",
        "MOTCUA_BACKENDS": ",".join(f"{name}={addr}" for name, addr in backends.items()),
        "MOTCUA_TRUSTED_PROXIES": LOCAL_TRUSTED_PROXIES,
    }
    if identity_http_port:
        env["MOTCUA_IDENTITY_URL"] = f"http://127.0.0.1:{identity_http_port}"
    return {**env, **(extra or {})}


class ServiceProcess:
    """One service process. env is layered over os.environ; stdout and stderr go to log_path.

    detach=True puts it in its own session so it outlives the caller (motcua-stack up); by default
    it stays in the caller's process group, so Ctrl-C on a test run stops it too.
    With ready_url (an HTTP process: the gateway) it is healthy once GET ready_url answers 200,
    otherwise once gRPC health on env["MOTCUA_GRPC_ADDR"] says SERVING.
    """

    def __init__(self, service: str, env: dict[str, str], log_path: Path, detach: bool = False,
                 module: str | None = None, ready_url: str | None = None):
        self.service = service
        self.module = module or f"motcua.{service}"
        self.env = env
        self.log_path = Path(log_path)
        self.ready_url = ready_url
        self.addr = ready_url or env["MOTCUA_GRPC_ADDR"]
        self.detach = detach
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def start(self, wait: bool = True, timeout: float = 60) -> ServiceProcess:
        # A second start would leave the running process without a handle to stop it, still
        # holding its leaderships (relay, sealer) on the service's database.
        if self.alive:
            raise RuntimeError(f"{self.service} is already running (pid {self.pid})")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        cmd = [sys.executable, "-m", self.module]
        self._proc = _proc.spawn(cmd, self.log_path, env=env, new_session=self.detach)
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 60) -> None:
        """Poll until healthy (see the class); on failure kill it and raise with the log."""
        deadline = time.monotonic() + timeout
        with (self._http_probe() if self.ready_url else self._grpc_probe()) as probe:
            status = None
            while self.alive:
                healthy, status = probe()
                if healthy:
                    return
                if time.monotonic() > deadline:
                    self.kill()
                    what = "answering 200" if self.ready_url else "SERVING"
                    raise TimeoutError(f"{self.service} not {what} on {self.addr} after {timeout:.0f}s "
                                       f"(last: {status}); log {self.log_path}:\n{_proc.tail(self.log_path)}")
                time.sleep(0.2)
        raise RuntimeError(f"{self.service} exited with code {self.returncode} before being healthy; "
                           f"log {self.log_path}:\n{_proc.tail(self.log_path)}")

    @contextlib.contextmanager
    def _grpc_probe(self) -> Iterator[Callable[[], tuple[bool, object]]]:
        """grpc.health.v1.Health/Check("") says SERVING."""
        # Short reconnect backoff: the default grows to seconds while the server is still starting.
        options = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 500),
                   ("grpc.min_reconnect_backoff_ms", 100)]
        with grpc.insecure_channel(self.addr, options=options) as channel:
            stub = health_pb2_grpc.HealthStub(channel)

            def probe() -> tuple[bool, object]:
                try:
                    status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status
                except grpc.RpcError as e:
                    return False, e.code()
                return status == health_pb2.HealthCheckResponse.SERVING, status

            yield probe

    @contextlib.contextmanager
    def _http_probe(self) -> Iterator[Callable[[], tuple[bool, object]]]:
        """GET ready_url answers 200."""
        ready_url = self.ready_url
        assert ready_url is not None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an http_proxy

        def probe() -> tuple[bool, object]:
            try:
                with opener.open(ready_url, timeout=1) as response:
                    return response.status == 200, response.status
            except urllib.error.HTTPError as e:
                return False, e.code
            except OSError as e:  # URLError (connection refused while it starts) is an OSError
                return False, getattr(e, "reason", e)

        yield probe

    def terminate(self, timeout: float = 30) -> int | None:
        """SIGTERM, wait for the exit (SIGKILL after timeout); returns the exit code (-9 if
        killed)."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            _proc.stop_pid(self._proc.pid, timeout)
        return self._proc.wait()

    def kill(self) -> int | None:
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.kill()
        return self._proc.wait()

    def wait_exit(self, timeout: float) -> int:
        """The exit code; raises subprocess.TimeoutExpired if still running after timeout."""
        assert self._proc is not None, "not started"
        return self._proc.wait(timeout)

    def __enter__(self) -> ServiceProcess:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.terminate()
