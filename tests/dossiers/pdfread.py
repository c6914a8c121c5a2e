"""Reading the forms' PDFs back as a person or a scanner would: the text a PDF reader
extracts (pypdf), the fonts and whether they are embedded, and the QR codes found on a
page rasterised by PDFium and decoded by ZXing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO

import pypdfium2
import zxingcpp
from pypdf import PdfReader
from pypdf.generic import DictionaryObject


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(BytesIO(pdf))


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in reader(pdf).pages]


def flat_text(pdf: bytes) -> str:
    """All pages' text with every run of white space (line breaks included) made one space,
    so that a value a table cell wrapped still reads as written."""
    return re.sub(r"\s+", " ", " ".join(page_texts(pdf)))


@dataclass(frozen=True)
class FontInfo:
    name: str
    subtype: str
    embedded_as: tuple[str, ...]  # the FontFile keys of its descriptor: FontFile, FontFile2, FontFile3


def fonts(pdf: bytes) -> list[FontInfo]:
    """Every font any page uses (for a composite font, its descendant's descriptor)."""
    found: dict[str, FontInfo] = {}
    for page in reader(pdf).pages:
        resources = page["/Resources"].get_object()
        assert isinstance(resources, DictionaryObject)
        for ref in resources.get("/Font", DictionaryObject()).get_object().values():
            font = ref.get_object()
            described = font["/DescendantFonts"][0].get_object() if font["/Subtype"] == "/Type0" else font
            descriptor = described.get("/FontDescriptor")
            keys = () if descriptor is None else tuple(
                k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor.get_object()
            )
            found[str(font["/BaseFont"])] = FontInfo(str(font["/BaseFont"]), str(font["/Subtype"]), keys)
    return list(found.values())


def qr_codes(pdf: bytes, page: int = 0, dpi: int = 200) -> list[str]:
    """The texts of the QR codes ZXing finds on ``page`` rendered at ``dpi``."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    return [b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]
