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
             authorization: str, signature_request_id: str = "") -> dict[str, Any]:
        """The signed document's facts for the dossier (the signed PDF stays with the signing
        service): sealed with ``agency_id``'s key for dossier results; with
        ``signature_request_id``, on the document the officer signed through it."""
        request = spb.SignDocumentRequest(
            document=pdf, reason=reason[:500], location=location[:200], purpose=spb.SIGNING_PURPOSE_DOSSIER_RESULT,
            agency_id=agency_id, dossier_id=dossier_id, dossier_code=dossier_code[:64],
            signature_request_id=signature_request_id)
        signed = self._seal(request, authorization, "result_document", ACTION)
        return {
            "document_id": signed.document_id,
            "document_sha256": signed.document_sha256,
            "signed_document_sha256": signed.signed_document_sha256,
            "key_id": signed.key_id,
            "certificate_sha256": signed.certificate_sha256,
            "signed_at": signed.sign_time.ToDatetime().isoformat() + "Z",
            "agency_id": signed.agency_id,
        }


    def seal_form(self, pdf: bytes, reason: str, agency_id: str, authorization: str, dossier_id: str = "",
                  dossier_code: str = "", reference: str = "") -> bytes:
        """A rendered form (of dossier ``dossier_id``, or the book named by ``reference``)
        sealed with ``agency_id``'s key for dossier forms."""
        request = spb.SignDocumentRequest(
            document=pdf, reason=reason[:500], purpose=spb.SIGNING_PURPOSE_DOSSIER_FORM, agency_id=agency_id,
            dossier_id=dossier_id, dossier_code=dossier_code[:64], document_reference=reference[:200])
        return self._seal(request, authorization, "seal", "seal the form").signed_document

    def _seal(self, request: spb.SignDocumentRequest, authorization: str, field: str,
              action: str) -> spb.SignDocumentResponse:
        if self._stub is None:
            raise SigningUnavailable("no signing service is configured (MOTCUA_SIGNING_ADDR)")
        try:
            signed = self._stub.SignDocument(request, metadata=(("authorization", authorization),), timeout=TIMEOUT)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:  # what the caller sent is not a signable PDF
                raise InvalidArgument.field(field, f"cannot be signed: {e.details()}") from None
            if e.code() == grpc.StatusCode.PERMISSION_DENIED:
                raise PermissionDenied(action, f"the signing service refused: {e.details()}",
                                       error_reason=_reason(e) or "PERMISSION_DENIED") from None
            raise SigningUnavailable(
                f"the signing service did not sign: {e.code().name} {e.details()}"
            ) from None
        if signed.agency_id != request.agency_id:  # never hand out another agency's seal as this one's
            raise SigningUnavailable(f"the signing service sealed with a key of {signed.agency_id or 'a person'}, "
                                     f"not of agency {request.agency_id}")
        return signed


def _reason(error: grpc.RpcError) -> str:
    """The ErrorInfo reason of a refusal (KEY_NOT_OWNED, AGENCY_SCOPE, ...), passed on to the
    caller."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""
