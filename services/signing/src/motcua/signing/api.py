"""gRPC servicer: translates between protos and the application, nothing more.

The remote-signing RPCs (signature requests) are not implemented yet and answer
UNIMPLEMENTED, as the generated base class does.
"""

from __future__ import annotations

import grpc

from motcua.signing.v1 import signing_service_pb2 as pb, signing_service_pb2_grpc

from .application import SigningApplication
from .convert import PURPOSES, report_to_proto, signed_to_proto
from .domain import DocumentSubject
from .pades import TimestampUnavailable


class SigningServicer(signing_service_pb2_grpc.SigningServiceServicer):
    def __init__(self, app: SigningApplication) -> None:
        self.app = app

    def SignDocument(self, request: pb.SignDocumentRequest, context) -> pb.SignDocumentResponse:
        try:
            subject = DocumentSubject(dossier_id=request.dossier_id, dossier_code=request.dossier_code,
                                      document_reference=request.document_reference)
            view = self.app.sign_document(request.document, request.reason, request.location, request.key_id,
                                          PURPOSES.get(request.purpose, ""), request.agency_id, subject)
        except TimestampUnavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the timestamp authority did not answer; try again")
        return signed_to_proto(view)

    def VerifyDocument(self, request: pb.VerifyDocumentRequest, context) -> pb.VerifyDocumentResponse:
        reports = self.app.verify_document(request.document)
        return pb.VerifyDocumentResponse(signatures=[report_to_proto(r) for r in reports])
