"""gRPC server bootstrap: health, reflection, interceptors, graceful shutdown."""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, Callable, Iterator

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import server_interceptor

from .config import Settings
from .errors import DomainError
from .grpc_errors import abort_internal, abort_with
from .validation import validate_request

log = logging.getLogger(__name__)

# (add_XServicer_to_server, servicer instance, full service name)
Registration = tuple[Callable[[Any, grpc.Server], None], Any, str]


def serve(service_module: ModuleType, grpc_module: ModuleType, servicer: Any = None) -> Registration:
    """Registers the one service a ``*_service.proto`` file defines.

    Without a servicer, the generated base class answers UNIMPLEMENTED to every RPC.
    """
    (name, descriptor), = service_module.DESCRIPTOR.services_by_name.items()
    if servicer is None:
        servicer = getattr(grpc_module, f"{name}Servicer")()
    return getattr(grpc_module, f"add_{name}Servicer_to_server"), servicer, descriptor.full_name


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
    except Exception:
        if context.code() is not None:  # the servicer ended the call itself
            raise
        log.exception("failed", extra={"method": method})
        abort_internal(context)


class KernelInterceptor(grpc.ServerInterceptor):
    """Validates requests and maps domain errors to statuses.

    Applies to unary-request methods of motcua's services; the health and
    reflection services pass through untouched.
    """

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        method = details.method
        if handler is None or not method.startswith("/motcua.") or handler.request_streaming:
            return handler
        if handler.unary_unary:
            behavior = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                with _guarded(method, context):
                    validate_request(request)
                    return behavior(request, context)

            return handler._replace(unary_unary=unary)

        stream_behavior = handler.unary_stream

        def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            with _guarded(method, context):
                validate_request(request)
                yield from stream_behavior(request, context)

        return handler._replace(unary_stream=stream)


class GrpcServer:
    def __init__(self, settings: Settings, registrations: list[Registration]) -> None:
        self.settings = settings
        self.health = health.HealthServicer()
        self.server = grpc.server(
            ThreadPoolExecutor(max_workers=settings.grpc_workers, thread_name_prefix="grpc"),
            interceptors=[server_interceptor(), KernelInterceptor()],
            options=[("grpc.so_reuseport", 0)],
        )
        names = [reflection.SERVICE_NAME, health.SERVICE_NAME]
        for add, servicer, name in registrations:
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
        for name in ["", *self.service_names]:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("gRPC listening", extra={"address": self.settings.grpc_addr, "services": self.service_names})

    def begin_stop(self) -> threading.Event:
        """Reports NOT_SERVING and refuses new calls at once; the event is set when in-flight
        calls have finished (or the grace period ran out)."""
        self.health.enter_graceful_shutdown()
        return self.server.stop(self.settings.shutdown_grace)

    def stop(self) -> None:
        self.begin_stop().wait()
