"""Results are signed by the signing service: a gRPC call on the kernel's traced channel,
carrying the caller's bearer token, so the signature is made (and recorded) in their name."""

from __future__ import annotations

from typing import Any

import grpc

from motcua.kernel import grpc_client
from motcua.kernel.errors import DomainError
from motcua.signing.v1 import signing_service_pb2 as spb, signing_service_pb2_grpc

TIMEOUT = 30.0


class SigningUnavailable(DomainError):
    """The result could not be signed (FAILED_PRECONDITION): no signing service, or it refused."""


class ResultSigner:
    def __init__(self, target: str) -> None:
        self.target = target
        self._stub = signing_service_pb2_grpc.SigningServiceStub(grpc_client.channel(target)) if target else None

    def sign(self, pdf: bytes, reason: str, location: str, key_id: str, authorization: str) -> dict[str, Any]:
        """The signed document's facts for the dossier (the signed PDF stays with the signing service)."""
        if self._stub is None:
            raise SigningUnavailable("no signing service is configured (MOTCUA_SIGNING_ADDR)")
        request = spb.SignDocumentRequest(document=pdf, reason=reason[:500], location=location[:200], key_id=key_id)
        try:
            signed = self._stub.SignDocument(request, metadata=(("authorization", authorization),), timeout=TIMEOUT)
        except grpc.RpcError as e:
            raise SigningUnavailable(f"the signing service did not sign the result: {e.code().name} {e.details()}") from None
        return {
            "document_id": signed.document_id, "document_sha256": signed.document_sha256,
            "signed_document_sha256": signed.signed_document_sha256, "key_id": signed.key_id,
            "certificate_sha256": signed.certificate_sha256, "signed_at": signed.sign_time.ToDatetime().isoformat() + "Z",
        }
