"""gRPC servicer: translates between protos and the application, nothing more.

The remote-signing RPCs (signature requests) are not implemented yet and answer
UNIMPLEMENTED, as the generated base class does.
"""

from __future__ import annotations

import grpc

from motcua.signing.v1 import signature_verification_pb2 as vpb, signing_service_pb2 as pb, signing_service_pb2_grpc
from motcua.kernel.timestamps import timestamp

from .application import SignedDocumentView, SigningApplication
from .domain import CERTIFIED_COPY, DOSSIER_RESULT, PADES_B_B, PADES_B_T, PERSONAL_APPROVAL, DocumentSubject
from .pades import SignatureReport, TimestampUnavailable

_PADES_LEVELS = {PADES_B_B: pb.PADES_LEVEL_B_B, PADES_B_T: pb.PADES_LEVEL_B_T}
_PURPOSES = {
    pb.SIGNING_PURPOSE_DOSSIER_RESULT: DOSSIER_RESULT,
    pb.SIGNING_PURPOSE_CERTIFIED_COPY: CERTIFIED_COPY,
    pb.SIGNING_PURPOSE_PERSONAL_APPROVAL: PERSONAL_APPROVAL,
}
_PURPOSE_PROTOS = {name: value for value, name in _PURPOSES.items()}
_OUTCOMES = {
    "valid": vpb.VERIFICATION_STATUS_VALID,
    "invalid": vpb.VERIFICATION_STATUS_INVALID,
    "indeterminate": vpb.VERIFICATION_STATUS_INDETERMINATE,
}
_MODIFICATION_LEVELS = {
    "none": vpb.MODIFICATION_LEVEL_NONE,
    "lta_updates": vpb.MODIFICATION_LEVEL_LTA_UPDATES,
    "form_filling": vpb.MODIFICATION_LEVEL_FORM_FILLING,
    "annotations": vpb.MODIFICATION_LEVEL_ANNOTATIONS,
    "other": vpb.MODIFICATION_LEVEL_OTHER,
}


def signed_to_proto(view: SignedDocumentView) -> pb.SignDocumentResponse:
    return pb.SignDocumentResponse(
        document_id=str(view.document_id),
        signed_document=view.signed_document,
        document_sha256=view.document_sha256,
        signed_document_sha256=view.signed_document_sha256,
        key_id=view.key_id,
        certificate_sha256=view.certificate_sha256,
        sign_time=timestamp(view.signing_time),
        pades_level=_PADES_LEVELS[view.pades_level],
        purpose=_PURPOSE_PROTOS.get(view.purpose, pb.SIGNING_PURPOSE_UNSPECIFIED),
        agency_id=view.agency_id,
        holder_account_id=view.holder_account_id,
    )


def detail(report: SignatureReport) -> str:
    """What the report means, for a person, in Vietnamese."""
    if report.problem:
        return f"Không kiểm tra được chữ ký: {report.problem}."
    problems = []
    if not report.integrity_ok:
        problems.append("tài liệu đã bị thay đổi sau khi ký hoặc giá trị chữ ký không khớp")
    if report.revoked:
        problems.append("chứng thư số của người ký đã bị thu hồi")
    elif not report.trusted:
        problems.append("chứng thư số không chuỗi được đến tổ chức chứng thực tin cậy")
    if report.modification_level == "other":
        problems.append("tài liệu có thay đổi không được phép sau khi ký")
    elif not report.covers_whole_document:
        problems.append("chữ ký không bao phủ toàn bộ tài liệu (có phần bổ sung sau khi ký)")
    head = {"valid": "Chữ ký hợp lệ", "invalid": "Chữ ký không hợp lệ",
            "indeterminate": "Chưa xác định được hiệu lực của chữ ký"}[report.outcome]
    text = head + (": " + "; ".join(problems) if problems else "")
    if not report.timestamped:
        text += " (thời gian ký do người ký tự khai, không có dấu thời gian)"
    return text + "."


def report_to_proto(report: SignatureReport) -> vpb.SignatureVerification:
    return vpb.SignatureVerification(
        signer_name=report.signer_common_name,
        issuer=report.issuer,
        certificate_serial=report.certificate_serial,
        signing_time=timestamp(report.signing_time),
        status=_OUTCOMES[report.outcome],
        detail=detail(report),
        signer_subject=report.signer_subject,
        integrity_ok=report.integrity_ok,
        trusted=report.trusted,
        covers_whole_document=report.covers_whole_document,
        modification_level=_MODIFICATION_LEVELS.get(report.modification_level, vpb.MODIFICATION_LEVEL_UNSPECIFIED),
        certificate_sha256=report.certificate_sha256,
        timestamped=report.timestamped,
        field_name=report.field_name,
    )


class SigningServicer(signing_service_pb2_grpc.SigningServiceServicer):
    def __init__(self, app: SigningApplication) -> None:
        self.app = app

    def SignDocument(self, request: pb.SignDocumentRequest, context) -> pb.SignDocumentResponse:  # type: ignore[no-untyped-def]
        try:
            subject = DocumentSubject(dossier_id=request.dossier_id, dossier_code=request.dossier_code,
                                      document_reference=request.document_reference)
            view = self.app.sign_document(request.document, request.reason, request.location, request.key_id,
                                          _PURPOSES.get(request.purpose, ""), request.agency_id, subject)
        except TimestampUnavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the timestamp authority did not answer; try again")
        return signed_to_proto(view)

    def VerifyDocument(self, request: pb.VerifyDocumentRequest, context) -> pb.VerifyDocumentResponse:  # type: ignore[no-untyped-def]
        reports = self.app.verify_document(request.document)
        return pb.VerifyDocumentResponse(signatures=[report_to_proto(r) for r in reports])
