"""A service's own HTTP endpoints (an ASGI app) served beside its gRPC server, in a thread.

For what must be plain HTTP by standard, such as the identity service's JWKS; the REST API
of every service is the gateway's business, not this.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import uvicorn

from .client_address import ClientAddressMiddleware, TrustedProxies
from .config import ConfigError

log = logging.getLogger(__name__)


class HttpServer:
    def __init__(self, app: Any, addr: str, trusted_proxies: TrustedProxies = TrustedProxies()) -> None:
        host, _, port = addr.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"MOTCUA_HTTP_ADDR must be host:port, got {addr!r}")
        self.addr = addr
        # The caller's address by the kernel's rule (client_address.py), not by uvicorn's own.
        config = uvicorn.Config(ClientAddressMiddleware(app, trusted_proxies), host=host, port=int(port),
                                loop="asyncio", http="h11", lifespan="off", log_config=None, access_log=False,
                                server_header=False, proxy_headers=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="http", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"cannot serve HTTP on {self.addr}")
            time.sleep(0.01)
        log.info("HTTP listening", extra={"address": self.addr})

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
