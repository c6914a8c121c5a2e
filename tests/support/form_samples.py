"""A sample of each form, filled with realistic data, for people to look at and for the forms'
tests: ``python -m tests.support.form_samples demo OUTDIR`` writes a PDF of each (demo data:
it stays with the tests, out of the service)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from motcua.clock import WorkingDays, due
from motcua.dossiers.domain.deadlines import default_calendar
from motcua.dossiers.domain.values import dossier_code
from motcua.dossiers.forms import Form, render
from motcua.dossiers.forms.model import (
    EARLY,
    LATE,
    ON_TIME,
    Agency,
    Apology,
    Applicant,
    ControlSlip,
    DossierFacts,
    FaultyItem,
    HandOver,
    ReceiptSlip,
    Refusal,
    SubmittedDocument,
    SupplementRequest,
    TrackingBook,
    TrackingEntry,
)
from motcua.kernel.localtime import VIETNAM


def after_working_days(start: datetime, days: int) -> datetime:
    """When `days` working days after `start` end, by the statutory clock on the default
    (Monday–Friday) calendar: sample dates need no published calendar."""
    return due(start, WorkingDays(days), default_calendar(start)).due_at

AGENCY = Agency(
    name="Ủy ban nhân dân xã Đông Sơn",
    parent="Ủy ban nhân dân tỉnh Thanh Hóa",
    place="Đông Sơn",
)
AGENCY_EID = "000.00.12.H56"
RECEIVED = datetime(2026, 1, 5, 8, 30, tzinfo=VIETNAM)
APPOINTED = after_working_days(RECEIVED, 3)
APPLICANT = Applicant(
    full_name="Nguyễn Thị Hồng Nhung",
    address="Thôn Phú Minh, xã Đông Sơn, tỉnh Thanh Hóa",
    phone="0912 345 678",
    email="hongnhung@example.vn",
)
DOSSIER = DossierFacts(
    code=dossier_code(AGENCY_EID, RECEIVED.date(), 1),
    procedure_name="Đăng ký khai sinh",
    applicant=APPLICANT,
    agency=AGENCY,
    received_at=RECEIVED,
    appointed_at=APPOINTED,
)
OFFICER = "Lê Văn Thành"

NAMES = ("Trần Quốc Bảo", "Phạm Thị Thu Hà", "Hoàng Đức Việt", "Đặng Thị Ngọc Ánh", "Vũ Minh Khôi",
         "Bùi Thị Lan Hương", "Đỗ Quang Huy", "Ngô Thị Thủy", "Dương Văn Lực", "Lý Thị Yến")
PROCEDURES = ("Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử", "Chứng thực bản sao từ bản chính",
              "Đăng ký thường trú", "Cấp bản sao trích lục hộ tịch")


def receipt_slip() -> ReceiptSlip:
    return ReceiptSlip(
        dossier=DOSSIER,
        documents=(
            SubmittedDocument("Tờ khai đăng ký khai sinh theo mẫu", originals=1),
            SubmittedDocument("Giấy chứng sinh do cơ sở y tế cấp", originals=1),
            SubmittedDocument("Giấy chứng nhận kết hôn của cha, mẹ", copies=1),
        ),
        processing_days=3,
        result_delivery="desk",
        received_by=OFFICER,
        register_entry="Quyển số 01, số thứ tự 15",
    )


def supplement_request() -> SupplementRequest:
    return SupplementRequest(
        dossier=DOSSIER,
        faulty_items=(
            FaultyItem("Tờ khai đăng ký khai sinh", "Ghi rõ quê quán của người cha theo Giấy chứng nhận kết hôn"),
            FaultyItem("Giấy chứng sinh", "Nộp bản chính; bản chụp không có chứng thực không được chấp nhận"),
            FaultyItem(
                "Văn bản ủy quyền", "Bổ sung văn bản ủy quyền có chứng thực vì người nộp không phải cha, mẹ của trẻ"
            ),
        ),
        issued_at=RECEIVED + timedelta(hours=1),
        guided_by=OFFICER,
        reason="Hồ sơ chưa đầy đủ, chưa hợp lệ theo quy định của Luật Hộ tịch.",
        contact_phone="0237 3856 123",
    )


def refusal() -> Refusal:
    return Refusal(
        dossier=DOSSIER,
        reasons=(
            "Việc khai sinh cho trẻ đã được đăng ký tại Ủy ban nhân dân phường Hạc Thành.",
            "Yêu cầu cấp lại bản chính Giấy khai sinh thuộc thẩm quyền của nơi đã đăng ký khai sinh trước đây.",
        ),
        issued_at=RECEIVED + timedelta(hours=2),
        refused_by=OFFICER,
    )


def apology() -> Apology:
    return Apology(
        dossier=DOSSIER,
        reason="Cần xác minh thông tin về nơi cư trú của người mẹ với Công an xã.",
        new_appointed_at=after_working_days(APPOINTED, 2),
        issued_at=APPOINTED - timedelta(days=1),
        signer_title="Chủ tịch",
        signer_name="Phạm Văn Đông",
        on_behalf_of="TM. ỦY BAN NHÂN DÂN",
    )


def control_slip() -> ControlSlip:
    start = RECEIVED

    def at(days: int, hour: int, minute: int) -> datetime:
        end = after_working_days(start, days) if days else start
        return end.astimezone(VIETNAM).replace(hour=hour, minute=minute)

    return ControlSlip(
        dossier=DOSSIER,
        lead_unit="Công chức Tư pháp - Hộ tịch, Ủy ban nhân dân xã Đông Sơn",
        partner_units=("Công an xã Đông Sơn",),
        hand_overs=(
            HandOver("Bộ phận Một cửa", OFFICER, "Công chức Tư pháp - Hộ tịch", "Trịnh Thị Mai", at(0, 9, 15), ON_TIME),
            HandOver("Công chức Tư pháp - Hộ tịch", "Trịnh Thị Mai", "Văn phòng HĐND và UBND xã", "Nguyễn Hữu Phước",
                     at(1, 14, 0), EARLY, "Đã thẩm định"),
            HandOver("Văn phòng HĐND và UBND xã", "Nguyễn Hữu Phước", "Chủ tịch UBND xã", "Phạm Văn Đông",
                     at(2, 8, 0), ON_TIME, "Trình ký"),
            HandOver("Chủ tịch UBND xã", "Phạm Văn Đông", "Bộ phận Một cửa", OFFICER, at(3, 16, 30), LATE,
                     "Ký chậm do đi công tác"),
        ),
    )


def tracking_book(count: int = 40) -> TrackingBook:
    entries = []
    for i in range(count):
        received = RECEIVED + timedelta(days=i // 4, minutes=40 * (i % 4))
        appointed = after_working_days(received, 3)
        entries.append(TrackingEntry(
            code=dossier_code(AGENCY_EID, received.date(), i % 4 + 1),
            procedure_name=PROCEDURES[i % len(PROCEDURES)],
            applicant_name=NAMES[i % len(NAMES)],
            applicant_contact=f"Thôn {('Phú Minh', 'Trung Tiến', 'Đồng Lạc')[i % 3]}, xã Đông Sơn; 09{i:08d}",
            lead_agency="UBND xã Đông Sơn",
            received_at=received,
            appointed_at=appointed,
            transferred_to="Công chức Tư pháp - Hộ tịch",
            returned_at=appointed - timedelta(hours=1) if i % 3 else None,
            result_received_by=NAMES[i % len(NAMES)] if i % 3 else "",
            note="Chờ xác minh" if i % 7 == 3 else "",
        ))
    return TrackingBook(
        agency=AGENCY,
        entries=tuple(entries),
        period_start=date(2026, 1, 5),
        period_end=date(2026, 1, 30),
        volume="01",
        issued_at=datetime(2026, 1, 30, 17, 0, tzinfo=VIETNAM),
    )


SAMPLES: dict[str, Callable[[], Form]] = {
    "01-giay-tiep-nhan-va-hen-tra-ket-qua": receipt_slip,
    "02-phieu-yeu-cau-bo-sung-hoan-thien-ho-so": supplement_request,
    "03-phieu-tu-choi-tiep-nhan-giai-quyet-ho-so": refusal,
    "04-phieu-xin-loi-va-hen-lai-ngay-tra-ket-qua": apology,
    "06-phieu-kiem-soat-qua-trinh-giai-quyet-ho-so": control_slip,
    "07-so-theo-doi-ho-so": tracking_book,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.form_samples",
        description="The one-stop-shop forms as PDFs in Vietnamese, filled with sample data.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="write a sample PDF of each form into OUTDIR")
    demo.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    for name, sample in SAMPLES.items():
        path = args.outdir / f"{name}.pdf"
        path.write_bytes(render(sample()))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
