"""The HTTP gateway: a Starlette app served by uvicorn in front of the gRPC services.

- every RPC with a google.api.http rule as REST/JSON (transcode.py), routes built at startup
  from the protos' descriptors (descriptors.py), no route written by hand;
- /openapi.json generated from the same descriptors (openapi.py), Swagger UI at /docs (docs.py);
- /livez (the process) and /healthz (the gateway's readiness, with every backend's grpc.health.v1
  for information: one backend down makes only its own routes answer 503);
- the identity service's OIDC endpoints and login page, proxied (identity_proxy.py);
- CORS for the browser origins of MOTCUA_CORS_ALLOWED_ORIGINS, on all of it (cors.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from motcua.kernel.client_address import ClientAddressMiddleware
from motcua.kernel.config import ConfigError
from motcua.kernel.localized import choose_locale
from motcua.kernel.logs import configure_logging
from motcua.kernel.metrics import HTTP_DURATION, configure_metrics
from motcua.kernel.tracing import configure_tracing, shutdown_tracing

from .backends import SERVING, Backends
from .callbacks_proxy import CallbacksProxy
from .config import SERVICE, GatewaySettings
from .cors import Cors
from .descriptors import ROUTED_BY_FIELD, Api, DescriptorError, load_api
from .docs import docs_routes, openapi_route
from .errors import REQUEST_LOCALE, error_response, retry_after, unavailable_body
from .guard import TokenGate
from .identity_proxy import IdentityProxy
from .openapi import build_openapi
from .transcode import ROUTE_KEY, build_routes

log = logging.getLogger(__name__)

PROBES = ("/livez", "/healthz")
NO_STORE = {"Cache-Control": "no-store"}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = f"no route for {request.method} {request.url.path}" if exc.status_code == 404 else exc.detail
    return error_response(exc.status_code, message, headers=dict(exc.headers or {}))


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(500, "internal error")


async def livez(request: Request) -> JSONResponse:
    return JSONResponse({"status": "SERVING"}, headers=NO_STORE)


async def healthz(request: Request) -> JSONResponse:
    """Readiness: the gateway serves unless it is shutting down. A backend that is down does not
    make it unready: that would take the whole API and the login page (identity's) out with
    one service, while the other backends' routes still work and the down one's answer 503
    naming it. Every backend's health is in the body, for people and monitoring."""
    backends: Backends = request.app.state.backends
    states = await backends.check_all()
    ready = not request.app.state.draining.is_set()
    degraded = sorted(name for name, state in states.items() if state != SERVING)
    return JSONResponse(
        {"status": SERVING if ready else "NOT_SERVING", "backends": states, "backends_not_serving": degraded},
        status_code=200 if ready else 503,
        headers=NO_STORE,
    )


# Routes named by their own path in the metrics; any other path that matched no RPC route is
# named by its prefix or "unmatched": a label per path as sent would grow without bound.
FIXED_ROUTES = frozenset({*PROBES, "/openapi.json", "/docs", "/docs/", "/docs/init.js"})
ROUTE_PREFIXES = ("/oauth2/", "/.well-known/", "/docs/assets/", "/v1/notifications/callbacks/")


def route_label(scope: Scope) -> str:
    template = scope.get(ROUTE_KEY)
    if template:
        return str(template)
    path = scope["path"]
    if path in FIXED_ROUTES:
        return path
    return next((prefix + "*" for prefix in ROUTE_PREFIXES if path.startswith(prefix)), "unmatched")


class HttpMiddleware:
    """An ASGI middleware of HTTP requests (``handle``); the lifespan's messages pass through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class ResponseStart:
    """An ASGI send that notes the response's status once its start is sent (None before)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


class AccessLog(HttpMiddleware):
    """One structured log line per request, the probes' at DEBUG, as they come every few seconds;
    and the request in the HTTP metrics (kernel metrics.HTTP_DURATION), by route template."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        language = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
        REQUEST_LOCALE.set(choose_locale(language))
        answer = ResponseStart(send)
        try:
            await self.app(scope, receive, answer)
        finally:
            elapsed = time.perf_counter() - started
            status = answer.status or 500  # none sent: the request failed before answering
            HTTP_DURATION.record(elapsed, {"http.route": route_label(scope), "http.request.method": scope["method"],
                                           "http.response.status_code": status})
            probe = scope["path"] in PROBES and status in (200, 503)
            level = logging.DEBUG if probe else logging.INFO
            log.log(level, "request", extra={
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(elapsed * 1000, 1),
            })


class CutOffAtShutdown(HttpMiddleware):
    """A request still running when the shutdown grace (MOTCUA_SHUTDOWN_GRACE) runs out is
    cancelled by uvicorn; the cancellation is not an Exception, so it passes Starlette's error
    handlers, and uvicorn would answer it a plain-text "500 Internal Server Error". A request cut
    off by the gateway's own stop is no fault of the client's and worth retrying (on another
    replica): it is answered 503 UNAVAILABLE with the usual JSON body and a Retry-After.

    Inside AccessLog and Cors, so that the answer is logged, counted and carries CORS headers."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = ResponseStart(send)
        try:
            await self.app(scope, receive, answer)
        except asyncio.CancelledError:
            if answer.status is not None:  # too late for a status: the connection is closed mid-answer
                raise
            draining = scope["app"].state.draining.is_set()
            log.warning("request cut off; answered 503", extra={
                "method": scope["method"], "path": scope["path"], "gateway_stopping": draining})
            message = "the gateway is shutting down; try again" if draining else \
                "the request was cut off before it was answered; try again"
            body = unavailable_body(message, retry_seconds=1)
            response = JSONResponse(body, status_code=503, headers={**retry_after(body), "Connection": "close"})
            # The task's cancellation is answered: the request ends here, as uvicorn wants it to.
            await response(scope, receive, send)


def create_app(settings: GatewaySettings, api: Api | None = None) -> Starlette:
    """The app; api: the descriptors to serve (default: load_api, see descriptors.py)."""
    if api is None:
        api = load_api(settings.descriptor_set, required=settings.descriptor_set is not None)
    document = build_openapi(api)
    rpc_routes = build_routes(api, settings.rpc_timeout, settings.max_message_bytes, TokenGate(settings.auth))
    unserved = sorted({m.backend for m in api.methods if m.service.file.package not in ROUTED_BY_FIELD}
                      - set(settings.backends))
    log.info("REST routes", extra={"routes": len(rpc_routes), "rpcs": len(api.methods),
                                   "comments_from": api.comments_source, "no_backend_for": unserved})

    identity = IdentityProxy(settings.identity_url, settings.rpc_timeout, settings.max_message_bytes) \
        if settings.identity_url else None
    callbacks = CallbacksProxy(settings.notifications_callbacks_url, settings.rpc_timeout,
                               settings.max_message_bytes) if settings.notifications_callbacks_url else None
    proxies = [proxy for proxy in (identity, callbacks) if proxy is not None]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        backends = Backends(settings.backends, settings.health_timeout, settings.max_message_bytes)
        await backends.open()
        app.state.backends = backends
        for proxy in proxies:
            await proxy.open()
        try:
            yield
        finally:  # after uvicorn has let in-flight requests finish
            for proxy in proxies:
                await proxy.close()
            await backends.close(grace=1.0)
            log.info("backend channels closed")

    routes: list[BaseRoute] = [
        Route("/livez", livez, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        openapi_route(document),
        *docs_routes(settings.docs_dir, document["info"]["title"], settings.docs_oidc_client_id),
        # Before the RPCs' routes, whose /v1/notifications/{…} templates must not take a receipt.
        *(callbacks.routes() if callbacks is not None else []),
        *rpc_routes,
        *(identity.routes() if identity is not None else []),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLog),
            # Outside the routes: preflights are answered for every path (the OIDC proxy's too),
            # and every answer, errors included, carries the CORS headers an allowed page needs.
            Middleware(Cors, settings.cors_allowed_origins, settings.cors_max_age),
            Middleware(ClientAddressMiddleware, settings.trusted_proxies),
            Middleware(CutOffAtShutdown),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.draining = asyncio.Event()  # set when shutdown starts: streams end (transcode.py)
    return app


class _DropColorMessage(logging.Filter):
    """uvicorn adds an ANSI-coloured copy of some messages as an extra field: not for JSON logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, draining: asyncio.Event) -> None:
        super().__init__(config)
        self.draining = draining

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Open streams end now (with a last "reconnect" error), rather than hold the shutdown
        # until MOTCUA_SHUTDOWN_GRACE and be cut off.
        self.draining.set()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT start the graceful shutdown, as in uvicorn, but are not re-raised once
        it is done (uvicorn's would then kill the process by the signal): a clean stop exits 0."""
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)
        for sig in signals:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)


def main() -> None:
    configure_logging(SERVICE)
    try:
        settings = GatewaySettings.from_env()
    except ConfigError as e:
        log.error("bad configuration", extra={"error": str(e)})
        sys.exit(2)
    logging.getLogger().setLevel(settings.log_level)
    logging.getLogger("uvicorn.error").addFilter(_DropColorMessage())
    configure_tracing(SERVICE)
    configure_metrics(SERVICE, settings.metrics_addr)
    try:
        app = create_app(settings)
    except DescriptorError as e:
        log.error("cannot serve the protos' descriptors", extra={"error": str(e)})
        sys.exit(2)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        loop="asyncio",  # grpc.aio's channels live in this loop
        http="h11",
        lifespan="on",  # a failing startup stops the process instead of serving without backends
        log_config=None,  # keep the kernel's JSON handler on the root logger
        access_log=False,  # AccessLog logs requests with fields instead
        server_header=False,
        proxy_headers=False,  # the caller's address is the kernel's rule (ClientAddressMiddleware), not uvicorn's
        timeout_graceful_shutdown=settings.shutdown_grace,  # type: ignore[arg-type]  # a float works
    )
    server = _Server(config, app.state.draining)
    log.info("gateway starting", extra={"address": settings.http_addr, "backends": settings.backends})
    try:
        server.run()
    finally:
        shutdown_tracing()
    if not server.started:  # e.g. the port was taken
        sys.exit(1)
    log.info("stopped")
