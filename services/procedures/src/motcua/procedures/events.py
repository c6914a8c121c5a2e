"""Which domain events other services see, as integration events (protos/.../events.proto)."""

from __future__ import annotations

from functools import singledispatch

from google.protobuf.message import Message

from motcua.procedures.v1 import events_pb2

from . import protos
from .content import ProcedureContent
from .domain import PUBLISHED, Procedure


@singledispatch
def integration_event(event: object) -> Message | None:
    return None  # internal to this service


@integration_event.register
def _(event: Procedure.Published) -> Message:
    content = ProcedureContent.from_dict(event.content)
    return events_pb2.ProcedurePublished(
        procedure_id=str(event.originator_id),
        code=event.code,
        name=content.name,
        agency_id=content.agency_id,
        processing_days=content.processing_time.days,
        version=event.originator_version,
        version_number=event.number,
        effective_from=protos.timestamp(event.timestamp),
        superseded_version_number=event.superseded,
        procedure=protos.procedure(
            event.originator_id, event.code, event.number, content, PUBLISHED, event.originator_version, event.timestamp
        ),
    )


@integration_event.register
def _(event: Procedure.Withdrawn) -> Message:
    return events_pb2.ProcedureWithdrawn(
        procedure_id=str(event.originator_id),
        code=event.code,
        version_number=event.number,
        effective_until=protos.timestamp(event.timestamp),
        version=event.originator_version,
    )
