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


def _when(value: str | None) -> str:
    return clock_and_date(datetime.fromisoformat(value)) if value else ""


def render(export: Mapping[str, Any]) -> bytes:
    exported_at = datetime.fromisoformat(export["exported_at"])
    page = FormPage(TITLE, created_at=exported_at, page_numbers=True)
    page.form_title(TITLE, f"Trích xuất lúc {clock_and_date(exported_at)}")
    page.paragraph("Theo Nghị định số 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân, dưới đây là toàn bộ dữ "
                   "liệu cá nhân của chủ thể dữ liệu mà hệ thống một cửa đang lưu giữ trong hồ sơ thủ tục hành chính.")
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
    return page.to_bytes()
