"""The notifications service's aggregates and template rendering.

Pure: imports only eventsourcing and the kernel's errors. Events hold plain
values only (str, int, UUID, aware datetimes, dicts of those), so that the log
is read back by eventsourcing's default transcodings alone, by this service
and by ``motcua-audit``.

Templates are written in Vietnamese with ``{{placeholder}}`` parameters
(see ``protos/motcua/notifications/v1/template.proto``); ``render`` fills them
and names every placeholder it has no value for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.kernel.errors import AlreadyExists, FieldViolation, InvalidArgument, InvalidTransition
from motcua.kernel.localtime import VIETNAM, local_date

# Channels (the proto's Channel enum, in lower case).
SMS = "sms"
EMAIL = "email"
ZALO = "zalo"
IN_APP = "in_app"
CHANNELS = (SMS, EMAIL, ZALO, IN_APP)

# Delivery states (the proto's NotificationState): queued -> sending -> sent -> delivered,
# or failed / bounced; a transient failure puts it back in the queue until its next attempt.
QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
FAILED = "failed"
BOUNCED = "bounced"
FINAL_STATES = (DELIVERED, FAILED, BOUNCED)

TEMPLATE_KEY = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
MAX_SUBJECT_LENGTH = 300
MAX_BODY_LENGTH = 10_000

# `{{name}}`, spaces allowed inside the braces.
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_]{0,63})\s*\}\}")
_BRACED = re.compile(r"\{\{[^{}]{0,80}?\}\}")
_BRACES = re.compile(r"\{\{|\}\}")


# --- rendering (pure functions) ------------------------------------------------------------


def placeholders(text: str) -> list[str]:
    """The placeholder names of a template text, in order of first use."""
    return list(_placeholder_names(text))


# Kept per text: a batch renders and checks the same few template texts for every item.
@functools.lru_cache(maxsize=256)
def _placeholder_names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_PLACEHOLDER.findall(text)))


def malformed_braces(text: str) -> list[str]:
    """Descriptions of every `{{…}}` that is not a well-formed placeholder, and of stray braces."""
    problems = []
    for match in _BRACED.finditer(text):
        if not _PLACEHOLDER.fullmatch(match.group(0)):
            problems.append(
                f"{match.group(0)!r} at character {match.start() + 1} is not a placeholder: "
                "names are lower-case letters, digits and _, as in {{dossier_code}}"
            )
    stripped = _BRACED.sub(lambda m: " " * len(m.group(0)), text)
    for match in _BRACES.finditer(stripped):
        problems.append(f"'{match.group(0)}' at character {match.start() + 1} does not open or close a placeholder")
    return problems


class MissingParameters(InvalidArgument):
    """A template was rendered without a value for some of its placeholders."""

    def __init__(self, template: str, missing: list[str]) -> None:
        self.template = template
        self.missing = missing
        names = ", ".join("{{" + name + "}}" for name in missing)
        super().__init__(
            FieldViolation("parameters", f"no value for {names} of template {template}", "MISSING_PLACEHOLDER_VALUE")
        )


def render(text: str, parameters: Mapping[str, str], template: str = "") -> str:
    """``text`` with each ``{{name}}`` replaced by ``parameters[name]``.

    Raises MissingParameters naming every placeholder without a value (an empty
    string is a value). Parameters the text does not use are ignored; values are
    inserted as they are, never interpreted as placeholders themselves.
    """
    missing = [name for name in _placeholder_names(text) if name not in parameters]
    if missing:
        raise MissingParameters(template or "text", missing)
    return _PLACEHOLDER.sub(lambda m: parameters[m.group(1)], text)


# --- dates as the one-stop shop writes them -------------------------------------------------


def format_date(moment: datetime, zone: tzinfo = VIETNAM) -> str:
    """dd/mm/yyyy of the local date, as printed on receipts: 05/01/2026."""
    return local_date(moment, zone).strftime("%d/%m/%Y")


def quiet_until(moment: datetime, start: time, end: time, zone: tzinfo = VIETNAM) -> datetime | None:
    """When the quiet hours ``start``–``end`` (local, the window may span midnight) around
    ``moment`` end; None when ``moment`` is outside them (or the window is empty)."""
    if start == end:
        return None
    local = moment.astimezone(zone)
    now = local.time()
    spans_midnight = start > end
    inside = (now >= start or now < end) if spans_midnight else (start <= now < end)
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if spans_midnight and now >= start else local.date()
    return datetime.combine(day, end, tzinfo=zone)


def format_amount(vnd: int) -> str:
    """An amount of đồng as Vietnamese write it, thousands separated by dots: 1.500.000 đồng."""
    return f"{vnd:,}".replace(",", ".") + " đồng"


def format_time(moment: datetime, zone: tzinfo = VIETNAM) -> str:
    """HH:MM local time (24 h): 14:30."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(zone).strftime("%H:%M")


# --- occasions: what the service notifies about, and with which parameters ------------------


@dataclass(frozen=True)
class Occasion:
    """Something the service itself sends notifications about, with the parameters it fills."""

    key: str
    parameters: Mapping[str, str]  # name → what it holds


DOSSIER_RECEIVED = Occasion(
    key="dossier_received",
    parameters={
        "dossier_code": "dossier code, e.g. 000.00.12.H56-260105-0001",
        "appointed_date": "appointed return date, dd/mm/yyyy",
        "appointed_time": "appointed return time, HH:MM",
        "received_date": "reception date, dd/mm/yyyy",
        "agency_id": "electronic identifier of the receiving agency",
    },
)

_CODE = {"dossier_code": "dossier code, e.g. 000.00.12.H56-260105-0001"}

# Applicants' occasions.
SUPPLEMENT_REQUESTED = Occasion(
    key="supplement_requested",
    parameters={**_CODE, "items": "the documents to supply and what is wrong with each, separated by '; '",
                "item_count": "how many documents are asked for", "request_date": "date of the request, dd/mm/yyyy"},
)
DOSSIER_REFUSED = Occasion(
    key="dossier_refused",
    parameters={**_CODE, "reason": "why the dossier is refused", "refuse_date": "date of the refusal, dd/mm/yyyy"},
)
RESULT_READY = Occasion(
    key="result_ready",
    parameters={**_CODE, "collection": "how to collect the result, e.g. tại Bộ phận Một cửa",
                "ready_date": "date the result was ready, dd/mm/yyyy"},
)
APOLOGY_ISSUED = Occasion(
    key="apology_issued",
    parameters={**_CODE, "reason": "why the dossier is late", "new_appointed_date": "new appointed date, dd/mm/yyyy",
                "previous_appointed_date": "the appointed date missed, dd/mm/yyyy"},
)
DOSSIER_RETURNED = Occasion(
    key="dossier_returned",
    parameters={**_CODE, "return_date": "date the result was returned, dd/mm/yyyy"},
)
FEE_DUE = Occasion(
    key="fee_due",
    parameters={**_CODE, "fee_amount": "the fees still unpaid, e.g. 1.500.000 đồng"},
)
# Officers' occasions.
DOSSIER_ASSIGNED = Occasion(
    key="dossier_assigned",
    parameters={**_CODE, "assign_date": "date of the assignment, dd/mm/yyyy"},
)
DOSSIER_COMING_DUE = Occasion(key="dossier_coming_due", parameters={**_CODE, "due_date": "due date, dd/mm/yyyy"})
DOSSIER_OVERDUE = Occasion(key="dossier_overdue", parameters={**_CODE, "due_date": "due date missed, dd/mm/yyyy"})
# A document waits for the officer's own signature (the signing service's SignatureRequested);
# the notice names it, never carries it: the officer reads it on their signing device.
# Every notice of a signature request names the document and, when it belongs to a dossier
# this service has heard of, the dossier's code (the signing service's events name the dossier
# by id only): `of_dossier` is the phrase ", hồ sơ <code>", empty otherwise, so that one text
# reads right with and without a dossier.
_SIGNED_DOCUMENT = {
    "document_name": "title of the document to sign, as the requester named it",
    "dossier_code": "code of the dossier the document belongs to; empty when none (or not yet known)",
    "of_dossier": "', hồ sơ <dossier code>' when the document belongs to a dossier, else empty",
}
SIGNATURE_REQUESTED = Occasion(
    key="signature_requested",
    parameters={**_SIGNED_DOCUMENT, "expire_date": "date the request expires, dd/mm/yyyy",
                "expire_time": "time it expires, HH:MM"},
)
# The requester hears how their request ended (DocumentSigned, SignatureRequestFailed); the
# officer it was addressed to hears that it was withdrawn (SignatureRequestCancelled).
_ANSWERED = {"answer_date": "date of the answer, dd/mm/yyyy", "answer_time": "time of the answer, HH:MM"}
SIGNATURE_CONFIRMED = Occasion(key="signature_confirmed", parameters={**_SIGNED_DOCUMENT, **_ANSWERED})
SIGNATURE_REFUSED = Occasion(
    key="signature_refused",
    parameters={**_SIGNED_DOCUMENT, **_ANSWERED, "reason": "why the officer refused, as they wrote it; may be empty"},
)
SIGNATURE_EXPIRED = Occasion(
    key="signature_expired",
    parameters={**_SIGNED_DOCUMENT, "expire_date": "date the request expired, dd/mm/yyyy",
                "expire_time": "time it expired, HH:MM"},
)
SIGNATURE_CANCELLED = Occasion(
    key="signature_cancelled",
    parameters={**_SIGNED_DOCUMENT, **_ANSWERED, "reason": "why the request was withdrawn; may be empty"},
)

# Account holders' occasions: how their account is entered changed, or it was entered from a
# new address. They name no dossier.
_WHEN = {"change_date": "date of the change, dd/mm/yyyy", "change_time": "time of the change, HH:MM"}
PASSWORD_CHANGED = Occasion(
    key="password_changed",
    parameters={**_WHEN, "changed_by": "who changed it: the owner, or an officer who reset it"},
)
SECOND_FACTOR_CHANGED = Occasion(
    key="second_factor_changed",
    parameters={**_WHEN, "change": "what changed: the second factor turned on or off"},
)
NEW_SIGN_IN = Occasion(
    key="new_sign_in",
    parameters={"sign_in_date": "date of the login, dd/mm/yyyy", "sign_in_time": "time of the login, HH:MM"},
)

OCCASIONS = {o.key: o for o in (DOSSIER_RECEIVED, SUPPLEMENT_REQUESTED, DOSSIER_REFUSED, RESULT_READY, APOLOGY_ISSUED,
                                DOSSIER_RETURNED, FEE_DUE, DOSSIER_ASSIGNED, DOSSIER_COMING_DUE, DOSSIER_OVERDUE,
                                PASSWORD_CHANGED, SECOND_FACTOR_CHANGED, NEW_SIGN_IN, SIGNATURE_REQUESTED,
                                SIGNATURE_CONFIRMED, SIGNATURE_REFUSED, SIGNATURE_EXPIRED, SIGNATURE_CANCELLED)}

# Notices the law requires the applicant to be given (Decree 61/2018 and 107/2021, the one-stop
# shop's receipts, supplement requests, refusals, results and apologies): opting out of a
# channel only redirects them to another.
STATUTORY = frozenset({"dossier_received", "supplement_requested", "dossier_refused", "result_ready",
                       "apology_issued", "dossier_returned"})

# Notices sent on every channel the account can be reached on at once, rather than one after
# another on failure, and never held back by quiet hours: a stranger in the account must be
# known of before the next login, an overdue dossier is already late, and a signature request
# expires within minutes (held till morning, it would arrive expired), and its withdrawal must
# reach the officer by the same ways before they sign it.
URGENT = frozenset({"password_changed", "second_factor_changed", "new_sign_in", "dossier_overdue",
                    "signature_requested", "signature_cancelled"})

# Channels an occasion's notification goes out on besides the inbox, in order of preference:
# the first the recipient has a contact point for; when it fails, the next (fallback).
EXTERNAL_ORDER = (ZALO, SMS, EMAIL)

# An SMS of at most two concatenated segments: 2 x 153 GSM-7 characters (unaccented text).
MAX_SMS_LENGTH = 306


@dataclass(frozen=True)
class TemplateText:
    key: str
    channel: str
    subject: str
    body: str


def _texts(key: str, subject: str, body: str, sms: str, email_body: str = "") -> tuple[TemplateText, ...]:
    """One occasion's texts: the inbox's and Zalo's (Zalo shows its own approved template,
    filled with the same parameters: this text is its reference), the e-mail's (a letter) and
    the SMS's (short, at most two segments once unaccented)."""
    letter = email_body or (
        f"Kính gửi Ông/Bà,\n\n{body}\n\nTra cứu hồ sơ trên Cổng Dịch vụ công hoặc tại Bộ phận Một cửa.\n"
        "Trân trọng."
    )
    return (
        TemplateText(key, IN_APP, subject, body),
        TemplateText(key, ZALO, subject, body),
        TemplateText(key, EMAIL, subject, letter),
        TemplateText(key, SMS, "", sms),
    )


# The texts the service starts with; administrators revise them (new versions).
DEFAULT_TEMPLATES = (
    TemplateText(
        key=DOSSIER_RECEIVED.key,
        channel=IN_APP,
        subject="Hồ sơ {{dossier_code}} đã được tiếp nhận",
        body="Hồ sơ {{dossier_code}} đã được tiếp nhận. Ngày hẹn trả kết quả: {{appointed_date}}.",
    ),
    TemplateText(DOSSIER_RECEIVED.key, ZALO, "Hồ sơ {{dossier_code}} đã được tiếp nhận",
                 "Hồ sơ {{dossier_code}} đã được tiếp nhận. Ngày hẹn trả kết quả: {{appointed_date}}."),
    TemplateText(DOSSIER_RECEIVED.key, EMAIL, "Hồ sơ {{dossier_code}} đã được tiếp nhận",
                 "Kính gửi Ông/Bà,\n\nHồ sơ {{dossier_code}} đã được tiếp nhận ngày {{received_date}}.\n"
                 "Ngày hẹn trả kết quả: {{appointed_date}}, lúc {{appointed_time}}.\n\nTrân trọng."),
    TemplateText(DOSSIER_RECEIVED.key, SMS, "",
                 "Ho so {{dossier_code}} da duoc tiep nhan. Hen tra ket qua ngay {{appointed_date}}."),
    *_texts(SUPPLEMENT_REQUESTED.key, "Hồ sơ {{dossier_code}} cần bổ sung giấy tờ",
            "Hồ sơ {{dossier_code}} cần bổ sung, hoàn thiện ({{request_date}}): {{items}}. Thời hạn giải quyết "
            "tạm dừng cho đến khi hồ sơ được bổ sung.",
            "Ho so {{dossier_code}} can bo sung {{item_count}} giay to. Thoi han giai quyet tam dung. "
            "Chi tiet tren Cong DVC hoac tai Bo phan Mot cua."),
    *_texts(DOSSIER_REFUSED.key, "Hồ sơ {{dossier_code}} không được tiếp nhận",
            "Hồ sơ {{dossier_code}} không được tiếp nhận, giải quyết ({{refuse_date}}). Lý do: {{reason}}",
            "Ho so {{dossier_code}} khong duoc tiep nhan. Ly do xem tren Cong DVC hoac tai Bo phan Mot cua."),
    *_texts(RESULT_READY.key, "Hồ sơ {{dossier_code}} đã có kết quả",
            "Hồ sơ {{dossier_code}} đã có kết quả ({{ready_date}}). Nhận kết quả {{collection}}.",
            "Ho so {{dossier_code}} da co ket qua. Moi Ong/Ba nhan ket qua theo hinh thuc da dang ky."),
    *_texts(APOLOGY_ISSUED.key, "Thư xin lỗi: hồ sơ {{dossier_code}} trễ hẹn",
            "Cơ quan xin lỗi vì hồ sơ {{dossier_code}} không kịp trả kết quả ngày {{previous_appointed_date}}. "
            "Lý do: {{reason}}. Ngày hẹn mới: {{new_appointed_date}}.",
            "Ho so {{dossier_code}} tre hen. Co quan xin loi Ong/Ba. Ngay hen tra ket qua moi: "
            "{{new_appointed_date}}."),
    *_texts(DOSSIER_RETURNED.key, "Hồ sơ {{dossier_code}} đã trả kết quả",
            "Kết quả hồ sơ {{dossier_code}} đã được trả ngày {{return_date}}.",
            "Ket qua ho so {{dossier_code}} da duoc tra ngay {{return_date}}."),
    *_texts(FEE_DUE.key, "Hồ sơ {{dossier_code}}: phí, lệ phí cần nộp",
            "Hồ sơ {{dossier_code}} có phí, lệ phí cần nộp: {{fee_amount}}. Ông/Bà nộp trực tuyến trên Cổng "
            "Dịch vụ công hoặc tại Bộ phận Một cửa.",
            "Ho so {{dossier_code}} can nop phi, le phi {{fee_amount}}. Nop truc tuyen tren Cong DVC hoac tai "
            "Bo phan Mot cua."),
    *_texts(DOSSIER_ASSIGNED.key, "Hồ sơ {{dossier_code}} được giao cho đồng chí",
            "Hồ sơ {{dossier_code}} được giao cho đồng chí xử lý ({{assign_date}}).",
            "Ho so {{dossier_code}} duoc giao cho dong chi xu ly ngay {{assign_date}}."),
    *_texts(DOSSIER_COMING_DUE.key, "Hồ sơ {{dossier_code}} đến hạn",
            "Hồ sơ {{dossier_code}} đến hạn giải quyết ngày {{due_date}}.",
            "Ho so {{dossier_code}} den han giai quyet ngay {{due_date}}."),
    *_texts(DOSSIER_OVERDUE.key, "Hồ sơ {{dossier_code}} quá hạn",
            "Hồ sơ {{dossier_code}} đã quá hạn giải quyết (hạn {{due_date}}). Đề nghị xử lý ngay.",
            "Ho so {{dossier_code}} da qua han giai quyet (han {{due_date}}). De nghi xu ly ngay."),
    *_texts(PASSWORD_CHANGED.key, "Mật khẩu tài khoản Dịch vụ công đã được thay đổi",
            "Mật khẩu tài khoản của Ông/Bà đã được {{changed_by}} thay đổi lúc {{change_time}} ngày {{change_date}}. "
            "Nếu không phải Ông/Bà thực hiện, đề nghị liên hệ ngay Bộ phận Một cửa để khóa tài khoản.",
            "Mat khau tai khoan DVC da duoc thay doi luc {{change_time}} ngay {{change_date}}. Neu khong phai "
            "Ong/Ba thuc hien, lien he ngay Bo phan Mot cua."),
    *_texts(SECOND_FACTOR_CHANGED.key, "Xác thực hai lớp tài khoản Dịch vụ công đã {{change}}",
            "Xác thực hai lớp của tài khoản đã {{change}} lúc {{change_time}} ngày {{change_date}}. "
            "Nếu không phải Ông/Bà thực hiện, đề nghị liên hệ ngay Bộ phận Một cửa.",
            "Xac thuc hai lop tai khoan DVC da thay doi luc {{change_time}} ngay {{change_date}}. Neu khong phai "
            "Ong/Ba thuc hien, lien he ngay Bo phan Mot cua."),
    *_texts(NEW_SIGN_IN.key, "Đăng nhập mới vào tài khoản Dịch vụ công",
            "Tài khoản của Ông/Bà vừa được đăng nhập từ một địa chỉ mạng mới lúc {{sign_in_time}} ngày "
            "{{sign_in_date}}. Nếu không phải Ông/Bà, đề nghị đổi mật khẩu ngay.",
            "Tai khoan DVC vua dang nhap tu dia chi moi luc {{sign_in_time}} ngay {{sign_in_date}}. Neu khong "
            "phai Ong/Ba, doi mat khau ngay."),
    *_texts(SIGNATURE_REQUESTED.key, "Yêu cầu ký số: {{document_name}}{{of_dossier}}",
            "Yêu cầu ký số văn bản {{document_name}}{{of_dossier}} đang chờ đồng chí xác nhận trên thiết bị ký "
            "số. Yêu cầu hết hạn lúc {{expire_time}} ngày {{expire_date}}.",
            "Yeu cau ky so van ban {{document_name}}{{of_dossier}} dang cho dong chi xac nhan tren thiet bi ky so. "
            "Het han luc {{expire_time}} ngay {{expire_date}}.",
            "Kính gửi đồng chí,\n\nYêu cầu ký số văn bản {{document_name}}{{of_dossier}} đang chờ đồng chí xác "
            "nhận trên thiết bị ký số của mình. Yêu cầu hết hạn lúc {{expire_time}} ngày {{expire_date}}.\n\n"
            "Trân trọng."),
    *_texts(SIGNATURE_CONFIRMED.key, "Đã ký số: {{document_name}}{{of_dossier}}",
            "Văn bản {{document_name}}{{of_dossier}} đã được ký số lúc {{answer_time}} ngày {{answer_date}}. "
            "Đồng chí tiếp tục xử lý văn bản đã ký.",
            "Van ban {{document_name}}{{of_dossier}} da duoc ky so luc {{answer_time}} ngay {{answer_date}}.",
            "Kính gửi đồng chí,\n\nVăn bản {{document_name}}{{of_dossier}} đồng chí trình ký đã được ký số lúc "
            "{{answer_time}} ngày {{answer_date}}. Đồng chí tiếp tục xử lý văn bản đã ký.\n\nTrân trọng."),
    *_texts(SIGNATURE_REFUSED.key, "Từ chối ký số: {{document_name}}{{of_dossier}}",
            "Yêu cầu ký số văn bản {{document_name}}{{of_dossier}} đã bị từ chối lúc {{answer_time}} ngày "
            "{{answer_date}}. Lý do: {{reason}}",
            "Yeu cau ky so van ban {{document_name}}{{of_dossier}} bi tu choi ngay {{answer_date}}. Xem ly do "
            "tren he thong.",
            "Kính gửi đồng chí,\n\nYêu cầu ký số văn bản {{document_name}}{{of_dossier}} đồng chí trình ký đã "
            "bị từ chối lúc {{answer_time}} ngày {{answer_date}}.\nLý do: {{reason}}\n\nTrân trọng."),
    *_texts(SIGNATURE_EXPIRED.key, "Hết hạn ký số: {{document_name}}{{of_dossier}}",
            "Yêu cầu ký số văn bản {{document_name}}{{of_dossier}} đã hết hạn lúc {{expire_time}} ngày "
            "{{expire_date}} mà chưa được ký. Đồng chí tạo yêu cầu mới nếu văn bản vẫn cần ký.",
            "Yeu cau ky so van ban {{document_name}}{{of_dossier}} da het han luc {{expire_time}} ngay "
            "{{expire_date}} ma chua duoc ky.",
            "Kính gửi đồng chí,\n\nYêu cầu ký số văn bản {{document_name}}{{of_dossier}} đồng chí trình ký đã "
            "hết hạn lúc {{expire_time}} ngày {{expire_date}} mà chưa được ký. Đồng chí tạo yêu cầu mới nếu văn "
            "bản vẫn cần ký.\n\nTrân trọng."),
    *_texts(SIGNATURE_CANCELLED.key, "Đã hủy yêu cầu ký số: {{document_name}}{{of_dossier}}",
            "Yêu cầu ký số văn bản {{document_name}}{{of_dossier}} đã được hủy lúc {{answer_time}} ngày "
            "{{answer_date}}; đồng chí không cần ký văn bản này. Lý do: {{reason}}",
            "Yeu cau ky so van ban {{document_name}}{{of_dossier}} da duoc huy. Dong chi khong can ky van ban nay.",
            "Kính gửi đồng chí,\n\nYêu cầu ký số văn bản {{document_name}}{{of_dossier}} đã được hủy lúc "
            "{{answer_time}} ngày {{answer_date}}; đồng chí không cần ký văn bản này.\nLý do: {{reason}}\n\n"
            "Trân trọng."),
)


# --- checks -------------------------------------------------------------------------------------


def check_channel(channel: str, field: str = "channel") -> None:
    if channel not in CHANNELS:
        raise InvalidArgument.field(field, f"must be one of {', '.join(CHANNELS)}")


def check_template_text(key: str, subject: str, body: str) -> None:
    """Raises InvalidArgument naming every problem of a template's text."""
    violations: list[FieldViolation] = []
    if not TEMPLATE_KEY.match(key):
        violations.append(
            FieldViolation("key", "must be 3 to 64 lower-case letters, digits or _, starting with a letter")
        )
    if len(subject) > MAX_SUBJECT_LENGTH:
        violations.append(FieldViolation("subject", f"must be at most {MAX_SUBJECT_LENGTH} characters"))
    if not body.strip():
        violations.append(FieldViolation("body", "must not be blank"))
    if len(body) > MAX_BODY_LENGTH:
        violations.append(FieldViolation("body", f"must be at most {MAX_BODY_LENGTH} characters"))
    occasion = OCCASIONS.get(key)
    for field, text in (("subject", subject), ("body", body)):
        violations += [FieldViolation(field, problem, "MALFORMED_PLACEHOLDER") for problem in malformed_braces(text)]
        if occasion is not None:
            unknown = [name for name in placeholders(text) if name not in occasion.parameters]
            if unknown:
                names = ", ".join("{{" + name + "}}" for name in unknown)
                known = ", ".join("{{" + name + "}}" for name in occasion.parameters)
                violations.append(
                    FieldViolation(field, f"{names} unknown: {key} templates can use {known}", "UNKNOWN_PLACEHOLDER")
                )
    if violations:
        raise InvalidArgument(*violations)


# --- aggregates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    template_id: UUID
    template_key: str
    template_version: int
    channel: str
    subject: str
    body: str


class Template(Aggregate):
    """The text of one kind of notification on one channel; every revision is a new version.

    Its id follows from (key, channel), so a key has one template per channel.
    """

    @staticmethod
    def create_id(key: str, channel: str, **_: object) -> UUID:
        return template_id(key, channel)

    @event("Created")
    def __init__(self, key: str, channel: str, subject: str, body: str) -> None:
        self.key = key
        self.channel = channel
        self.subject = subject
        self.body = body

    @classmethod
    def write(cls, key: str, channel: str, subject: str, body: str) -> Template:
        check_channel(channel)
        check_template_text(key, subject, body)
        return cls(key=key, channel=channel, subject=subject, body=body)

    def revise(self, subject: str, body: str) -> bool:
        """A new version with this text; the same text changes nothing (False)."""
        check_template_text(self.key, subject, body)
        if (subject, body) == (self.subject, self.body):
            return False
        self._revised(subject=subject, body=body)
        return True

    @event("Revised")
    def _revised(self, subject: str, body: str) -> None:
        self.subject = subject
        self.body = body

    def render(self, parameters: Mapping[str, str]) -> Rendered:
        name = f"{self.key} ({self.channel}, version {self.version})"
        return Rendered(
            template_id=self.id,
            template_key=self.key,
            template_version=self.version,
            channel=self.channel,
            subject=render(self.subject, parameters, name),
            body=render(self.body, parameters, name),
        )


def template_id(key: str, channel: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/motcua/notifications/templates/{key}/{channel}")


class Notification(Aggregate):
    """One message to one recipient on one channel, rendered from one template version.

    Its id follows from what caused it (an integration event, a request id), so
    the same cause cannot produce two notifications for the same recipient and channel.
    In-app notifications are delivered when they are created: the inbox is the channel.
    """

    # The @event decorator defines these event classes at run time, from the methods below;
    # declared here for the type checker alone (annotations at run time would make
    # eventsourcing turn the aggregate into a dataclass).
    if TYPE_CHECKING:
        class Read(Aggregate.Event):
            read_time: datetime

        class AttemptStarted(Aggregate.Event):
            attempt: int

        class AttemptFailed(Aggregate.Event):
            attempt: int
            error: str
            next_attempt_time: datetime

        class ProviderAccepted(Aggregate.Event):
            provider: str
            provider_id: str
            confirm_by: datetime | None

        class ConfirmationOverdue(Aggregate.Event):
            error: str

        class GaveUp(Aggregate.Event):
            error: str
            bounced: bool

        class DeliveryReported(Aggregate.Event):
            delivered: bool
            error: str
            bounced: bool

    @staticmethod
    def create_id(cause: str, channel: str, recipient_account_id: UUID | None, address: str = "", **_: object) -> UUID:
        return notification_id(cause, channel, recipient_account_id, address)

    @event("Created")
    def __init__(
        self,
        cause: str,
        channel: str,
        recipient_account_id: UUID | None,
        address: str,
        template_id: UUID,
        template_key: str,
        template_version: int,
        subject: str,
        body: str,
        dossier_id: UUID | None,
        state: str,
        sent_by: str = "",
        parameters: dict[str, str] | None = None,
        not_before: datetime | None = None,
    ) -> None:
        self.cause = cause
        self.channel = channel
        self.recipient_account_id = recipient_account_id
        self.address = address
        self.template_id = template_id
        self.template_key = template_key
        self.template_version = template_version
        self.subject = subject
        self.body = body
        self.dossier_id = dossier_id
        self.state = state
        # Who sent it: the caller's subject; empty when the service itself notifies of an event.
        self.sent_by = sent_by
        self.attempt_count = 0
        self.read_time: datetime | None = None
        # The template's parameters: a channel whose provider keeps the text (Zalo ZNS) gets
        # these rather than the rendered text. Empty for notifications recorded before.
        self.parameters = dict(parameters or {})
        # Not to be sent before (quiet hours); None: at once.
        self.not_before = not_before
        self.provider = ""
        self.provider_id = ""
        self.last_error = ""
        self.unconfirmed = False  # no receipt came in time (the notice went out on the next channel)

    @classmethod
    def from_template(
        cls,
        cause: str,
        rendered: Rendered,
        recipient_account_id: UUID | None,
        address: str = "",
        dossier_id: UUID | None = None,
        sent_by: str = "",
        parameters: Mapping[str, str] | None = None,
        not_before: datetime | None = None,
    ) -> Notification:
        if rendered.channel == IN_APP and recipient_account_id is None:
            raise InvalidArgument.field("recipient_account_id", "in-app notifications go to an account: it is required")
        if recipient_account_id is None and not address:
            raise InvalidArgument.field("recipient_account_id", "either recipient_account_id or address is required")
        return cls(
            cause=cause,
            channel=rendered.channel,
            recipient_account_id=recipient_account_id,
            address=address,
            template_id=rendered.template_id,
            template_key=rendered.template_key,
            template_version=rendered.template_version,
            subject=rendered.subject,
            body=rendered.body,
            dossier_id=dossier_id,
            state=DELIVERED if rendered.channel == IN_APP else QUEUED,
            sent_by=sent_by,
            parameters=dict(parameters or {}),
            not_before=not_before if rendered.channel != IN_APP else None,
        )

    def mark_read(self, at: datetime) -> bool:
        """Records when the recipient read it; reading it again changes nothing (False)."""
        if self.channel != IN_APP:
            raise NotInInbox(f"notification {self.id}", f"a {self.channel} notification", "mark as read")
        if self.read_time is not None:
            return False
        self._read(read_time=at)
        return True

    @event("Read")
    def _read(self, read_time: datetime) -> None:
        self.read_time = read_time

    # --- delivery life cycle (channels other than in-app) -----------------------------------------

    @property
    def is_pending(self) -> bool:
        """Still to be handed to its provider: queued, or caught mid-attempt by a crash (the
        provider then recognises the repeated request by the notification id)."""
        return self.channel != IN_APP and self.state in (QUEUED, SENDING)

    def start_attempt(self) -> int:
        """The next attempt at handing it to the provider begins; its number."""
        if not self.is_pending:
            raise InvalidTransition(f"notification {self.id}", f"a {self.state} notification", "send")
        self._attempt_started(attempt=self.attempt_count + 1)
        return self.attempt_count

    @event("AttemptStarted")
    def _attempt_started(self, attempt: int) -> None:
        self.attempt_count = attempt
        self.state = SENDING

    def attempt_failed(self, error: str, next_attempt_time: datetime) -> None:
        """A transient failure: queued again for ``next_attempt_time``."""
        self._require(SENDING, "record a failed attempt of")
        self._attempt_failed(attempt=self.attempt_count, error=error, next_attempt_time=next_attempt_time)

    @event("AttemptFailed")
    def _attempt_failed(self, attempt: int, error: str, next_attempt_time: datetime) -> None:
        self.state = QUEUED
        self.last_error = error

    def provider_accepted(self, provider: str, provider_id: str, confirm_by: datetime | None = None) -> None:
        """The provider took it (``provider_id`` is its id there); delivery is reported later,
        by ``confirm_by`` if given (else the notice is sent again on the next channel)."""
        self._require(SENDING, "record as sent")
        self._provider_accepted(provider=provider, provider_id=provider_id, confirm_by=confirm_by)

    @event("ProviderAccepted")
    def _provider_accepted(self, provider: str, provider_id: str, confirm_by: datetime | None = None) -> None:
        self.state = SENT
        self.provider = provider
        self.provider_id = provider_id

    def confirmation_overdue(self, waited: str) -> bool:
        """No receipt came in time: it stays sent (a late receipt still counts), and the caller
        falls back to the next channel. Once only (False after)."""
        if self.state != SENT or self.unconfirmed:
            return False
        self._confirmation_overdue(error=f"not confirmed within {waited}")
        return True

    @event("ConfirmationOverdue")
    def _confirmation_overdue(self, error: str) -> None:
        self.last_error = error
        self.unconfirmed = True

    def give_up(self, error: str, bounced: bool = False) -> None:
        """No more attempts: a permanent failure, or the last attempt failed (a dead letter)."""
        if not self.is_pending:
            raise InvalidTransition(f"notification {self.id}", f"a {self.state} notification", "give up")
        self._gave_up(error=error, bounced=bounced)

    @event("GaveUp")
    def _gave_up(self, error: str, bounced: bool) -> None:
        self.state = BOUNCED if bounced else FAILED
        self.last_error = error

    def report_delivery(self, delivered: bool, error: str = "", bounced: bool = False) -> bool:
        """The provider's receipt. Receipts come again (providers retry their callbacks): one
        that changes nothing is ignored (False); a final state is never left."""
        if self.channel == IN_APP or self.state in FINAL_STATES or self.state != SENT:
            return False
        self._delivery_reported(delivered=delivered, error=error, bounced=bounced)
        return True

    @event("DeliveryReported")
    def _delivery_reported(self, delivered: bool, error: str, bounced: bool) -> None:
        self.state = DELIVERED if delivered else BOUNCED if bounced else FAILED
        if error:
            self.last_error = error

    def _require(self, state: str, action: str) -> None:
        if self.state != state:
            raise InvalidTransition(f"notification {self.id}", f"a {self.state} notification", action)


def notification_id(cause: str, channel: str, recipient_account_id: UUID | None, address: str = "") -> UUID:
    recipient = str(recipient_account_id) if recipient_account_id else f"address:{address}"
    return uuid5(NAMESPACE_URL, f"/motcua/notifications/{cause}/{channel}/{recipient}")


class DossierReplica(Aggregate):
    """What this service knows of a dossier, from the dossiers service's events: the
    agencies whose officers may notify its applicant about it, and that applicant's account.
    Its id is the dossier's."""

    @staticmethod
    def create_id(dossier_id: UUID, **_: object) -> UUID:
        return dossier_id

    @event("Replicated")
    def __init__(self, dossier_id: UUID, code: str, agency_id: str, handling_agency_id: str,
                 applicant_account_id: UUID | None) -> None:
        self._set(code, agency_id, handling_agency_id, applicant_account_id)

    def update(self, code: str, agency_id: str, handling_agency_id: str, applicant_account_id: UUID | None) -> bool:
        """Records what changed (a code given at submission, a transfer); False when nothing did."""
        handling_agency_id = handling_agency_id or agency_id
        if (code, agency_id, handling_agency_id, applicant_account_id) == (
            self.code, self.agency_id, self.handling_agency_id, self.applicant_account_id
        ):
            return False
        self._updated(code=code, agency_id=agency_id, handling_agency_id=handling_agency_id,
                      applicant_account_id=applicant_account_id)
        return True

    @event("Updated")
    def _updated(self, code: str, agency_id: str, handling_agency_id: str, applicant_account_id: UUID | None) -> None:
        self._set(code, agency_id, handling_agency_id, applicant_account_id)

    def assign(self, assignee: UUID) -> bool:
        """Records the officer now holding the dossier (told of its deadlines); False if
        unchanged."""
        if getattr(self, "assignee", None) == assignee:
            return False
        self._assigned(assignee=assignee)
        return True

    @event("Assigned")
    def _assigned(self, assignee: UUID) -> None:
        self.assignee = assignee

    def _set(self, code: str, agency_id: str, handling_agency_id: str, applicant_account_id: UUID | None) -> None:
        self.code = code
        self.agency_id = agency_id
        self.handling_agency_id = handling_agency_id or agency_id
        self.applicant_account_id = applicant_account_id


class AgencyLeaders(Aggregate):
    """The heads of one agency (its accounts granted the leader role at it), from identity's
    role events: they hear of the agency's overdue dossiers besides the officer holding them.
    Its id follows from the agency's electronic identifier."""

    @staticmethod
    def create_id(agency_id: str, **_: object) -> UUID:
        return agency_leaders_id(agency_id)

    @event("Started")
    def __init__(self, agency_id: str) -> None:
        self.agency_id = agency_id
        self.leaders: list[UUID] = []

    def grant(self, account_id: UUID) -> bool:
        if account_id in self.leaders:
            return False
        self._granted(account_id=account_id)
        return True

    @event("Granted")
    def _granted(self, account_id: UUID) -> None:
        self.leaders = [*self.leaders, account_id]

    def revoke(self, account_id: UUID) -> bool:
        if account_id not in self.leaders:
            return False
        self._revoked(account_id=account_id)
        return True

    @event("Revoked")
    def _revoked(self, account_id: UUID) -> None:
        self.leaders = [leader for leader in self.leaders if leader != account_id]


def agency_leaders_id(agency_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/motcua/notifications/agency-leaders/{agency_id}")


class ContactPoints(Aggregate):
    """Where an account is reached on each channel: its e-mail address, its phone number for
    SMS and the one of its Zalo account (E.164). Kept by this service alone: integration
    events name accounts, never addresses. Its id is the account's."""

    @staticmethod
    def create_id(account_id: UUID, **_: object) -> UUID:
        return account_id

    @event("Recorded")
    def __init__(self, account_id: UUID, email: str, phone: str, zalo_phone: str,
                 opted_out: list[str] | None = None) -> None:
        self.email = email
        self.phone = phone
        self.zalo_phone = zalo_phone
        self.opted_out = sorted(set(opted_out or []))

    def change(self, email: str, phone: str, zalo_phone: str, opted_out: list[str] | None = None) -> bool:
        opted_out = sorted(set(opted_out or []))
        if (email, phone, zalo_phone, opted_out) == (self.email, self.phone, self.zalo_phone, self.opted_out):
            return False
        self._changed(email=email, phone=phone, zalo_phone=zalo_phone, opted_out=opted_out)
        return True

    @event("Changed")
    def _changed(self, email: str, phone: str, zalo_phone: str, opted_out: list[str] | None = None) -> None:
        self.email = email
        self.phone = phone
        self.zalo_phone = zalo_phone
        self.opted_out = list(opted_out or [])

    def reachable(self, candidates: list[str], statutory: bool) -> list[str]:
        """The channels of ``candidates`` (in order) this account can be reached on and wants:
        the opted-out ones are left out, unless the notice is statutory and no other channel
        reaches the account (a statutory notice is redirected, never dropped)."""
        addressed = [c for c in candidates if self.address_for(c)]
        wanted = [c for c in addressed if c not in self.opted_out]
        return wanted if wanted or not statutory else addressed

    def address_for(self, channel: str) -> str:
        return {EMAIL: self.email, SMS: self.phone, ZALO: self.zalo_phone}.get(channel, "")


class NotInInbox(InvalidTransition):
    """Only in-app notifications are in the inbox, and only those are read there."""


class DuplicateTemplate(AlreadyExists):
    """A template with this key and channel exists: revise it instead."""
