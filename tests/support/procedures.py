"""Test data for the procedure catalog."""

from __future__ import annotations

import random

from motcua.procedures.v1 import procedure_service_pb2 as pb


def unique_code() -> str:
    return f"1.{random.randrange(10**6):06d}.000.00.00.T{random.randrange(100):02d}"


def create_request(name: str = "Đăng ký khai sinh", **overrides) -> pb.CreateProcedureRequest:
    fields = {"code": unique_code(), "name": name, "agency_id": "000.00.10.H56", "processing_days": 3}
    fields.update(overrides)
    return pb.CreateProcedureRequest(**fields)
