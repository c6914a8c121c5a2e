"""Metrics: OpenTelemetry instruments, exported for Prometheus on each process's metrics port.

One MeterProvider per process, its reader the OpenTelemetry Prometheus exporter, served over
HTTP by prometheus_client on ``MOTCUA_METRICS_ADDR`` (host:port; the chart's `metrics` port,
9464, when ``metrics.enabled``). Unset: nothing listens and the instruments cost nothing (the
API's no-op meter).

Every instrument of the platform is declared here, so that names, units and labels stay one
vocabulary across the services and the dashboard (charts/motcua/dashboards/). Labels name
methods, routes, topics, channels, states and outcomes, never a person, an id or a path as sent:
what the services handle is personal data, and a label per id would also grow without bound.

Prometheus names (the exporter adds the unit and `_total`):
  rpc_server_duration_seconds{rpc_service, rpc_method, rpc_grpc_status_code}: gRPC calls served
  http_server_request_duration_seconds{http_route, http_request_method,
                                       http_response_status_code}: the gateway's requests
  motcua_relay_published_total{topic}, motcua_relay_publish_duration_seconds{topic},
  motcua_relay_backlog{topic}, motcua_relay_dead_lettered_total{messaging_destination_name}
  motcua_consumer_lag{group, topic}, motcua_consumer_applied_total{group, topic},
  motcua_consumer_dead_lettered_total{group, topic}
  motcua_deadline_sweeps_total{outcome}, motcua_deadline_flagged_total
  motcua_notifications_total{channel, state}
  motcua_logins_total{outcome}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from opentelemetry import metrics

from .config import metrics_addr_from_env

log = logging.getLogger(__name__)

METRICS_ADDR_ENV = "MOTCUA_METRICS_ADDR"

# Buckets in seconds for calls that take milliseconds to seconds (the SDK's default ones are in
# milliseconds: 0 to 10000).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_configured = False


def _meter() -> metrics.Meter:
    return metrics.get_meter("motcua")


# The instruments. Created on the API's proxy meter: they record nowhere until configure_metrics
# has set the provider, and into it from then on.
_m = _meter()
RPC_DURATION = _m.create_histogram(
    "rpc.server.duration", unit="s", description="gRPC calls served, by method and status code",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS)
HTTP_DURATION = _m.create_histogram(
    "http.server.request.duration", unit="s", description="HTTP requests served, by route template and status",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS)
RELAY_PUBLISHED = _m.create_counter(
    "motcua.relay.published", unit="{event}", description="Integration events the outbox relay published")
RELAY_PUBLISH_DURATION = _m.create_histogram(
    "motcua.relay.publish.duration", unit="s", description="Time to publish one batch until Kafka acknowledged it",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS)
RELAY_BACKLOG = _m.create_gauge(
    "motcua.relay.backlog", unit="{event}", description="Stored events not yet relayed (as the leading relay last saw)")
CONSUMER_LAG = _m.create_gauge(
    "motcua.consumer.lag", unit="{message}", description="Messages on a topic the consumer group has not yet read")
CONSUMER_APPLIED = _m.create_counter(
    "motcua.consumer.applied", unit="{message}", description="Integration events applied by a consumer")
CONSUMER_DEAD_LETTERED = _m.create_counter(
    "motcua.consumer.dead_lettered", unit="{message}", description="Messages a consumer sent to its dead-letter topic")
DEADLINE_SWEEPS = _m.create_counter(
    "motcua.deadline.sweeps", unit="{sweep}", description="Sweeps of the deadline watch, by outcome (ok, failed)")
DEADLINE_FLAGGED = _m.create_counter(
    "motcua.deadline.flagged", unit="{dossier}", description="Dossiers the deadline watch flagged as due or overdue")
NOTIFICATIONS = _m.create_counter(
    "motcua.notifications", unit="{notification}", description="Notifications by channel and the state they reached")
LOGINS = _m.create_counter(
    "motcua.logins", unit="{login}", description="Logins at the OIDC provider, by outcome (ok or the refusal's reason)")


def parse_addr(raw: str) -> tuple[str, int] | None:
    raw = metrics_addr_from_env({METRICS_ADDR_ENV: raw})
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    return host.strip("[]"), int(port)


def configure_metrics(service: str, addr: str) -> bool:
    """Sets the process's MeterProvider and serves /metrics on addr (host:port); "" does nothing.
    Returns whether metrics are served. Call once, early (before the services' threads start)."""
    global _configured
    where = parse_addr(addr)
    if where is None or _configured:
        return _configured
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from prometheus_client import start_http_server

    host, port = where
    reader = PrometheusMetricReader()
    provider = MeterProvider(resource=Resource.create({SERVICE_NAME: service}), metric_readers=[reader])
    metrics.set_meter_provider(provider)
    start_http_server(port, addr=host)
    _configured = True
    log.info("metrics listening", extra={"address": f"{host}:{port}", "path": "/metrics"})
    return True


# ---------------------------------------------------------- gRPC server: rate, errors, latency


def _code_of(context: grpc.ServicerContext, failed: BaseException | None) -> str:
    # What the handler (or an interceptor) set, by abort or set_code (grpcio >= 1.38; not in the
    # type stubs).
    code = context.code()  # type: ignore[attr-defined]
    if code is None:
        if isinstance(failed, GeneratorExit):  # a stream the client (or the server's stop) ended
            return "CANCELLED"
        return "UNKNOWN" if failed is not None else "OK"
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


class MetricsInterceptor(grpc.ServerInterceptor):
    """Times every call, unary and streaming, and counts it by method and status code; outermost,
    so that calls refused by authentication, authorization or validation count too."""

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        service, _, method = handler_call_details.method.lstrip("/").rpartition("/")
        labels = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}

        def record(started: float, context: grpc.ServicerContext, failed: BaseException | None) -> None:
            RPC_DURATION.record(time.perf_counter() - started,
                                {**labels, "rpc.grpc.status_code": _code_of(context, failed)})

        if handler.unary_unary is not None:
            behavior = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                started, failed = time.perf_counter(), None
                try:
                    return behavior(request, context)
                except BaseException as e:
                    failed = e
                    raise
                finally:
                    record(started, context, failed)

            return handler._replace(unary_unary=unary)
        if handler.unary_stream is not None:
            stream_behavior = handler.unary_stream

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                started, failed = time.perf_counter(), None
                try:
                    yield from stream_behavior(request, context)
                except BaseException as e:
                    failed = e
                    raise
                finally:
                    record(started, context, failed)

            return handler._replace(unary_stream=stream)
        return handler
