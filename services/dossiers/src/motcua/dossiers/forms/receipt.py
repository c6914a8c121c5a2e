"""Form 01: the receipt and appointment slip (giấy tiếp nhận hồ sơ và hẹn trả kết quả)."""

from __future__ import annotations

from .layout import FormPage, Signature
from .model import ReceiptSlip
from .wording import clock_and_date, delivery_words, local

TITLE = "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"


def render(slip: ReceiptSlip) -> bytes:
    dossier, applicant, agency = slip.dossier, slip.dossier.applicant, slip.dossier.agency
    assert dossier.received_at is not None and dossier.appointed_at is not None  # checked by ReceiptSlip
    page = FormPage(f"{TITLE} – {dossier.code}", created_at=dossier.received_at)
    page.form_number("01")
    page.national_header(agency, local(dossier.received_at).date(), qr=dossier.code)
    page.form_title(TITLE, code=dossier.code)
    page.field("Nơi tiếp nhận", f"{agency.desk} – {agency.name}")
    page.field("Tiếp nhận hồ sơ của", applicant.full_name, strong=True)
    page.field("Địa chỉ", applicant.address)
    page.field("Số điện thoại", applicant.phone, ("Thư điện tử", applicant.email))
    page.field("Nội dung yêu cầu giải quyết", dossier.procedure_name, strong=True)
    if not slip.documents:
        page.field("1. Thành phần hồ sơ nộp gồm", "không có giấy tờ kèm theo")
    else:
        page.text_line("1. Thành phần hồ sơ nộp gồm:")
        page.grid(
            ("STT", "Tên giấy tờ", "Bản chính", "Bản sao"),
            [(str(i), d.name, str(d.originals), str(d.copies)) for i, d in enumerate(slip.documents, start=1)],
            widths=(12, page.epw - 12 - 44, 22, 22),
            aligns=("C", "L", "C", "C"),
        )
    page.field("2. Số lượng hồ sơ", f"{slip.sets:02d} bộ")
    page.field("3. Thời gian giải quyết hồ sơ theo quy định", f"{slip.processing_days} ngày làm việc")
    page.field("4. Thời gian nhận hồ sơ", clock_and_date(dossier.received_at))
    page.field("5. Thời gian trả kết quả giải quyết hồ sơ", clock_and_date(dossier.appointed_at), strong=True)
    page.field("6. Đăng ký nhận kết quả tại", delivery_words(slip.result_delivery, agency.desk))
    if slip.register_entry:
        page.field("Vào Sổ theo dõi hồ sơ", slip.register_entry)
    page.signatures([
        Signature("Người nộp hồ sơ", applicant.full_name),
        Signature("Người tiếp nhận hồ sơ", slip.received_by),
    ])
    return page.to_bytes()
