"""The page every form is drawn on, and the parts forms share.

Conventions of Vietnamese administrative documents (Decree 30/2020/NĐ-CP): A4, margins
left 30 mm, right 15 mm, top and bottom 20 mm; the issuing agency at the top left (its
governing body above it, a short rule below), the national name and motto at the top
right (a rule as long as the motto below it), the place and date in italics under
them, a bold centred title, and signature blocks with the signer's role in bold capitals,
an italic hint, room to sign, then the name.

The font is Crimson Text (SIL Open Font License 1.1; an old-style serif close to the
Times New Roman that official documents use), shipped by a PyPI package and embedded
as a subset, so a PDF shows the same on any machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import fontpkg
import segno
from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos

from .model import Agency
from .wording import composed, place_and_date

FAMILY = "Crimson Text"
BODY_PT = 14.0  # Crimson Text is set small: 14 pt reads like 13 pt Times New Roman
HEADER_PT = 12.0
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
TABLE_PT = 12.0
LINE = 6.6  # mm between body lines
QR_SIZE = 24.0  # mm, quiet zone included
SIGNATURE_ROOM = 24.0  # mm left blank for a signature and seal

PORTRAIT_MARGINS = (30.0, 20.0, 15.0)  # left, top, right (mm)
LANDSCAPE_MARGINS = (20.0, 15.0, 15.0)
BOTTOM_MARGIN = 20.0


@dataclass(frozen=True)
class Signature:
    """A signature block: the signer's role, a hint on how to sign, and the printed name."""

    role: str
    name: str = ""
    hint: str = "(Ký và ghi rõ họ tên)"
    above: str = ""  # e.g. "TM. ỦY BAN NHÂN DÂN" above the role


class FormPage(FPDF):
    """An A4 document in Crimson Text with the helpers the one-stop-shop forms share."""

    def __init__(self, title: str, *, landscape: bool = False, created_at: datetime | None = None,
                 page_numbers: bool = False) -> None:
        super().__init__(orientation="landscape" if landscape else "portrait", unit="mm", format="A4")
        for style, (weight, slant) in {"": (400, "normal"), "B": (700, "normal"),
                                       "I": (400, "italic"), "BI": (700, "italic")}.items():
            self.add_font(FAMILY, style, str(fontpkg.path(FAMILY, weight, slant)))
        left, top, right = LANDSCAPE_MARGINS if landscape else PORTRAIT_MARGINS
        self.set_margins(left, top, right)
        self.set_auto_page_break(True, margin=BOTTOM_MARGIN)
        self.set_title(composed(title))
        self.set_lang("vi")
        self.set_creator("motcua")
        # A fixed creation date keeps the same data rendering to the same bytes.
        self.set_creation_date(created_at or datetime(2000, 1, 1, tzinfo=UTC))
        self.page_numbers = page_numbers
        self.add_page()
        self.text_font()

    # --- fonts and plain text -------------------------------------------------------------

    def text_font(self, style: str = "", size: float = BODY_PT) -> None:
        self.set_font(FAMILY, style, size)

    def footer(self) -> None:
        if self.page_numbers:
            self.set_y(-BOTTOM_MARGIN + 6)
            self.text_font("I", TABLE_PT)
            self.cell(0, 5, f"Trang {self.page_no()}/{{nb}}", align="C")

    def centred(self, text: str, style: str = "", size: float = BODY_PT, x: float | None = None,
                width: float | None = None, height: float = LINE) -> None:
        self.text_font(style, size)
        self.set_x(self.l_margin if x is None else x)
        self.multi_cell(self.epw if width is None else width, height, composed(text), align="C",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str, style: str = "", indent: float = 10.0) -> None:
        """A justified paragraph whose first line is indented, as official documents set them."""
        self.text_font(style)
        self.set_x(self.l_margin)
        with self.text_columns(text_align="J", line_height=LINE / (BODY_PT * 0.3528)) as columns:
            with columns.paragraph(first_line_indent=indent) as paragraph:
                paragraph.write(composed(text))

    def text_line(self, text: str, style: str = "") -> None:
        self.text_font(style)
        self.set_x(self.l_margin)
        self.multi_cell(self.epw, LINE, composed(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def field(self, label: str, value: str, *more: tuple[str, str], strong: bool = False) -> None:
        """``Label: value`` (and further pairs on the same line, two spaces apart), wrapping at the
        margin."""
        self.set_x(self.l_margin)
        for i, (lab, val) in enumerate(((label, value), *more)):
            self.text_font()
            self.write(LINE, composed(("    " if i else "") + f"{lab}: "))
            self.text_font("B" if strong and i == 0 else "")
            self.write(LINE, composed(val or "…………"))
        self.ln(LINE)

    def numbered(self, items: Sequence[str], indent: float = 6.0) -> None:
        """A numbered list with hanging indents: ``1. …``."""
        self.text_font()
        for number, item in enumerate(items, start=1):
            self.set_x(self.l_margin + indent)
            self.cell(8, LINE, f"{number}.")
            self.multi_cell(self.epw - indent - 8, LINE, composed(item), align="J",
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(self, height: float = 2.0) -> None:
        self.ln(height)

    # --- the parts of a form ----------------------------------------------------------------

    def form_number(self, number: str) -> None:
        """``Mẫu số 01`` at the top right, as the circular's annex numbers its forms."""
        self.text_font("B", TABLE_PT)
        self.set_xy(self.l_margin, self.t_margin - 8)
        self.cell(self.epw, 5, composed(f"Mẫu số {number}"), align="R")
        self.set_xy(self.l_margin, self.t_margin)

    def national_header(self, agency: Agency, day: date | None, *, qr: str = "", motto: bool = True) -> None:
        """The agency on the left, the national name and motto on the right, the date line
        below them; with ``qr``, that text as a QR code under the agency's name."""
        top = self.get_y()
        self.text_font("B", HEADER_PT)
        names = [agency.parent.upper(), agency.name.upper()]
        # The national name keeps one line; the agency takes the rest (a long name wraps).
        left_width = self.epw - (self.get_string_width(NATION) + 2 if motto else self.epw / 2)
        right_x = self.l_margin + left_width
        right_width = self.epw - left_width
        if agency.parent.strip():
            self.centred(names[0], "", HEADER_PT, width=left_width, height=5.6)
        self.centred(names[1], "B", HEADER_PT, width=left_width, height=5.6)
        self._rule(self.l_margin + left_width / 2, self.get_y() + 1.2, left_width / 3)
        left_bottom = self.get_y() + 3
        if motto:
            self.set_y(top)
            self.centred(NATION, "B", HEADER_PT, x=right_x, width=right_width, height=5.6)
            self.centred(MOTTO, "B", HEADER_PT + 1, x=right_x, width=right_width, height=5.6)
            self._rule(right_x + right_width / 2, self.get_y() + 0.8, self.get_string_width(MOTTO))
        row = max(left_bottom, self.get_y() + 3)
        self.set_y(row)
        if day is not None:
            self.centred(place_and_date(agency.place, day), "I", BODY_PT, x=right_x, width=right_width)
        bottom = self.get_y()
        if qr:
            self.qr_code(qr, self.l_margin + (left_width - QR_SIZE) / 2, row - 2, QR_SIZE)
            bottom = max(bottom, row - 2 + QR_SIZE)
        self.set_y(bottom + 4)

    def _rule(self, centre_x: float, y: float, length: float) -> None:
        self.set_line_width(0.3)
        self.line(centre_x - length / 2, y, centre_x + length / 2, y)

    def form_title(self, title: str, *lines: str, code: str = "") -> None:
        """The form's bold title, italic lines under it, then the dossier code in bold."""
        self.centred(title.upper(), "B", BODY_PT + 1, height=7)
        for line in lines:
            self.centred(line, "I", BODY_PT)
        if code:
            self.centred(f"Mã hồ sơ: {code}", "B", BODY_PT)
        self.gap(4)

    def qr_code(self, text: str, x: float, y: float, size: float) -> None:
        """``text`` as a QR code of vector squares (sharp at any zoom or print resolution),
        quiet zone included in ``size``."""
        symbol = segno.make(text, error="m", micro=False)
        rows = [list(row) for row in symbol.matrix_iter(scale=1, border=4)]
        module = size / len(rows)
        self.set_fill_color(0)
        for r, row in enumerate(rows):
            c = 0
            while c < len(row):  # one rectangle per run of dark modules keeps the page small
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                self.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")

    def signatures(self, blocks: Sequence[Signature], *, left_note: Sequence[str] = ()) -> None:
        """Signature blocks side by side (the last on the right); ``left_note`` (e.g. the
        recipients list) in small type on the left when there is a single block."""
        needed = 6 * 3 + SIGNATURE_ROOM + LINE
        if self.get_y() + needed > self.h - self.b_margin:
            self.add_page()
        self.gap(3)
        top = self.get_y()
        columns = max(len(blocks), 2)
        width = self.epw / columns
        bottom = top
        for i, block in enumerate(blocks):
            x = self.l_margin + width * (columns - len(blocks) + i)
            self.set_y(top)
            if block.above:
                self.centred(block.above, "B", BODY_PT - 1, x=x, width=width, height=5.6)
            self.centred(block.role.upper(), "B", BODY_PT - 1, x=x, width=width, height=5.6)
            self.centred(block.hint, "I", BODY_PT - 1, x=x, width=width, height=5.6)
            self.ln(SIGNATURE_ROOM)
            if block.name:
                self.centred(block.name, "B", BODY_PT, x=x, width=width)
            bottom = max(bottom, self.get_y())
        if left_note:
            self.set_y(top)
            self.text_font("BI", TABLE_PT)
            self.cell(width, 5, composed(left_note[0]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.text_font("", TABLE_PT - 1)
            for line in left_note[1:]:
                self.cell(width, 5, composed(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            bottom = max(bottom, self.get_y())
        self.set_y(bottom)

    def grid(self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
             aligns: Sequence[str], size: float = TABLE_PT) -> None:
        """A ruled table whose headings repeat on every page it spans; a row is never split."""
        self.text_font("", size)
        with self.table(
            col_widths=tuple(widths),
            width=sum(widths),
            align="LEFT",
            text_align=tuple(aligns),
            headings_style=FontFace(emphasis="BOLD"),
            line_height=size * 0.45,
            padding=(1.2, 1.2),
            repeat_headings=1,
            v_align="MIDDLE",
        ) as table:
            heading = table.row()
            for text in headings:
                heading.cell(composed(text), align="C")
            for cells in rows:
                row = table.row()
                for text in cells:
                    row.cell(composed(text))
        self.gap(2)

    def to_bytes(self) -> bytes:
        return bytes(self.output())
