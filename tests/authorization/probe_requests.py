"""Valid requests for any RPC, built from its descriptor: the fields that name a resource take
the resources given, every other field a plausible value (Vietnamese text where text is asked
for), so that the protovalidate rules pass and the call reaches the service's own checks.

The probe of another agency's and another person's resources (test_probe.py) builds its
requests here; `invalid_fields` says which rules a request still breaks (the probe refuses to
count a refusal the validator gave instead of the service).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import protovalidate
from buf.validate import validate_pb2
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message

from motcua.kernel.validation import field_path

FD = descriptor.FieldDescriptor

# Request fields that name a resource someone owns, by the kind of resource they name.
RESOURCE_FIELDS = {
    "dossier_id": "dossier", "source_dossier_id": "dossier", "dossier_ids": "dossier",
    "account_id": "account", "recipient_account_id": "account", "signer_account_id": "account",
    "notification_id": "notification",
    "calendar_id": "calendar",
    "procedure_id": "procedure",
    "agency_id": "agency", "parent_agency_id": "agency",
    "key_id": "key",
    "signature_request_id": "signature_request",
}

_TEXT = "Kiểm tra quyền truy cập – Phường Đông Sơn"
_BY_NAME: dict[str, object] = {
    "phone": "0912345678", "zalo_phone": "0912345678", "email": "kiem.tra@example.vn", "login": "kiem.tra.quyen",
    "personal_id_number": "038190001234", "identity_number": "038190001234", "tax_code": "2801234567",
    "start_date": "2026-01-01", "end_date": "2026-03-31", "code": "000.00.10.H56-261121-0001",
    "password": "Mật-khẩu-2026-kiểm-tra", "new_password": "Mật-khẩu-2026-kiểm-tra",
    "current_password": "Mật-khẩu-2026-cũ", "timezone": "Asia/Ho_Chi_Minh",
    "key": "kiem-tra-quyen", "sha256": "0" * 64, "content_type": "application/pdf",
    "to_agency_id": "000.00.15.H56", "successor_agency_id": "000.00.15.H56", "template_id": "",
    "unit": "Bộ phận một cửa", "to_unit": "Phòng Tư pháp", "next_assignee": "",
    "page_token": "", "query": "", "reference": "BL-0001", "method": "",
    "expected_version": 0, "calendar_version": 0, "version_number": 0, "page_size": 10,
    "amount_vnd": 200000, "score": 5, "year": 2027, "originals": 1, "copies": 1, "share": 1.0,
    "processing_days": 3, "value": 3, "month": 11, "day": 23,
    "date": "2027-11-23", "start": "07:30", "end": "17:00", "reception_cutoff": "16:30",
}
# Where one field name means different things in different messages.
_BY_MESSAGE_FIELD: dict[str, object] = {
    "RecordPaymentRequest.method": "cash",
    "ConfirmTotpEnrollmentRequest.code": "123456",
    "CreateProcedureRequest.code": "1.000889.000.00.00.H56",
    "GetProcedureInForceRequest.code": "1.000889.000.00.00.H56",
    "CreateTemplateRequest.key": "kiem_tra_quyen",
    "RenameProcedureRequest.expected_version": 1,
    "UpdateProcedureRequest.expected_version": 1,
    "CreateAccountRequest.kind": 3,  # ACCOUNT_KIND_OFFICER: an officer of the agency named
    "CreateAccountRequest.personal_id_number": "",
    "CreateAccountRequest.tax_code": "",
    # The auditor API of dossiers, narrowed to the owner's agency only (no code, no trace).
    "ListEventsRequest.service": "dossiers",
    "ListEventsRequest.dossier_code": "",
    "ListEventsRequest.trace_id": "",
    # A search answers with what the caller's scope holds: in any state, so that the owner's
    # notification would be in the answer were the scope not applied.
    "SearchNotificationsRequest.state": 0,
}
# Where a resource field must name one resource in particular, whoever the caller: the search
# names the recipient of the owner's notification (the citizen), not the caller's counterpart.
_RESOURCE_BY_MESSAGE_FIELD = {"SearchNotificationsRequest.recipient_account_id": "citizen"}
# A make-up working day must not be a holiday: a Saturday apart from the holiday above.
_MAKEUP_DAY = "2027-11-20"
# Enums whose first values the rules exclude (the applicant role cannot be granted).
_ENUM_BY_NAME = {"motcua.identity.v1.Role": "ROLE_DESK_OFFICER"}


def _pdf() -> bytes:
    from tests.signing.pdfs import vietnamese_pdf

    return vietnamese_pdf()


# The messages are built from descriptors at run time: their fields are known then only.
def _timestamp(message: Any) -> None:
    message.FromDatetime(datetime.now(UTC).replace(microsecond=0) + timedelta(days=3))


def fill(message: Any, resources: Mapping[str, str], depth: int = 0) -> Any:
    """Sets every field of `message` (and of its sub-messages, to a depth) to a valid value."""
    full_name = message.DESCRIPTOR.full_name
    if full_name == "google.protobuf.Timestamp":
        _timestamp(message)
        return message
    if full_name == "google.type.Date":
        message.year, message.month, message.day = 2026, 11, 23
        return message
    if full_name == "google.protobuf.Duration":
        message.seconds = 3600
        return message
    for fd in message.DESCRIPTOR.fields:
        if fd.containing_oneof is not None and message.WhichOneof(fd.containing_oneof.name):
            continue  # one member of a oneof is enough
        name = fd.name
        if fd.type == FD.TYPE_MESSAGE:
            if depth > 3 or fd.message_type.GetOptions().map_entry:
                continue
            child = getattr(message, name).add() if fd.is_repeated else getattr(message, name)
            fill(child, resources, depth + 1)
            if name.startswith("makeup_working_day"):
                child.date = _MAKEUP_DAY
            continue
        value = _scalar(fd, resources, f"{message.DESCRIPTOR.name}.{name}")
        if value is None:
            continue
        if fd.is_repeated:
            getattr(message, name).append(value)
        else:
            setattr(message, name, value)
    return message


def _scalar(fd: FD, resources: Mapping[str, str], qualified: str):
    name = fd.name
    if qualified in _RESOURCE_BY_MESSAGE_FIELD:
        return resources.get(_RESOURCE_BY_MESSAGE_FIELD[qualified], "")
    if name in RESOURCE_FIELDS:
        return resources.get(name, resources.get(RESOURCE_FIELDS[name], ""))
    if name in ("template_id", "assignee"):  # someone's template, the caller's colleague
        return resources.get(name, "")
    if qualified in _BY_MESSAGE_FIELD:
        return _BY_MESSAGE_FIELD[qualified]
    if fd.type == FD.TYPE_ENUM:
        enum = fd.enum_type
        assert enum is not None
        if enum.full_name in _ENUM_BY_NAME:
            return enum.values_by_name[_ENUM_BY_NAME[enum.full_name]].number
        values = [v.number for v in enum.values if v.number != 0]
        return values[0] if values else 0
    if name in _BY_NAME:
        return _BY_NAME[name]
    if fd.type == FD.TYPE_STRING:
        if name.endswith("request_id") or name.endswith("idempotency_key"):
            return str(uuid.uuid4())
        if name.endswith("_id"):
            return ""
        return _TEXT
    if fd.type == FD.TYPE_BYTES:
        return _pdf()
    if fd.type == FD.TYPE_BOOL:
        return False
    if fd.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return 1.0
    return 0


_validator = protovalidate.Validator()


def request_for(method: descriptor.MethodDescriptor, resources: Mapping[str, str]) -> Message:
    request_type = message_factory.GetMessageClass(method.input_type)
    return fill(request_type(), resources)


def invalid_fields(request: Message) -> list[str]:
    """The fields whose protovalidate rules the request breaks."""
    return [f"{field_path(validate_pb2.Violation.FromString(v.proto.to_binary()).field)}: "
            f"{validate_pb2.Violation.FromString(v.proto.to_binary()).message}"
            for v in _validator.collect_violations(request)]
