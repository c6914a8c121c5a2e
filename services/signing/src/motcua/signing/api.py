"""gRPC servicer: translates between protos and the application, nothing more."""

from __future__ import annotations

import uuid

import grpc

from motcua.signing.v1 import signature_request_pb2 as rpb, signing_service_pb2 as pb, signing_service_pb2_grpc

from .application import SigningApplication
from .convert import PURPOSES, report_to_proto, request_to_proto, signed_to_proto
from .domain import DocumentSubject
from .pades import TimestampUnavailable


class SigningServicer(signing_service_pb2_grpc.SigningServiceServicer):
    def __init__(self, app: SigningApplication) -> None:
        self.app = app

    def SignDocument(self, request: pb.SignDocumentRequest, context) -> pb.SignDocumentResponse:
        try:
            subject = DocumentSubject(dossier_id=request.dossier_id, dossier_code=request.dossier_code,
                                      document_reference=request.document_reference)
            view = self.app.sign_document(
                request.document, request.reason, request.location, request.key_id, PURPOSES.get(request.purpose, ""),
                request.agency_id, subject,
                uuid.UUID(request.signature_request_id) if request.signature_request_id else None)
        except TimestampUnavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the timestamp authority did not answer; try again")
        return signed_to_proto(view)

    def VerifyDocument(self, request: pb.VerifyDocumentRequest, context) -> pb.VerifyDocumentResponse:
        reports = self.app.verify_document(request.document)
        return pb.VerifyDocumentResponse(signatures=[report_to_proto(r) for r in reports])

    def VerifySignatures(self, request: pb.VerifySignaturesRequest, context) -> pb.VerifySignaturesResponse:
        # The same verification as VerifyDocument, under the name the remote-signing API gives it.
        reports = self.app.verify_document(request.document)
        return pb.VerifySignaturesResponse(signatures=[report_to_proto(r) for r in reports])

    def CreateSignatureRequest(self, request: pb.CreateSignatureRequestRequest,
                               context) -> pb.CreateSignatureRequestResponse:
        created = self.app.create_signature_request(
            request.document, request.document_name, request.signer_account_id, request.agency_id,
            request.dossier_id, request.reason, request.request_id,
            remote=request.method == rpb.SIGNATURE_METHOD_REMOTE)
        return pb.CreateSignatureRequestResponse(signature_request=request_to_proto(created))

    def GetSignatureRequest(self, request: pb.GetSignatureRequestRequest, context) -> pb.GetSignatureRequestResponse:
        found = self.app.signature_request(uuid.UUID(request.signature_request_id))
        return pb.GetSignatureRequestResponse(signature_request=request_to_proto(found))

    def ConfirmSignatureRequest(self, request: pb.ConfirmSignatureRequestRequest,
                                context) -> pb.ConfirmSignatureRequestResponse:
        try:
            confirmed = self.app.confirm_signature_request(uuid.UUID(request.signature_request_id),
                                                           request.signature_value)
        except TimestampUnavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the timestamp authority did not answer; try again")
        return pb.ConfirmSignatureRequestResponse(signature_request=request_to_proto(confirmed))

    def RefuseSignatureRequest(self, request: pb.RefuseSignatureRequestRequest,
                               context) -> pb.RefuseSignatureRequestResponse:
        refused = self.app.refuse_signature_request(uuid.UUID(request.signature_request_id), request.reason)
        return pb.RefuseSignatureRequestResponse(signature_request=request_to_proto(refused))

    def CancelSignatureRequest(self, request: pb.CancelSignatureRequestRequest,
                               context) -> pb.CancelSignatureRequestResponse:
        cancelled = self.app.cancel_signature_request(uuid.UUID(request.signature_request_id), request.reason)
        return pb.CancelSignatureRequestResponse(signature_request=request_to_proto(cancelled))

    def GetSignedDocument(self, request: pb.GetSignedDocumentRequest, context) -> pb.GetSignedDocumentResponse:
        content = self.app.signed_document(uuid.UUID(request.signature_request_id))
        return pb.GetSignedDocumentResponse(content=content, media_type="application/pdf")
