"""Form 06: the process control slip (phiếu kiểm soát quá trình giải quyết hồ sơ): every
hand-over of the dossier between units, with its time, the people who gave and took it,
and whether the step ended early, on time or late."""

from __future__ import annotations

from .layout import FormPage
from .model import ControlSlip
from .wording import OUTCOME_WORDS, clock_and_date, local

TITLE = "Phiếu kiểm soát quá trình giải quyết hồ sơ"
HEADINGS = (
    "STT",
    "TÊN CƠ QUAN",
    "THỜI GIAN GIAO, NHẬN HỒ SƠ",
    "KẾT QUẢ GIẢI QUYẾT HỒ SƠ (Trước hạn/Đúng hạn/Quá hạn)",
    "GHI CHÚ",
)


def render(slip: ControlSlip) -> bytes:
    dossier, applicant, agency = slip.dossier, slip.dossier.applicant, slip.dossier.agency
    first = slip.hand_overs[0].at if slip.hand_overs else dossier.received_at
    page = FormPage(f"{TITLE} – {dossier.code}", created_at=first, page_numbers=True)
    page.form_number("06")
    page.national_header(agency, local(first).date() if first else None, qr=dossier.code)
    page.form_title(TITLE, "(Kèm theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả)", code=dossier.code)
    page.field("Hồ sơ của", applicant.full_name, strong=True)
    page.field("Nội dung yêu cầu giải quyết", dossier.procedure_name, strong=True)
    page.field("Cơ quan (bộ phận) giải quyết hồ sơ", slip.lead_unit)
    page.field("Cơ quan phối hợp giải quyết hồ sơ", "; ".join(slip.partner_units) or "không có")
    page.gap(1)
    page.grid(
        HEADINGS,
        [
            (
                str(i),
                f"Giao: {h.from_unit}\nNhận: {h.to_unit}",
                f"{clock_and_date(h.at)}\nNgười giao: {h.from_person}\nNgười nhận: {h.to_person}",
                OUTCOME_WORDS.get(h.outcome, ""),
                h.note,
            )
            for i, h in enumerate(slip.hand_overs, start=1)
        ],
        widths=(10, 46, 56, 30, page.epw - 142),
        aligns=("C", "L", "L", "C", "L"),
    )
    return page.to_bytes()
