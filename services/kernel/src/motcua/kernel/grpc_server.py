"""gRPC server bootstrap: health, reflection, interceptors, graceful shutdown."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import server_interceptor

from motcua.common.v1 import access_pb2

from .access import Policy, RoleRequired
from .auth import AuthError, KeysUnavailable, TokenVerifier
from .client_address import TrustedProxies, calling_from, grpc_client_address
from .config import ConfigError, Settings
from .context import ANONYMOUS, acting_as, current_actor
from .errors import DomainError
from .grpc_client import message_size_options
from .grpc_errors import abort_internal, abort_unauthenticated, abort_with
from .metrics import MetricsInterceptor
from .transient import is_transient
from .validation import validate_request

log = logging.getLogger(__name__)

# (add_XServicer_to_server, servicer instance, full service name, each method path's access policy)
Registration = tuple[Callable[[Any, grpc.Server], None], Any, str, dict[str, Policy]]


# The health service names the liveness and readiness probes ask: SERVING from start to
# shutdown, whatever the background workers do (the unnamed service "" and each service's name
# follow them, for monitoring and the gateway's /healthz). A restart cures neither a PostgreSQL
# nor a Kafka outage, and during a Kafka outage the outbox still accepts commands: a pod taken
# out of its Service for it would refuse them.
LIVENESS_SERVICE = "liveness"
READINESS_SERVICE = "readiness"


class AccessUndeclared(ValueError):
    """An RPC says nothing about who may call it: the service must not start."""


def access_policies(service: ServiceDescriptor) -> dict[str, Policy]:
    """Each RPC's policy (``/package.Service/Method`` -> Policy), from its
    ``(motcua.common.v1.access)`` option; AccessUndeclared when one has none."""
    policies, undeclared = {}, []
    for method in service.methods:
        options = method.GetOptions()
        if not options.HasExtension(access_pb2.access):
            undeclared.append(method.name)
            continue
        access = options.Extensions[access_pb2.access]
        try:
            policies[f"/{service.full_name}/{method.name}"] = Policy(
                roles=tuple(access.roles), public=access.public, authenticated=access.authenticated)
        except ValueError as e:
            raise AccessUndeclared(f"{method.full_name}: {e}") from None
    if undeclared:
        raise AccessUndeclared(f"{service.full_name} does not say who may call {', '.join(undeclared)}: "
                               "declare option (motcua.common.v1.access) on every RPC")
    return policies


def serve(service_module: ModuleType, grpc_module: ModuleType, servicer: Any = None) -> Registration:
    """Registers the one service a ``*_service.proto`` file defines.

    Without a servicer, the generated base class answers UNIMPLEMENTED to every RPC. Who may
    call each RPC comes from its access option; a service with an RPC without one is refused.
    """
    (name, descriptor), = service_module.DESCRIPTOR.services_by_name.items()
    if servicer is None:
        servicer = getattr(grpc_module, f"{name}Servicer")()
    policies = access_policies(descriptor)
    return getattr(grpc_module, f"add_{name}Servicer_to_server"), servicer, descriptor.full_name, policies


@contextlib.contextmanager
def _guarded(method: str, context: grpc.ServicerContext) -> Iterator[None]:
    """Turns what a handler raises into the status the caller gets."""
    try:
        yield
    except DomainError as e:
        log.info("rejected", extra={"method": method, "error": str(e), "error_type": type(e).__name__})
        abort_with(context, e)
    except NotImplementedError:
        # The generated base class answers for an RPC the service does not implement yet.
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet")
    except Exception as e:
        # ServicerContext.code() (grpc 1.38) is missing from the typing stubs.
        if context.code() is not None:  # type: ignore[attr-defined]  # the servicer ended the call itself
            raise
        if is_transient(e):
            # PostgreSQL (or another dependency) is down: nothing is wrong with the call, and
            # clients retry UNAVAILABLE by convention.
            log.warning("dependency unavailable", extra={"method": method, "error": f"{type(e).__name__}: {e}"})
            context.abort(grpc.StatusCode.UNAVAILABLE, "a service this call needs is unavailable; try again later")
        log.exception("failed", extra={"method": method})
        abort_internal(context)


@contextlib.contextmanager
def _authenticated(verifier: TokenVerifier, policy: Policy | None, context: grpc.ServicerContext) -> Iterator[None]:
    """Runs the handler as the caller the bearer token names (a public RPC without one:
    anonymous)."""
    # A header without the -bin suffix arrives as text.
    authorization = next(
        (v for k, v in context.invocation_metadata() if k == "authorization" and isinstance(v, str)), None
    )
    if policy is not None and not policy.needs_token() and authorization is None:
        with acting_as(ANONYMOUS):
            yield
        return
    try:
        actor = verifier.actor(authorization)
    except AuthError as e:
        abort_unauthenticated(context, e.reason, str(e))
    except KeysUnavailable as e:
        log.warning("cannot verify tokens", extra={"error": str(e)})
        context.abort(grpc.StatusCode.UNAVAILABLE, "tokens cannot be verified right now; try again later")
    with acting_as(actor):
        yield


def _addressed(trusted: TrustedProxies, context: grpc.ServicerContext) -> contextlib.AbstractContextManager[str]:
    """Runs the handler with the caller's address as current_client_address()."""
    return calling_from(grpc_client_address(context.peer(), context.invocation_metadata(), trusted))


def _authorized(policy: Policy | None, method: str) -> None:
    """RoleRequired (PERMISSION_DENIED) unless the caller's roles let them call the method
    (nobody may call a method without a policy)."""
    action = f"call {method.rsplit('/', 1)[-1]}"
    if policy is None:
        raise RoleRequired(action, ())
    policy.check(current_actor(), action)


class KernelInterceptor(grpc.ServerInterceptor):
    """Authenticates the caller, checks their roles against the RPC's access policy,
    validates the request and maps domain errors to statuses, in that order.

    Applies to unary-request methods of motcua's services; the health and
    reflection services pass through untouched. A motcua method without a policy (not
    registered through ``serve``) is refused to everyone.
    """

    def __init__(self, verifier: TokenVerifier, policies: dict[str, Policy],
                 trusted_proxies: TrustedProxies = TrustedProxies()) -> None:
        self.verifier = verifier
        self.policies = policies
        self.trusted_proxies = trusted_proxies

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        method = details.method
        if handler is None or not method.startswith("/motcua.") or handler.request_streaming:
            return handler
        verifier, policy, trusted = self.verifier, self.policies.get(method), self.trusted_proxies
        if handler.unary_unary:
            behavior = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                with _addressed(trusted, context), _authenticated(verifier, policy, context), \
                        _guarded(method, context):
                    _authorized(policy, method)
                    validate_request(request)
                    return behavior(request, context)

            return handler._replace(unary_unary=unary)

        stream_behavior = handler.unary_stream

        def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            with _addressed(trusted, context), _authenticated(verifier, policy, context), \
                    _guarded(method, context):
                _authorized(policy, method)
                validate_request(request)
                yield from stream_behavior(request, context)

        return handler._replace(unary_stream=stream)


class GrpcServer:
    def __init__(self, settings: Settings, registrations: list[Registration]) -> None:
        if settings.auth is None:
            raise ConfigError("MOTCUA_AUTH_JWKS_URL is not set: every service verifies the callers' tokens")
        self.settings = settings
        self.health = health.HealthServicer()
        policies = {path: policy for r in registrations for path, policy in r[3].items()}
        self.server = grpc.server(
            ThreadPoolExecutor(max_workers=settings.grpc_workers, thread_name_prefix="grpc"),
            # Metrics outermost: calls the kernel refuses (token, role, validation) count too.
            interceptors=[MetricsInterceptor(), server_interceptor(),
                          KernelInterceptor(TokenVerifier(settings.auth), policies, settings.trusted_proxies)],
            # A larger message is refused by gRPC itself with RESOURCE_EXHAUSTED, naming both sizes.
            options=[("grpc.so_reuseport", 0), *message_size_options(settings.max_message_bytes)],
        )
        names = [reflection.SERVICE_NAME, health.SERVICE_NAME]
        for add, servicer, name, _ in registrations:
            add(servicer, self.server)
            names.append(name)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(names, self.server)
        self.service_names = [n for n in names if n.startswith("motcua.")]
        self.port = self.server.add_insecure_port(settings.grpc_addr)
        if not self.port:
            raise OSError(f"cannot listen on {settings.grpc_addr}")

    def start(self) -> None:
        self.server.start()
        for name in (LIVENESS_SERVICE, READINESS_SERVICE):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.set_serving(True)
        log.info("gRPC listening", extra={"address": self.settings.grpc_addr, "services": self.service_names})

    def set_serving(self, serving: bool) -> None:
        """What the health checks of the whole server ("") and of each service answer; ignored
        once shutdown has begun. ``LIVENESS_SERVICE`` and ``READINESS_SERVICE`` stay SERVING while
        the process runs (see their definition)."""
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ["", *self.service_names]:
            self.health.set(name, status)

    def begin_stop(self) -> threading.Event:
        """Reports NOT_SERVING and refuses new calls at once; the event is set when in-flight
        calls have finished (or the grace period ran out)."""
        self.health.enter_graceful_shutdown()
        return self.server.stop(self.settings.shutdown_grace)

    def stop(self) -> None:
        self.begin_stop().wait()
