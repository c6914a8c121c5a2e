"""The traceparent stored with every event: what the W3C tracecontext propagator writes for the
current span, and nothing outside a trace."""

from __future__ import annotations

import random

from opentelemetry import propagate, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from motcua.kernel.tracing import current_traceparent


def test_the_traceparent_is_the_propagators_own():
    assert current_traceparent() is None
    for flags in (TraceFlags.DEFAULT, TraceFlags.SAMPLED):
        for _ in range(50):
            span = SpanContext(trace_id=random.getrandbits(128) or 1, span_id=random.getrandbits(64) or 1,
                               is_remote=True, trace_flags=TraceFlags(flags))
            with trace.use_span(NonRecordingSpan(span)):
                carrier: dict[str, str] = {}
                propagate.inject(carrier)
                assert current_traceparent() == carrier["traceparent"]
