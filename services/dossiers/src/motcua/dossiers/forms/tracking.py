"""Form 07: the tracking book (sổ theo dõi hồ sơ): one line per dossier, over as many
landscape pages as it takes, with the column headings repeated on each."""

from __future__ import annotations

from .layout import TABLE_PT, FormPage
from .model import TrackingBook
from .wording import composed, local, short_clock_and_date, short_date

TITLE = "Sổ theo dõi hồ sơ"
BOOK_PT = TABLE_PT - 2.5

# Column headings and their share of the width left once the number, count, date and code
# columns have theirs.
TEXT_COLUMNS = (
    ("Tên thủ tục hành chính", 3.0),
    ("Tên cá nhân, tổ chức", 2.4),
    ("Địa chỉ, số điện thoại", 2.8),
    ("Cơ quan chủ trì giải quyết", 2.2),
    ("Chuyển hồ sơ đến cơ quan giải quyết", 2.0),
    ("Người nhận kết quả (ký nhận)", 1.8),
    ("Ghi chú", 1.2),
)
NUMBER_WIDTH, SETS_WIDTH, DATE_WIDTH = 9.0, 12.0, 19.0


def render(book: TrackingBook) -> bytes:
    page = FormPage(TITLE, landscape=True, created_at=book.issued_at, page_numbers=True)
    page.form_number("07")
    page.national_header(book.agency, local(book.issued_at).date() if book.issued_at else None, motto=False)
    period = f"Từ ngày {book.period_start:%d/%m/%Y} đến ngày {book.period_end:%d/%m/%Y}"
    page.form_title(TITLE, *([f"Quyển số: {book.volume}"] if book.volume else []), period)

    page.text_font("", BOOK_PT)
    code_width = max([page.get_string_width(composed(e.code)) for e in book.entries] + [20.0]) + 3.5
    fixed = NUMBER_WIDTH + SETS_WIDTH + 3 * DATE_WIDTH + code_width
    # A hair under the page width: summed back, the shares' rounding must not exceed it
    # (fpdf2 rejects a table wider than the page by even 1e-13 mm).
    unit = (page.epw - fixed - 0.01) / sum(share for _, share in TEXT_COLUMNS)
    text = {heading: share * unit for heading, share in TEXT_COLUMNS}
    columns = (
        ("STT", NUMBER_WIDTH, "C"),
        ("Mã hồ sơ", code_width, "C"),
        ("Tên thủ tục hành chính", text["Tên thủ tục hành chính"], "L"),
        ("Số lượng hồ sơ (bộ)", SETS_WIDTH, "C"),
        ("Tên cá nhân, tổ chức", text["Tên cá nhân, tổ chức"], "L"),
        ("Địa chỉ, số điện thoại", text["Địa chỉ, số điện thoại"], "L"),
        ("Cơ quan chủ trì giải quyết", text["Cơ quan chủ trì giải quyết"], "L"),
        ("Nhận hồ sơ", DATE_WIDTH, "C"),
        ("Hẹn trả kết quả", DATE_WIDTH, "C"),
        ("Chuyển hồ sơ đến cơ quan giải quyết", text["Chuyển hồ sơ đến cơ quan giải quyết"], "L"),
        ("Trả kết quả", DATE_WIDTH, "C"),
        ("Người nhận kết quả (ký nhận)", text["Người nhận kết quả (ký nhận)"], "L"),
        ("Ghi chú", text["Ghi chú"], "L"),
    )
    page.grid(
        [heading for heading, _, _ in columns],
        [
            (
                str(i),
                e.code,
                e.procedure_name,
                f"{e.sets:02d}",
                e.applicant_name,
                e.applicant_contact,
                e.lead_agency,
                short_clock_and_date(e.received_at),
                short_date(e.appointed_at),
                e.transferred_to,
                short_clock_and_date(e.returned_at) if e.returned_at else "",
                e.result_received_by,
                e.note,
            )
            for i, e in enumerate(book.entries, start=1)
        ],
        widths=[width for _, width, _ in columns],
        aligns=[align for _, _, align in columns],
        size=BOOK_PT,
    )
    return page.to_bytes()
