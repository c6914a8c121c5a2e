"""Every translation between the signing service's protos and its domain values and views
(the verification report, in words for a person, included). No rules here."""

from __future__ import annotations

from motcua.kernel.timestamps import timestamp
from motcua.signing.v1 import signature_request_pb2 as rpb, signature_verification_pb2 as vpb, signing_service_pb2 as pb

from .domain import (
    CERTIFIED_COPY,
    DOSSIER_FORM,
    DOSSIER_RESULT,
    PADES_B_B,
    PADES_B_LT,
    PADES_B_LTA,
    PADES_B_T,
    PERSONAL_APPROVAL,
    REQUEST_CANCELLED,
    REQUEST_EXPIRED,
    REQUEST_PENDING,
    REQUEST_REFUSED,
    REQUEST_SIGNED,
    SignatureRequest,
)
from .pades import SignatureReport
from .views import SignedDocumentView

PADES_LEVELS = {PADES_B_B: pb.PADES_LEVEL_B_B, PADES_B_T: pb.PADES_LEVEL_B_T, PADES_B_LT: pb.PADES_LEVEL_B_LT,
                PADES_B_LTA: pb.PADES_LEVEL_B_LTA}
PURPOSES = {
    pb.SIGNING_PURPOSE_DOSSIER_RESULT: DOSSIER_RESULT,
    pb.SIGNING_PURPOSE_CERTIFIED_COPY: CERTIFIED_COPY,
    pb.SIGNING_PURPOSE_PERSONAL_APPROVAL: PERSONAL_APPROVAL,
    pb.SIGNING_PURPOSE_DOSSIER_FORM: DOSSIER_FORM,
}
PURPOSE_PROTOS = {name: value for value, name in PURPOSES.items()}
OUTCOMES = {
    "valid": vpb.VERIFICATION_STATUS_VALID,
    "invalid": vpb.VERIFICATION_STATUS_INVALID,
    "indeterminate": vpb.VERIFICATION_STATUS_INDETERMINATE,
}
MODIFICATION_LEVELS = {
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
        pades_level=PADES_LEVELS[view.pades_level],
        purpose=PURPOSE_PROTOS.get(view.purpose, pb.SIGNING_PURPOSE_UNSPECIFIED),
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
    elif report.certificate_expired:
        problems.append("chứng thư số của người ký đã hết hạn vào thời điểm ký")
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
        status=OUTCOMES[report.outcome],
        detail=detail(report),
        signer_subject=report.signer_subject,
        integrity_ok=report.integrity_ok,
        trusted=report.trusted,
        covers_whole_document=report.covers_whole_document,
        modification_level=MODIFICATION_LEVELS.get(report.modification_level, vpb.MODIFICATION_LEVEL_UNSPECIFIED),
        certificate_sha256=report.certificate_sha256,
        timestamped=report.timestamped,
        field_name=report.field_name,
        revocation_status=REVOCATION_STATUSES[report.revocation_status],
        revocation_source=REVOCATION_SOURCES[report.revocation_source],
        signing_time_proof=(vpb.SIGNING_TIME_PROOF_SIGNATURE_TIMESTAMP if report.timestamped
                            else vpb.SIGNING_TIME_PROOF_CLAIMED),
        pades_level=VERIFIED_LEVELS.get(report.pades_level, vpb.VERIFIED_PADES_LEVEL_UNSPECIFIED),
        certificate_expired=report.certificate_expired,
    )


REVOCATION_STATUSES = {"good": vpb.REVOCATION_STATUS_GOOD, "revoked": vpb.REVOCATION_STATUS_REVOKED,
                       "unknown": vpb.REVOCATION_STATUS_UNKNOWN}
REVOCATION_SOURCES = {"embedded_ocsp": vpb.REVOCATION_SOURCE_EMBEDDED_OCSP,
                      "embedded_crl": vpb.REVOCATION_SOURCE_EMBEDDED_CRL, "online": vpb.REVOCATION_SOURCE_ONLINE,
                      "none": vpb.REVOCATION_SOURCE_NONE}
VERIFIED_LEVELS = {PADES_B_B: vpb.VERIFIED_PADES_LEVEL_B_B, PADES_B_T: vpb.VERIFIED_PADES_LEVEL_B_T,
                   PADES_B_LT: vpb.VERIFIED_PADES_LEVEL_B_LT, PADES_B_LTA: vpb.VERIFIED_PADES_LEVEL_B_LTA}


REQUEST_STATES = {
    REQUEST_PENDING: rpb.SIGNATURE_REQUEST_STATE_PENDING,
    REQUEST_SIGNED: rpb.SIGNATURE_REQUEST_STATE_SIGNED,
    REQUEST_REFUSED: rpb.SIGNATURE_REQUEST_STATE_FAILED,
    REQUEST_EXPIRED: rpb.SIGNATURE_REQUEST_STATE_FAILED,
    REQUEST_CANCELLED: rpb.SIGNATURE_REQUEST_STATE_CANCELLED,
}


def failure_reason(request: SignatureRequest) -> str:
    """Why a FAILED request failed, in Vietnamese."""
    if request.state == REQUEST_REFUSED:
        return "Người ký từ chối ký" + (f": {request.answer_reason}" if request.answer_reason else "")
    if request.state == REQUEST_EXPIRED:
        return "Hết thời hạn chờ người ký xác nhận"
    return ""


def request_to_proto(request: SignatureRequest) -> rpb.SignatureRequest:
    pending = request.state == REQUEST_PENDING
    return rpb.SignatureRequest(
        signature_request_id=str(request.id),
        document_name=request.document_name,
        document_sha256=request.document_sha256,
        method=rpb.SIGNATURE_METHOD_REMOTE,
        signer_account_id=request.signer_account_id,
        agency_id=request.agency_id,
        dossier_id=request.dossier_id,
        reason=request.reason,
        state=REQUEST_STATES[request.state],
        failure_reason=failure_reason(request),
        signed_document_sha256=request.signed_document_sha256,
        create_time=timestamp(request.requested_at),
        sign_time=timestamp(request.signed_at) if request.signed_at else None,
        version=request.version,
        data_to_sign=request.data_to_sign if pending else b"",
        signer_certificate_sha256=request.signer_certificate_sha256,
        expire_time=timestamp(request.expires_at),
        requester_account_id=request.requested_by,
    )
