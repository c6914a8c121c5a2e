"""Results are signed by the signing service: a gRPC call on the kernel's traced channel,
carrying the caller's bearer token, so the signature is made (and recorded) in their name.

The key is never the caller's choice: the result is sealed for the dossier-result purpose
on behalf of the agency handling the dossier, naming the dossier, and the signing service
checks that the caller is of that agency (dossiers checked it too, before asking)."""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from motcua.kernel import grpc_client
from motcua.kernel.errors import DomainError, InvalidArgument, PermissionDenied
from motcua.signing.v1 import signing_service_pb2 as spb, signing_service_pb2_grpc

TIMEOUT = 30.0
ACTION = "sign the result"


class SigningUnavailable(DomainError):
    """The result could not be signed (FAILED_PRECONDITION): no signing service, or it refused."""


class ResultSigner:
    def __init__(self, target: str) -> None:
        self.target = target
        self._stub = signing_service_pb2_grpc.SigningServiceStub(grpc_client.channel(target)) if target else None

    def sign(self, pdf: bytes, reason: str, location: str, agency_id: str, dossier_id: str, dossier_code: str,
             authorization: str) -> dict[str, Any]:
        """The signed document's facts for the dossier (the signed PDF stays with the signing
        service): sealed with ``agency_id``'s key for dossier results."""
        if self._stub is None:
            raise SigningUnavailable("no signing service is configured (MOTCUA_SIGNING_ADDR)")
        request = spb.SignDocumentRequest(
            document=pdf, reason=reason[:500], location=location[:200], purpose=spb.SIGNING_PURPOSE_DOSSIER_RESULT,
            agency_id=agency_id, dossier_id=dossier_id, dossier_code=dossier_code[:64])
        try:
            signed = self._stub.SignDocument(request, metadata=(("authorization", authorization),), timeout=TIMEOUT)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:  # what the caller sent is not a signable PDF
                raise InvalidArgument.field("result_document", f"cannot be signed: {e.details()}") from None
            if e.code() == grpc.StatusCode.PERMISSION_DENIED:
                raise PermissionDenied(ACTION, f"the signing service refused: {e.details()}",
                                       error_reason=_reason(e) or "PERMISSION_DENIED") from None
            raise SigningUnavailable(
                f"the signing service did not sign the result: {e.code().name} {e.details()}"
            ) from None
        if signed.agency_id != agency_id:  # never record another agency's seal as this dossier's result
            raise SigningUnavailable(f"the signing service sealed with a key of {signed.agency_id or 'a person'}, "
                                     f"not of agency {agency_id}")
        return {
            "document_id": signed.document_id,
            "document_sha256": signed.document_sha256,
            "signed_document_sha256": signed.signed_document_sha256,
            "key_id": signed.key_id,
            "certificate_sha256": signed.certificate_sha256,
            "signed_at": signed.sign_time.ToDatetime().isoformat() + "Z",
            "agency_id": signed.agency_id,
        }


def _reason(error: grpc.RpcError) -> str:
    """The ErrorInfo reason of a refusal (KEY_NOT_OWNED, AGENCY_SCOPE, ...), passed on to the
    caller."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""
