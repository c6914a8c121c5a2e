"""Form 04: the apology and new appointment (phiếu xin lỗi và hẹn lại ngày trả kết quả),
sent when a result will be late: the reason and the new date. Statistics still count the
dossier late against its original date."""

from __future__ import annotations

from .layout import FormPage, Signature
from .model import Apology
from .wording import clock_and_date, local

TITLE = "Phiếu xin lỗi và hẹn lại ngày trả kết quả"


def render(apology: Apology) -> bytes:
    dossier, applicant, agency = apology.dossier, apology.dossier.applicant, apology.dossier.agency
    assert dossier.received_at is not None and dossier.appointed_at is not None  # checked by Apology
    page = FormPage(f"{TITLE} – {dossier.code}", created_at=apology.issued_at)
    page.form_number("04")
    page.national_header(agency, local(apology.issued_at).date(), qr=dossier.code)
    page.form_title(TITLE, code=dossier.code)
    page.centred(f"Kính gửi: Ông/Bà {applicant.full_name}")
    page.gap(2)
    page.paragraph(
        f"{agency.name} xin lỗi Ông/Bà vì hồ sơ của Ông/Bà chưa được giải quyết và trả kết quả "
        "đúng thời hạn quy định."
    )
    page.field("Nội dung yêu cầu giải quyết", dossier.procedure_name, strong=True)
    page.field("Thời gian tiếp nhận hồ sơ", clock_and_date(dossier.received_at))
    page.field("Thời gian hẹn trả kết quả", clock_and_date(dossier.appointed_at))
    page.field("Lý do chậm trả kết quả", apology.reason)
    page.paragraph(
        "Sự chậm trễ này đã gây phiền hà, tốn kém thời gian, công sức của Ông/Bà. "
        f"{agency.name} xin tiếp nhận sự phản ánh, góp ý của Ông/Bà và mong nhận được sự thông cảm của Ông/Bà."
    )
    page.field("Thời gian hẹn lại trả kết quả", clock_and_date(apology.new_appointed_at), strong=True)
    page.paragraph("Xin trân trọng cảm ơn./.")
    page.signatures(
        [Signature(apology.signer_title, apology.signer_name, hint="(Ký, ghi rõ họ tên và đóng dấu)",
                   above=apology.on_behalf_of)],
        left_note=("Nơi nhận:", "- Như trên;", "- Lưu: VT."),
    )
    return page.to_bytes()
