"""Which domain events other services see, as integration events (protos/.../events.proto)."""

from __future__ import annotations

from functools import singledispatch

from google.protobuf.message import Message

from motcua.procedures.v1 import events_pb2

from .domain import Procedure


@singledispatch
def integration_event(event: object) -> Message | None:
    return None  # internal to this service


@integration_event.register
def _(event: Procedure.Published) -> Message:
    return events_pb2.ProcedurePublished(
        procedure_id=str(event.originator_id),
        code=event.code,
        name=event.name,
        agency_id=event.agency_id,
        processing_days=event.processing_days,
        version=event.originator_version,
    )
