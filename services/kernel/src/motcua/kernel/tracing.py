"""OpenTelemetry wiring: one tracer provider per process, W3C trace context.

Spans reach a collector over OTLP/gRPC when ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set. Without an exporter no
spans are recorded (they cost ~20% of a request's CPU for nothing), but an
incoming trace context still flows on: into logs, stored events and Kafka
headers. Sampling follows the standard ``OTEL_TRACES_SAMPLER`` variables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from opentelemetry import propagate, trace
from opentelemetry.context import Context

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

_provider: TracerProvider | None = None


def configure_tracing(service: str) -> TracerProvider | None:
    global _provider
    if _provider is not None:
        return _provider
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    # The SDK only in a process that exports spans: without an exporter, the API's no-op tracer
    # is all a process needs.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service)}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    if _provider is not None:
        _provider.shutdown()


_tracer: trace.Tracer | None = None


def tracer() -> trace.Tracer:
    # Got once: get_tracer makes a new tracer each call (a twentieth of a consumed event's CPU,
    # a span per event). Before the provider is set it is the API's proxy, which follows the
    # provider once one is set.
    global _tracer
    if _tracer is None:
        _tracer = trace.get_tracer("motcua.kernel")
    return _tracer


def records_spans() -> bool:
    """Whether this process records spans (a tracer provider is set). Without one, a span of
    the current trace (no context or links of its own) changes nothing: its non-recording stand-in
    carries its parent's ids, which is what the code inside it sees anyway."""
    return not isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span (None outside a trace), as the tracecontext
    propagator writes it: formatted here, since running every propagator into a carrier for
    every event stored cost several percent of a command."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def context_from_traceparent(traceparent: str | None) -> Context | None:
    if not traceparent:
        return None
    return propagate.extract({"traceparent": traceparent})


def inject_kafka_headers(headers: list[tuple[str, bytes]], context: Context | None = None) -> None:
    """Adds the trace context (``context``, else the current one) as Kafka headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    headers.extend((k, v.encode()) for k, v in carrier.items())


def context_from_kafka_headers(headers: Iterable[tuple[str, bytes]] | None) -> Context:
    carrier = {k: v.decode("utf-8", "replace") for k, v in headers or () if v is not None}
    return propagate.extract(carrier)
