"""Form 02: the supplement request (phiếu yêu cầu bổ sung, hoàn thiện hồ sơ), naming every
faulty item at once so that the applicant comes back only once."""

from __future__ import annotations

from .layout import FormPage, Signature
from .model import SupplementRequest
from .wording import clock_and_date, local

TITLE = "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"


def render(request: SupplementRequest) -> bytes:
    dossier, applicant, agency = request.dossier, request.dossier.applicant, request.dossier.agency
    page = FormPage(f"{TITLE} – {dossier.code}", created_at=request.issued_at)
    page.form_number("02")
    page.national_header(agency, local(request.issued_at).date(), qr=dossier.code)
    page.form_title(TITLE, code=dossier.code)
    page.field("Nơi tiếp nhận", f"{agency.desk} – {agency.name}")
    page.field("Hồ sơ của", applicant.full_name, strong=True)
    page.field("Nội dung yêu cầu giải quyết", dossier.procedure_name, strong=True)
    page.field("Địa chỉ", applicant.address)
    page.field("Số điện thoại", applicant.phone, ("Thư điện tử", applicant.email))
    if dossier.received_at is not None:
        page.field("Thời gian nộp hồ sơ", clock_and_date(dossier.received_at))
    page.text_line("Yêu cầu bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:")
    page.grid(
        ("STT", "Thành phần hồ sơ", "Nội dung cần bổ sung, hoàn thiện"),
        [(str(i), item.document, item.request) for i, item in enumerate(request.faulty_items, start=1)],
        widths=(12, 60, page.epw - 72),
        aligns=("C", "L", "L"),
    )
    if request.reason.strip():
        page.field("Lý do", request.reason)
    contact = request.guided_by + (f", số điện thoại {request.contact_phone}" if request.contact_phone else "")
    page.paragraph(
        "Ông/Bà vui lòng bổ sung, hoàn thiện hồ sơ theo các nội dung trên. Trong quá trình hoàn thiện "
        f"hồ sơ, nếu có vướng mắc, Ông/Bà liên hệ với {contact} để được hướng dẫn."
    )
    page.signatures([Signature("Người hướng dẫn", request.guided_by)])
    return page.to_bytes()
