"""Form 03: the refusal (phiếu từ chối tiếp nhận, giải quyết hồ sơ), with its reasons."""

from __future__ import annotations

from .layout import FormPage, Signature
from .model import Refusal
from .wording import clock_and_date, local

TITLE = "Phiếu từ chối tiếp nhận, giải quyết hồ sơ"


def render(refusal: Refusal) -> bytes:
    dossier, applicant, agency = refusal.dossier, refusal.dossier.applicant, refusal.dossier.agency
    page = FormPage(f"{TITLE} – {dossier.code}", created_at=refusal.issued_at)
    page.form_number("03")
    page.national_header(agency, local(refusal.issued_at).date(), qr=dossier.code)
    page.form_title(TITLE, code=dossier.code)
    page.field("Nơi tiếp nhận", f"{agency.desk} – {agency.name}")
    page.field("Tiếp nhận hồ sơ của", applicant.full_name, strong=True)
    page.field("Địa chỉ", applicant.address)
    page.field("Số điện thoại", applicant.phone, ("Thư điện tử", applicant.email))
    page.field("Nội dung yêu cầu giải quyết", dossier.procedure_name, strong=True)
    if dossier.received_at is not None:
        page.field("Thời gian nộp hồ sơ", clock_and_date(dossier.received_at))
    page.paragraph(
        f"Qua xem xét, {agency.name} thông báo không tiếp nhận, giải quyết hồ sơ này "
        "với lý do cụ thể như sau:"
    )
    page.numbered([reason for reason in refusal.reasons if reason.strip()])
    page.paragraph("Xin thông báo để Ông/Bà được biết và thực hiện./.")
    page.signatures([Signature("Người tiếp nhận hồ sơ", refusal.refused_by)])
    return page.to_bytes()
