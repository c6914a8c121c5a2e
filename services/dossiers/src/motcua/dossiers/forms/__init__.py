"""The one-stop-shop forms of a dossier as PDFs in Vietnamese.

Pure: plain dataclasses in (``model``), PDF bytes out; nothing here talks to gRPC, Kafka
or PostgreSQL. The forms follow the annex of Circular 01/2018/TT-VPCP, replaced by
Circular 03/2025/TT-VPCP:

- 01 ``receipt``: receipt and appointment slip (giấy tiếp nhận hồ sơ và hẹn trả kết quả)
- 02 ``supplement``: supplement request (phiếu yêu cầu bổ sung, hoàn thiện hồ sơ)
- 03 ``refusal``: refusal (phiếu từ chối tiếp nhận, giải quyết hồ sơ)
- 04 ``apology``: apology and new appointment (phiếu xin lỗi và hẹn lại ngày trả kết quả)
- 06 ``control``: process control slip (phiếu kiểm soát quá trình giải quyết hồ sơ)
- 07 ``tracking``: tracking book (sổ theo dõi hồ sơ)

Every form about one dossier prints its code as text and as a QR code. ``layout`` holds
what the forms share (header, title, fields, tables, signatures, the embedded font);
``python -m motcua.dossiers.forms demo OUTDIR`` writes a sample of each.
"""

from __future__ import annotations

import importlib

from .model import (
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

Form = ReceiptSlip | SupplementRequest | Refusal | Apology | ControlSlip | TrackingBook

# Each form's module, imported with the first form of its kind: the renderers load the PDF
# library (fpdf2, its fonts and fontTools), a third of an idle dossiers service's memory, which
# a service that renders no form has no use for.
RENDERERS: dict[type, str] = {
    ReceiptSlip: "receipt",
    SupplementRequest: "supplement",
    Refusal: "refusal",
    Apology: "apology",
    ControlSlip: "control",
    TrackingBook: "tracking",
}


def render(form: Form) -> bytes:
    """The PDF of ``form``."""
    try:
        module = RENDERERS[type(form)]
    except KeyError:
        raise TypeError(f"no form renders {type(form).__name__}") from None
    rendered: bytes = importlib.import_module(f"{__name__}.{module}").render(form)
    return rendered


__all__ = [
    "Agency", "Apology", "Applicant", "ControlSlip", "DossierFacts", "FaultyItem", "Form", "HandOver",
    "ReceiptSlip", "Refusal", "SubmittedDocument", "SupplementRequest", "TrackingBook", "TrackingEntry", "render",
]
