"""The one-stop-shop forms as PDFs, read back with a real PDF parser, a real renderer and a
real QR decoder: Vietnamese text intact, fonts embedded, the dossier code scannable, and
each form's own content (every faulty item, every hand-over, every line of the book)."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import fontpkg
import pytest
from fontTools.ttLib import TTFont

from motcua.devstack import repo_root
from motcua.dossiers import forms
from motcua.dossiers.forms import (
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
from motcua.dossiers.forms.layout import FAMILY
from motcua.dossiers.forms.model import EARLY, LATE, ON_TIME
from motcua.dossiers.forms.wording import clock_and_date, delivery_words, long_date, place_and_date
from tests.dossiers.pdfread import flat_text, fonts, page_texts, qr_codes, reader
from tests.support import form_samples as samples

VN = timezone(timedelta(hours=7))
CODE = "000.00.12.H56-260105-0007"
NAME = "Nguyễn Thị Hồng Nhung"
PROCEDURE = "Đăng ký khai sinh"
AGENCY_NAME = "Ủy ban nhân dân xã Đông Sơn"
AGENCY = Agency(name=AGENCY_NAME, parent="Ủy ban nhân dân tỉnh Thanh Hóa", place="Đông Sơn")
RECEIVED = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam
APPOINTED = datetime(2026, 1, 8, 8, 30, tzinfo=VN)
DOSSIER = DossierFacts(
    code=CODE,
    procedure_name=PROCEDURE,
    applicant=Applicant(full_name=NAME, address="Thôn Phú Minh, xã Đông Sơn", phone="0912345678",
                        email="nhung@example.vn"),
    agency=AGENCY,
    received_at=RECEIVED,
    appointed_at=APPOINTED,
)
OFFICER = "Lê Văn Thành"
# Every Vietnamese letter with every tone mark, in both cases.
VIETNAMESE_LETTERS = "".join(sorted(set(
    "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ"
)))


def receipt() -> ReceiptSlip:
    return ReceiptSlip(
        dossier=DOSSIER,
        documents=(SubmittedDocument("Tờ khai đăng ký khai sinh", originals=1),
                   SubmittedDocument("Giấy chứng sinh", originals=1),
                   SubmittedDocument("Giấy chứng nhận kết hôn của cha, mẹ", copies=1)),
        processing_days=3,
        result_delivery="postal",
        received_by=OFFICER,
    )


FAULTY_ITEMS = (
    FaultyItem("Tờ khai đăng ký khai sinh", "Ghi rõ quê quán của người cha"),
    FaultyItem("Giấy chứng sinh", "Nộp bản chính thay cho bản chụp"),
    FaultyItem("Văn bản ủy quyền", "Bổ sung văn bản ủy quyền có chứng thực vì người đi nộp không phải là cha, mẹ hay "
                                   "người thân thích của trẻ theo quy định của Luật Hộ tịch"),
    FaultyItem("Sổ hộ khẩu", "Thay bằng giấy xác nhận thông tin về cư trú"),
    FaultyItem("Căn cước của người mẹ", "Xuất trình bản chính để đối chiếu"),
)


def supplement() -> SupplementRequest:
    return SupplementRequest(dossier=DOSSIER, faulty_items=FAULTY_ITEMS, issued_at=RECEIVED + timedelta(hours=1),
                             guided_by=OFFICER, reason="Hồ sơ chưa đầy đủ", contact_phone="0237 3856 123")


REASONS = ("Trẻ đã được đăng ký khai sinh tại Ủy ban nhân dân phường Hạc Thành.",
           "Việc cấp lại bản chính thuộc thẩm quyền của nơi đã đăng ký trước đây.")


def refusal() -> Refusal:
    return Refusal(dossier=DOSSIER, reasons=REASONS, issued_at=RECEIVED + timedelta(hours=2), refused_by=OFFICER)


NEW_APPOINTMENT = datetime(2026, 1, 12, 14, 0, tzinfo=VN)


def apology() -> Apology:
    return Apology(dossier=DOSSIER, reason="Cần xác minh nơi cư trú của người mẹ.", new_appointed_at=NEW_APPOINTMENT,
                   issued_at=datetime(2026, 1, 7, 16, 0, tzinfo=VN), signer_title="Chủ tịch",
                   signer_name="Phạm Văn Đông", on_behalf_of="TM. ỦY BAN NHÂN DÂN")


HAND_OVERS = (
    HandOver("Bộ phận Một cửa", OFFICER, "Công chức Tư pháp - Hộ tịch", "Trịnh Thị Mai",
             datetime(2026, 1, 5, 9, 15, tzinfo=VN), ON_TIME),
    HandOver("Công chức Tư pháp - Hộ tịch", "Trịnh Thị Mai", "Văn phòng Ủy ban", "Nguyễn Hữu Phước",
             datetime(2026, 1, 6, 14, 5, tzinfo=VN), EARLY, "Đã thẩm định"),
    HandOver("Văn phòng Ủy ban", "Nguyễn Hữu Phước", "Chủ tịch Ủy ban", "Phạm Văn Đông",
             datetime(2026, 1, 7, 8, 0, tzinfo=VN), ON_TIME, "Trình ký"),
    HandOver("Chủ tịch Ủy ban", "Phạm Văn Đông", "Bộ phận Một cửa", OFFICER,
             datetime(2026, 1, 8, 16, 45, tzinfo=VN), LATE, "Ký chậm"),
)


def control() -> ControlSlip:
    return ControlSlip(dossier=DOSSIER, lead_unit=f"Công chức Tư pháp - Hộ tịch, {AGENCY_NAME}",
                       partner_units=("Công an xã Đông Sơn",), hand_overs=HAND_OVERS)


def tracking(count: int) -> TrackingBook:
    entries = tuple(
        TrackingEntry(
            code=f"000.00.12.H56-2601{5 + i // 10:02d}-{i % 10 + 1:04d}",
            procedure_name=("Đăng ký khai sinh", "Đăng ký kết hôn", "Chứng thực bản sao")[i % 3],
            applicant_name=("Nguyễn Thị Hồng Nhung", "Trần Quốc Bảo", "Đặng Thị Ngọc Ánh")[i % 3],
            applicant_contact=f"Thôn Phú Minh; 09{i:08d}",
            lead_agency=AGENCY_NAME,
            received_at=datetime(2026, 1, 5 + i // 10, 8, i % 10 * 5, tzinfo=VN),
            appointed_at=datetime(2026, 1, 12 + i // 10, 8, 0, tzinfo=VN),
            transferred_to="Công chức Tư pháp - Hộ tịch",
            returned_at=datetime(2026, 1, 12 + i // 10, 7, 0, tzinfo=VN) if i % 2 else None,
        )
        for i in range(count)
    )
    return TrackingBook(agency=AGENCY, entries=entries, period_start=date(2026, 1, 5), period_end=date(2026, 1, 30),
                        volume="01", issued_at=datetime(2026, 1, 30, 17, 0, tzinfo=VN))


DOSSIER_FORMS: dict[str, tuple[Callable[[], forms.Form], str]] = {
    "01": (receipt, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"),
    "02": (supplement, "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"),
    "03": (refusal, "PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ"),
    "04": (apology, "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"),
    "06": (control, "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"),
}
ALL_FORMS = {**{number: make for number, (make, _) in DOSSIER_FORMS.items()}, "07": lambda: tracking(5)}


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return {number: forms.render(make()) for number, make in ALL_FORMS.items()}


# --- every form ------------------------------------------------------------------------------


@pytest.mark.parametrize("number", list(DOSSIER_FORMS))
def test_a_dossier_form_reads_back_in_vietnamese(rendered, number):
    text = flat_text(rendered[number])
    _, title = DOSSIER_FORMS[number]
    for expected in (f"Mẫu số {number}", "ỦY BAN NHÂN DÂN TỈNH THANH HÓA", "ỦY BAN NHÂN DÂN XÃ ĐÔNG SƠN",
                     "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", title,
                     f"Mã hồ sơ: {CODE}", NAME, PROCEDURE, AGENCY_NAME):
        assert expected in text, f"{expected!r} missing from form {number}"


@pytest.mark.parametrize("number", list(ALL_FORMS))
def test_every_font_is_embedded_crimson_text_truetype(rendered, number):
    used = fonts(rendered[number])
    assert used, "the form uses no font"
    for font in used:
        assert "CrimsonText" in font.name, font
        assert font.subtype == "/Type0", font  # composite: any Unicode letter, with a ToUnicode map
        assert font.embedded_as == ("/FontFile2",), f"{font.name} is not embedded as TrueType"
        assert font.name[1:8].endswith("+"), f"{font.name} is not a subset"  # /ABCDEF+Name


@pytest.mark.parametrize("number", list(DOSSIER_FORMS))
def test_the_qr_code_decodes_to_the_dossier_code(rendered, number):
    assert qr_codes(rendered[number]) == [CODE]


@pytest.mark.parametrize("number", list(ALL_FORMS))
def test_the_same_data_renders_to_the_same_bytes(rendered, number):
    assert forms.render(ALL_FORMS[number]()) == rendered[number]


def test_the_document_says_it_is_vietnamese_and_has_a_title(rendered):
    pdf = reader(rendered["01"])
    assert pdf.trailer["/Root"]["/Lang"] == "vi"
    assert pdf.metadata.title == f"Giấy tiếp nhận hồ sơ và hẹn trả kết quả – {CODE}"


def test_decomposed_input_prints_composed_letters():
    decomposed = unicodedata.normalize("NFD", NAME)
    assert decomposed != NAME
    slip = receipt()
    slip = replace(slip, dossier=replace(slip.dossier, applicant=Applicant(full_name=decomposed)))
    assert NAME in page_texts(forms.render(slip))[0]


def test_the_font_has_every_vietnamese_letter_in_every_style():
    for weight, slant in ((400, "normal"), (700, "normal"), (400, "italic"), (700, "italic")):
        cmap = TTFont(fontpkg.path(FAMILY, weight, slant)).getBestCmap()
        missing = [c for c in VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper() if ord(c) not in cmap]
        assert not missing, f"{FAMILY} {weight} {slant} lacks {''.join(missing)}"


def test_render_refuses_what_is_not_a_form():
    with pytest.raises(TypeError):
        forms.render(DOSSIER)


# --- each form's own content ---------------------------------------------------------------------


def test_the_receipt_lists_documents_times_and_delivery(rendered):
    text = flat_text(rendered["01"])
    for document in receipt().documents:
        assert document.name in text
    assert "Thời gian nhận hồ sơ: 08 giờ 30 phút, ngày 05 tháng 01 năm 2026" in text  # UTC shown in Vietnam time
    assert "Thời gian trả kết quả giải quyết hồ sơ: 08 giờ 30 phút, ngày 08 tháng 01 năm 2026" in text
    assert "3 ngày làm việc" in text
    assert f"Đăng ký nhận kết quả tại: {delivery_words('postal', AGENCY.desk)}" in text
    assert "NGƯỜI NỘP HỒ SƠ" in text and "NGƯỜI TIẾP NHẬN HỒ SƠ" in text and OFFICER in text


def test_the_supplement_request_names_every_faulty_item(rendered):
    text = flat_text(rendered["02"])
    for number, item in enumerate(FAULTY_ITEMS, start=1):
        assert f"{number} {item.document} {item.request}" in text
    assert "Lý do: Hồ sơ chưa đầy đủ" in text
    assert f"liên hệ với {OFFICER}, số điện thoại 0237 3856 123" in text


def test_the_refusal_states_every_reason(rendered):
    text = flat_text(rendered["03"])
    for number, reason in enumerate(REASONS, start=1):
        assert f"{number}. {reason}" in text
    assert f"Qua xem xét, {AGENCY_NAME} thông báo không tiếp nhận, giải quyết hồ sơ này" in text


def test_the_apology_gives_the_reason_and_the_new_date(rendered):
    text = flat_text(rendered["04"])
    assert f"Kính gửi: Ông/Bà {NAME}" in text
    assert "Lý do chậm trả kết quả: Cần xác minh nơi cư trú của người mẹ." in text
    assert "Thời gian hẹn trả kết quả: 08 giờ 30 phút, ngày 08 tháng 01 năm 2026" in text
    assert "Thời gian hẹn lại trả kết quả: 14 giờ 00 phút, ngày 12 tháng 01 năm 2026" in text
    assert "TM. ỦY BAN NHÂN DÂN CHỦ TỊCH" in text and "Phạm Văn Đông" in text


def test_the_control_slip_has_a_row_per_hand_over_in_order(rendered):
    text = flat_text(rendered["06"])
    outcome = {EARLY: "Trước hạn", ON_TIME: "Đúng hạn", LATE: "Quá hạn"}
    position = 0
    for number, h in enumerate(HAND_OVERS, start=1):
        row = (f"{number} Giao: {h.from_unit} Nhận: {h.to_unit} {clock_and_date(h.at)} "
               f"Người giao: {h.from_person} Người nhận: {h.to_person} {outcome[h.outcome]}")
        found = text.find(row, position)
        assert found > position, f"hand-over {number} missing or out of order"
        position = found
    assert "Cơ quan phối hợp giải quyết hồ sơ: Công an xã Đông Sơn" in text


def test_the_tracking_book_spans_pages_with_every_dossier_once():
    count = 57
    book = tracking(count)
    pdf = forms.render(book)
    pages = page_texts(pdf)
    assert len(pages) > 1
    everything = flat_text(pdf)
    for number, entry in enumerate(book.entries, start=1):
        assert everything.count(entry.code) == 1, entry.code
        assert f"{number} {entry.code} {entry.procedure_name}" in everything
    for page_number, text in enumerate(pages, start=1):
        assert "Mã hồ sơ" in text and "Hẹn trả kết quả" in text, f"headings missing on page {page_number}"
        assert f"Trang {page_number}/{len(pages)}" in text
    assert "Từ ngày 05/01/2026 đến ngày 30/01/2026" in pages[0]


# --- words and checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 5), "ngày 05 tháng 01 năm 2026"),
        (date(2026, 2, 14), "ngày 14 tháng 02 năm 2026"),  # January and February take a leading zero
        (date(2026, 3, 9), "ngày 09 tháng 3 năm 2026"),  # the other months do not
        (date(2026, 12, 31), "ngày 31 tháng 12 năm 2026"),
    ],
)
def test_dates_are_written_the_official_way(day, expected):
    assert long_date(day) == expected


def test_times_are_vietnam_local_time():
    assert clock_and_date(datetime(2026, 1, 4, 17, 5, tzinfo=UTC)) == "00 giờ 05 phút, ngày 05 tháng 01 năm 2026"
    assert place_and_date("Đông Sơn", date(2026, 1, 5)) == "Đông Sơn, ngày 05 tháng 01 năm 2026"
    assert place_and_date("", date(2026, 1, 5)) == "Ngày 05 tháng 01 năm 2026"


def test_an_unknown_delivery_method_is_refused():
    with pytest.raises(ValueError):
        delivery_words("pigeon", AGENCY.desk)


@pytest.mark.parametrize(
    "build",
    [
        lambda: replace(DOSSIER, code=" "),
        lambda: replace(DOSSIER, received_at=datetime(2026, 1, 5, 8, 30)),  # naive
        lambda: replace(receipt(), dossier=replace(DOSSIER, appointed_at=None)),
        lambda: replace(supplement(), faulty_items=()),
        lambda: replace(refusal(), reasons=(" ",)),
        lambda: replace(apology(), reason=""),
        lambda: HandOver("A", "a", "B", "b", datetime(2026, 1, 5, 9, 0, tzinfo=VN), outcome="sometime"),
        lambda: replace(tracking(1), period_end=date(2026, 1, 4)),
    ],
)
def test_incomplete_form_data_is_refused(build):
    with pytest.raises(ValueError):
        build()


def test_the_forms_import_no_infrastructure():
    probe = ("import sys, motcua.dossiers.forms; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'grpc', 'kafka', 'psycopg', 'psycopg_pool'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_demo_writes_one_sample_of_each_form(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tests.support.form_samples", "demo", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=repo_root())
    assert done.returncode == 0, done.stderr
    written = sorted(p.name[:2] for p in tmp_path.glob("*.pdf"))
    assert written == ["01", "02", "03", "04", "06", "07"]
    for path in tmp_path.glob("*.pdf"):
        assert "Mẫu số " + path.name[:2] in page_texts(path.read_bytes())[0]



def test_the_tracking_book_fits_the_page_whatever_the_codes_width():
    # Regression: some code widths made the columns' sum exceed the page by a rounding error.
    for n in range(60):
        agency = f"000.00.{n:02d}.T{(7 * n) % 100:02d}"
        entries = tuple(
            replace(e, code=f"{agency}-{e.code.split('-', 1)[1]}") for e in samples.tracking_book(2).entries
        )
        assert forms.render(replace(samples.tracking_book(2), entries=entries)).startswith(b"%PDF-"), agency
