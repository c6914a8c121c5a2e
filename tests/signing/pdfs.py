"""Small PDFs made in the test, with Vietnamese text, so no binary is committed.

The page uses the standard Helvetica font (nothing embedded). Letters outside its
Latin-1 set (ạ, ă, ơ, ư, ễ...) get codes 128.. through an encoding /Differences with
their Unicode glyph names (uniXXXX), and a /ToUnicode map gives every code its
character back, so the text extracts (and renders, where the viewer's Helvetica
has the glyphs) as Vietnamese.
"""

from __future__ import annotations

from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

DEFAULT_LINES = (
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "GIẤY KHAI SINH",
    "Họ, chữ đệm, tên: Nguyễn Thị Hằng",
    "Nơi đăng ký: Ủy ban nhân dân phường Hạc Thành, tỉnh Thanh Hóa",
)


def _codes(lines: tuple[str, ...]) -> dict[str, int]:
    extra = sorted({c for line in lines for c in line if not (32 <= ord(c) < 127)})
    if len(extra) > 128:
        raise ValueError("too many distinct non-ASCII characters for one simple font")
    codes = {chr(i): i for i in range(32, 127)}
    codes.update({c: 128 + i for i, c in enumerate(extra)})
    return codes


def _string(text: str, codes: dict[str, int]) -> bytes:
    raw = bytes(codes[c] for c in text)
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _to_unicode(codes: dict[str, int]) -> bytes:
    entries = [f"<{code:02X}> <{ord(c):04X}>" for c, code in sorted(codes.items(), key=lambda kv: kv[1])]
    chunks = [entries[i:i + 100] for i in range(0, len(entries), 100)]  # at most 100 per bfchar block
    body = "".join(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar\n" for chunk in chunks)
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<00> <FF>\nendcodespacerange\n"
        f"{body}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def vietnamese_pdf(lines: tuple[str, ...] = DEFAULT_LINES, title: str = "Giấy khai sinh – Nguyễn Thị Hằng",
                   password: str | None = None) -> bytes:
    """A one-page A4 PDF showing ``lines`` (uncompressed content, so tests can find the text bytes);
    encrypted with ``password`` when one is given."""
    codes = _codes(lines)
    writer = PdfFileWriter()
    differences = generic.ArrayObject([generic.NumberObject(128)])
    differences += [generic.NameObject(f"/uni{ord(c):04X}") for c, code in sorted(codes.items(), key=lambda kv: kv[1])
                    if code >= 128]
    font = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Font"),
        generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
        generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        generic.NameObject("/Encoding"): generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Encoding"),
            generic.NameObject("/BaseEncoding"): generic.NameObject("/WinAnsiEncoding"),
            generic.NameObject("/Differences"): differences,
        }),
        generic.NameObject("/ToUnicode"): writer.add_object(generic.StreamObject(stream_data=_to_unicode(codes))),
    })
    content = [b"BT", b"/F1 14 Tf", b"18 TL", b"56 780 Td"]
    for line in lines:
        content += [_string(line, codes) + b" Tj", b"T*"]
    content.append(b"ET")
    resources = generic.DictionaryObject({
        generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/F1"): writer.add_object(font)}),
    })
    page = PageObject(
        contents=writer.add_object(generic.StreamObject(stream_data=b"\n".join(content) + b"\n")),
        media_box=[0, 0, 595, 842],
        resources=resources,
    )
    writer.insert_page(page)
    writer.set_info(generic.DictionaryObject({
        generic.NameObject("/Title"): generic.TextStringObject(title),
        generic.NameObject("/Producer"): generic.TextStringObject("motcua tests"),
    }))
    if password is not None:
        writer.encrypt(password, password)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def encoded_line(line: str, lines: tuple[str, ...] = DEFAULT_LINES) -> bytes:
    """How ``line`` is written in the content stream of ``vietnamese_pdf(lines)``."""
    return _string(line, _codes(lines))
