"""Gateway configuration, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from motcua.kernel.client_address import TrustedProxies
from motcua.kernel.config import (
    DEFAULT_MAX_MESSAGE_BYTES,
    AuthSettings,
    ConfigError,
    env_number,
    max_message_bytes,
    metrics_addr_from_env,
    trusted_proxies_from_env,
)

from .cors import DEFAULT_MAX_AGE, parse_origins

SERVICE = "gateway"

# Where `make gateway-ui` (npm ci in services/gateway/ui) puts Swagger UI, from this source tree.
DEFAULT_DOCS_DIR = Path(__file__).resolve().parents[3] / "ui" / "node_modules" / "swagger-ui-dist"


def _split_addr(key: str, addr: str) -> tuple[str, int]:
    """Splits host:port (IPv6 as [::1]:port) into (host, port)."""
    host, sep, port = addr.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{key} must be host:port, got {addr!r}")
    return host, int(port)


def parse_backends(raw: str) -> dict[str, str]:
    """Reads name=host:port,name=host:port... into {name: "host:port"}, in the order given."""
    backends: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, addr = (s.strip() for s in item.partition("="))
        if not sep or not name:
            raise ConfigError(f"MOTCUA_BACKENDS entries must be name=host:port, got {item!r}")
        if name in backends:
            raise ConfigError(f"MOTCUA_BACKENDS names {name!r} twice")
        _split_addr(f"MOTCUA_BACKENDS[{name}]", addr)
        backends[name] = addr
    return backends


@dataclass(frozen=True)
class GatewaySettings:
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    backends: dict[str, str] = field(default_factory=dict)  # name -> gRPC "host:port"
    health_timeout: float = 1.0  # deadline of each backend's Health/Check
    shutdown_grace: float = 10.0  # how long in-flight requests may finish after SIGTERM
    log_level: str = "INFO"
    # A FileDescriptorSet with source info, for the OpenAPI descriptions; None: the one beside
    # the installed stubs (protos/gen/descriptor_set.binpb). See descriptors.py.
    descriptor_set: Path | None = None
    rpc_timeout: float = 30.0  # deadline of each transcoded unary call
    # MOTCUA_MAX_MESSAGE_BYTES, the kernel's one limit: larger request bodies are refused (413),
    # and the backend channels send and receive messages up to it, as the services do.
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    docs_dir: Path | None = DEFAULT_DOCS_DIR  # swagger-ui-dist, served at /docs
    # The identity service's HTTP address (discovery, JWKS, OAuth2 endpoints, login page),
    # proxied under the gateway's own URL, the public issuer; "" serves none of it.
    identity_url: str = ""
    # The notifications service's HTTP address, where the providers' receipts are passed
    # (/v1/notifications/callbacks/{provider}); "" serves none.
    notifications_callbacks_url: str = ""
    # Where the token keys are (MOTCUA_AUTH_*, as for the services): with them the gateway refuses
    # a call without a valid token before reading its body; without them it checks only that a
    # bearer token is there. The services verify every token either way.
    auth: AuthSettings | None = None
    # The proxies in front of the gateway (the ingress) whose X-Forwarded-For names the caller.
    trusted_proxies: TrustedProxies = TrustedProxies()
    # The browser origins whose pages may call the API and the OIDC endpoints (cors.py); none:
    # only same-origin pages (the docs) and non-browser clients.
    cors_allowed_origins: tuple[str, ...] = ()
    cors_max_age: int = DEFAULT_MAX_AGE
    metrics_addr: str = ""  # MOTCUA_METRICS_ADDR, as for the services (kernel metrics.py)
    # The public OIDC client the docs page logs in as (docs.py); "": no login on the page.
    docs_oidc_client_id: str = ""

    @property
    def http_addr(self) -> str:
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"{host}:{self.http_port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        env = os.environ if environ is None else environ
        host, port = _split_addr("MOTCUA_HTTP_ADDR", env.get("MOTCUA_HTTP_ADDR") or "127.0.0.1:8080")
        health_timeout = env_number(env, "MOTCUA_HEALTH_TIMEOUT", 1.0, float, minimum=0.0)
        if not health_timeout:
            raise ConfigError("MOTCUA_HEALTH_TIMEOUT must be more than 0")
        rpc_timeout = env_number(env, "MOTCUA_RPC_TIMEOUT", 30.0, float, minimum=0.0)
        if not rpc_timeout:
            raise ConfigError("MOTCUA_RPC_TIMEOUT must be more than 0")
        if env.get("MOTCUA_MAX_BODY_BYTES", "").strip():
            # Silently ignoring it would leave an operator believing in a limit that is not there.
            raise ConfigError("MOTCUA_MAX_BODY_BYTES is replaced by MOTCUA_MAX_MESSAGE_BYTES, the one limit "
                              "of the gateway, the channels and the services")
        descriptor_set = env.get("MOTCUA_DESCRIPTOR_SET", "")
        if descriptor_set and not Path(descriptor_set).is_file():
            raise ConfigError(f"MOTCUA_DESCRIPTOR_SET names no file: {descriptor_set!r}")
        docs_dir = env.get("MOTCUA_DOCS_DIR", "")
        return cls(
            http_host=host,
            http_port=port,
            backends=parse_backends(env.get("MOTCUA_BACKENDS", "")),
            health_timeout=health_timeout,
            shutdown_grace=env_number(env, "MOTCUA_SHUTDOWN_GRACE", 10.0, float, minimum=0.0),
            log_level=env.get("MOTCUA_LOG_LEVEL", "INFO").upper(),
            descriptor_set=Path(descriptor_set) if descriptor_set else None,
            rpc_timeout=rpc_timeout,
            max_message_bytes=max_message_bytes(env),
            docs_dir=Path(docs_dir) if docs_dir else DEFAULT_DOCS_DIR,
            identity_url=_http_url("MOTCUA_IDENTITY_URL", env.get("MOTCUA_IDENTITY_URL", "")),
            notifications_callbacks_url=_http_url("MOTCUA_NOTIFICATIONS_CALLBACKS_URL",
                                                  env.get("MOTCUA_NOTIFICATIONS_CALLBACKS_URL", "")),
            auth=AuthSettings.from_env(env),
            trusted_proxies=trusted_proxies_from_env(env),
            cors_allowed_origins=parse_origins(env.get("MOTCUA_CORS_ALLOWED_ORIGINS", "")),
            cors_max_age=env_number(env, "MOTCUA_CORS_MAX_AGE", DEFAULT_MAX_AGE, int, minimum=0),
            metrics_addr=metrics_addr_from_env(env),
            docs_oidc_client_id=env.get("MOTCUA_DOCS_OIDC_CLIENT_ID", "").strip(),
        )


def _http_url(key: str, raw: str) -> str:
    url = raw.strip().rstrip("/")
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{key} must be an http(s) URL, got {raw!r}")
    return url
