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

from collections.abc import Callable

from . import apology, control, receipt, refusal, supplement, tracking
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

RENDERERS: dict[type, Callable[..., bytes]] = {
    ReceiptSlip: receipt.render,
    SupplementRequest: supplement.render,
    Refusal: refusal.render,
    Apology: apology.render,
    ControlSlip: control.render,
    TrackingBook: tracking.render,
}


def render(form: Form) -> bytes:
    """The PDF of ``form``."""
    try:
        renderer = RENDERERS[type(form)]
    except KeyError:
        raise TypeError(f"no form renders {type(form).__name__}") from None
    return renderer(form)


__all__ = [
    "Agency", "Apology", "Applicant", "ControlSlip", "DossierFacts", "FaultyItem", "Form", "HandOver",
    "ReceiptSlip", "Refusal", "SubmittedDocument", "SupplementRequest", "TrackingBook", "TrackingEntry", "render",
]
