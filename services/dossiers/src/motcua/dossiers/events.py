"""Which domain events other services see, as integration events (protos/.../events.proto).

They carry no personal data of the applicant (events.proto): ids, codes and dates only.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from motcua.dossiers.v1 import events_pb2

from . import enums
from .domain import Dossier


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@singledispatch
def integration_event(event: object) -> Message | None:
    return None  # internal to this service (procedure replicas, code sequences)


@integration_event.register
def _(event: Dossier.Submitted) -> Message:
    return events_pb2.DossierSubmitted(
        dossier_id=str(event.originator_id),
        procedure_id=str(event.procedure_id),
        procedure_version=event.procedure_version,
        agency_id=event.agency_id,
        applicant_kind=enums.APPLICANT_KINDS[event.applicant["kind"]],
        applicant_account_id=event.applicant.get("account_id", ""),
        channel=enums.CHANNELS[event.channel],
        version=event.originator_version,
        code=event.code,
        submit_time=_timestamp(event.submitted_at),
    )


@integration_event.register
def _(event: Dossier.Received) -> Message:
    return events_pb2.DossierReceived(
        dossier_id=str(event.originator_id),
        code=event.code,
        procedure_id=str(event.procedure_id),
        procedure_version=event.procedure_version,
        agency_id=event.agency_id,
        applicant_account_id=event.applicant_account_id,
        receive_time=_timestamp(event.received_at),
        appointed_return_time=_timestamp(event.appointed_return_at),
        version=event.originator_version,
    )
