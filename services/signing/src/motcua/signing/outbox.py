"""Which domain events other services see, as integration events (protos/.../events.proto).

A signature request's life: asked, then signed, refused, cancelled or expired. The events name
the document (its title, its SHA-256) and the accounts concerned, never its contents nor what
the officer's device signs: the officer reads those through GetSignatureRequest.
"""

from __future__ import annotations

from functools import singledispatch

from google.protobuf.message import Message

from motcua.kernel.timestamps import timestamp
from motcua.signing.v1 import events_pb2, signature_request_pb2 as rpb

from .domain import SignatureRequest


@singledispatch
def integration_event(event: object) -> Message | None:
    return None  # internal to this service (key declarations, signed documents, checkpoints)


@integration_event.register
def _(event: SignatureRequest.Requested) -> Message:  # type: ignore[name-defined]
    return events_pb2.SignatureRequested(
        signature_request_id=str(event.originator_id), document_sha256=event.document_sha256,
        method=rpb.SIGNATURE_METHOD_REMOTE, signer_account_id=event.signer_account_id, agency_id=event.agency_id,
        dossier_id=event.dossier_id, version=event.originator_version, document_name=event.document_name,
        expire_time=timestamp(event.expires_at), reason=event.reason, requester_account_id=event.requested_by)


def _addressing(event: object) -> dict[str, str]:
    """Whom an answer concerns, as its event repeats it (empty in events recorded before)."""
    return {"signer_account_id": getattr(event, "signer_account_id", ""),
            "requester_account_id": getattr(event, "requested_by", ""),
            "document_name": getattr(event, "document_name", "")}


@integration_event.register
def _(event: SignatureRequest.Confirmed) -> Message:  # type: ignore[name-defined]
    return events_pb2.DocumentSigned(
        signature_request_id=str(event.originator_id), dossier_id=getattr(event, "dossier_id", ""),
        signed_document_sha256=event.signed_document_sha256, certificate_serial=event.certificate_serial,
        version=event.originator_version, **_addressing(event))


@integration_event.register
def _(event: SignatureRequest.Refused) -> Message:  # type: ignore[name-defined]
    return events_pb2.SignatureRequestFailed(
        signature_request_id=str(event.originator_id), dossier_id=getattr(event, "dossier_id", ""),
        failure_reason=event.reason, version=event.originator_version,
        failure=events_pb2.SIGNATURE_REQUEST_FAILURE_REFUSED,
        **_addressing(event))


@integration_event.register
def _(event: SignatureRequest.Expired) -> Message:  # type: ignore[name-defined]
    return events_pb2.SignatureRequestFailed(
        signature_request_id=str(event.originator_id), dossier_id=getattr(event, "dossier_id", ""),
        failure_reason="Hết thời hạn chờ người ký xác nhận", version=event.originator_version,
        failure=events_pb2.SIGNATURE_REQUEST_FAILURE_EXPIRED,
        **_addressing(event))


@integration_event.register
def _(event: SignatureRequest.Cancelled) -> Message:  # type: ignore[name-defined]
    return events_pb2.SignatureRequestCancelled(
        signature_request_id=str(event.originator_id), dossier_id=getattr(event, "dossier_id", ""),
        reason=event.reason, version=event.originator_version,
        **_addressing(event))
