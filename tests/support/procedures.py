"""Test data for the procedure catalog."""

from __future__ import annotations

import random
from typing import Any

from motcua.procedures.v1 import procedure_service_pb2 as pb
from tests.support.auth import AGENCY


def unique_code() -> str:
    return f"1.{random.randrange(10**6):06d}.000.00.00.T{random.randrange(100):02d}"


def create_request(name: str = "Đăng ký khai sinh", **overrides) -> pb.CreateProcedureRequest:
    fields: dict[str, Any] = {"code": unique_code(), "name": name, "agency_id": AGENCY, "processing_days": 3}
    fields.update(overrides)
    return pb.CreateProcedureRequest(**fields)


def full_create_request(name: str = "Đăng ký khai sinh", **overrides) -> pb.CreateProcedureRequest:
    """A procedure with every part of its record, in Vietnamese."""
    from motcua.procedures.v1 import procedure_pb2 as p

    fields: dict[str, Any] = {
        "code": unique_code(),
        "name": name,
        "agency_id": AGENCY,  # administered by the default caller
        "field": "Hộ tịch",
        "level": p.PROCEDURE_LEVEL_COMMUNE,
        "online_mode": p.ONLINE_MODE_FULL,
        "processing_time": p.ProcessingTime(value=3, unit=p.PROCESSING_TIME_UNIT_WORKING_DAYS),
        "fees": [
            p.Fee(name="Lệ phí đăng ký", amount_vnd=8000),
            p.Fee(name="Phí cấp bản sao trích lục", amount_vnd=3000),
        ],
        "required_documents": [
            p.RequiredDocument(name="Tờ khai đăng ký khai sinh", originals=1, eform_ref="TK-KS-01"),
            p.RequiredDocument(name="Giấy chứng sinh", originals=1, copies=1),
        ],
        "steps": [
            p.ProcessingStep(
                name="Tiếp nhận và thẩm định", role="civil_status_officer", unit="Bộ phận một cửa", share=0.7
            ),
            p.ProcessingStep(name="Ký duyệt", role="leader", share=0.2),
            p.ProcessingStep(name="Trả kết quả", role="desk_officer", share=0.1),
        ],
        "result_type": "Giấy khai sinh",
        "legal_basis": ["Luật Hộ tịch 2014", "Nghị định 123/2015/NĐ-CP"],
        "supplement_rule": p.SUPPLEMENT_RULE_RESTART,
    }
    fields.update(overrides)
    return pb.CreateProcedureRequest(**fields)
