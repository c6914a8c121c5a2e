"""A person's data as this service holds it (Decree 13/2023/NĐ-CP, the right of access), as a
readable PDF in Vietnamese: the same document as the JSON export, laid out on the forms' page.

Pure: the export's plain data in, PDF bytes out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .layout import FormPage
from .wording import clock_and_date

TITLE = "Thông tin cá nhân đang được lưu giữ"

APPLICANT_LABELS = (
    ("full_name", "Họ và tên"),
    ("identity_number", "Số định danh / mã số thuế"),
    ("phone", "Số điện thoại"),
    ("email", "Thư điện tử"),
    ("address", "Địa chỉ"),
)
STATES = {
    "draft": "Bản nháp", "submitted": "Đã nộp", "received": "Đã tiếp nhận", "in_process": "Đang giải quyết",
    "awaiting_supplement": "Chờ bổ sung", "result_ready": "Có kết quả", "returned": "Đã trả kết quả",
    "withdrawn": "Đã rút", "refused": "Từ chối",
}


ACCOUNT_LABELS = (
    ("display_name", "Họ và tên"),
    ("login", "Tên đăng nhập"),
    ("personal_id_number", "Số định danh cá nhân"),
    ("tax_code", "Mã số thuế"),
    ("phone", "Số điện thoại"),
    ("email", "Thư điện tử"),
    ("agency_id", "Cơ quan"),
    ("unit", "Đơn vị"),
)
ACCOUNT_STATES = {"active": "Đang hoạt động", "disabled": "Đã khóa"}
OUTCOMES = {"succeeded": "Thành công", "failed": "Không thành công"}
CHANNELS = {"in_app": "Trong ứng dụng", "email": "Thư điện tử", "sms": "Tin nhắn SMS", "zalo": "Zalo"}
DELIVERY_STATES = {
    "queued": "Chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "delivered": "Đã nhận", "failed": "Gửi lỗi",
    "bounced": "Bị trả lại",
}
SERVICES = {"identity": "tài khoản", "notifications": "thông báo"}


def _when(value: str | None) -> str:
    return clock_and_date(datetime.fromisoformat(value)) if value else ""


def render(export: Mapping[str, Any]) -> bytes:
    exported_at = datetime.fromisoformat(export["exported_at"])
    page = FormPage(TITLE, created_at=exported_at, page_numbers=True)
    page.form_title(TITLE, f"Trích xuất lúc {clock_and_date(exported_at)}")
    page.paragraph("Theo Nghị định số 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân, dưới đây là toàn bộ dữ "
                   "liệu cá nhân của chủ thể dữ liệu mà hệ thống một cửa đang lưu giữ: hồ sơ thủ tục hành "
                   "chính, tài khoản và thông báo.")
    page.gap()
    page.field("Số hồ sơ", str(len(export["dossiers"])))
    for number, dossier in enumerate(export["dossiers"], start=1):
        page.gap(4)
        page.text_line(f"{number}. Hồ sơ {dossier['code'] or dossier['dossier_id']}", "B")
        page.field("Thủ tục", dossier["procedure_name"])
        page.field("Cơ quan tiếp nhận", dossier["agency_id"])
        page.field("Trạng thái", STATES.get(dossier["state"], dossier["state"]))
        page.field("Ngày nộp", _when(dossier["submitted_at"]), ("Ngày trả kết quả", _when(dossier["returned_at"])))
        applicant = dossier["applicant"]
        for key, label in APPLICANT_LABELS:
            page.field(label, applicant.get(key, ""))
        if dossier["attachments"]:
            page.text_line("Tệp đính kèm:")
            page.grid(("STT", "Tên tệp", "SHA-256"),
                      [(str(i), a["name"], a["sha256"]) for i, a in enumerate(dossier["attachments"], start=1)],
                      widths=(12, 60, page.epw - 72), aligns=("C", "L", "L"))
    _account(page, export.get("account"))
    _notifications(page, export.get("notifications"))
    missing = [SERVICES.get(name, name) for name in export.get("not_gathered", ())]
    if missing:
        page.gap(4)
        page.paragraph("Bản trích xuất này chưa gồm dữ liệu về " + ", ".join(missing) +
                       " (dịch vụ lưu giữ chưa được kết nối).", "I")
    return page.to_bytes()


def _account(page: FormPage, document: Mapping[str, Any] | None) -> None:
    if not document:
        return
    account = document["account"]
    page.gap(4)
    page.text_line("Tài khoản", "B")
    for key, label in ACCOUNT_LABELS:
        if account.get(key):
            page.field(label, account[key])
    page.field("Trạng thái", ACCOUNT_STATES.get(account["state"], account["state"]),
               ("Ngày mở", _when(account["created_at"])))
    page.field("Xác thực hai yếu tố", "Có" if account.get("second_factor") else "Không")
    if document["grants"]:
        page.field("Vai trò", "; ".join(f"{g['role']} tại {g['agency_id']}" for g in document["grants"]))
    if document["sign_ins"]:
        page.text_line(f"Lịch sử đăng nhập ({len(document['sign_ins'])} lần):")
        page.grid(("Thời điểm", "Kết quả", "Địa chỉ"),
                  [(_when(s["at"]), OUTCOMES.get(s["outcome"], s["outcome"]), s["source_address"])
                   for s in document["sign_ins"]],
                  widths=(50, 40, page.epw - 90), aligns=("L", "L", "L"))


def _notifications(page: FormPage, document: Mapping[str, Any] | None) -> None:
    if not document:
        return
    page.gap(4)
    page.text_line("Thông báo", "B")
    contacts = document.get("contact_points")
    if contacts:
        page.field("Thư điện tử nhận thông báo", contacts["email"] or "")
        page.field("Số điện thoại nhận thông báo", contacts["phone"] or "",
                   ("Zalo", contacts["zalo_phone"] or ""))
    page.field("Số thông báo", str(len(document["notifications"])))
    for number, notice in enumerate(document["notifications"], start=1):
        page.gap(2)
        page.text_line(f"{number}. {notice['subject'] or CHANNELS.get(notice['channel'], notice['channel'])}")
        page.field("Kênh", CHANNELS.get(notice["channel"], notice["channel"]),
                   ("Tình trạng", DELIVERY_STATES.get(notice["state"], notice["state"])))
        page.field("Thời điểm", _when(notice["created_at"]), ("Gửi tới", notice["address"] or ""))
        page.paragraph(notice["body"])
