"""A partial update (update_mask) of another agency's procedure is refused before its mask is
read: the caller learns neither the procedure nor what is wrong with their mask. The
procedure's own administrator still gets the mask's errors."""

from __future__ import annotations

from functools import partial

import grpc
import pytest
from google.protobuf import field_mask_pb2

from motcua.identity.v1.role_pb2 import Role
from motcua.procedures.v1 import procedure_pb2, procedure_service_pb2 as ppb
from tests.support.clients import error_reason, field_violations, procedures_stub
from tests.support.identity import token
from tests.support.procedures import full_create_request

JUSTICE = "000.00.10.H56"  # Sở Tư pháp
HEALTH = "000.00.15.H56"  # Sở Y tế, a sibling department: no say over Sở Tư pháp's procedures


def masked(procedure_id: str, version: int, *paths: str) -> ppb.UpdateProcedureRequest:
    return ppb.UpdateProcedureRequest(
        procedure_id=procedure_id, procedure=procedure_pb2.Procedure(name="Chứng thực chữ ký – bản sửa"),
        update_mask=field_mask_pb2.FieldMask(paths=list(paths)), expected_version=version)


def test_another_agency_s_masked_update_is_refused_before_its_mask_is_checked(stack):
    service = stack.service("procedures").start()
    try:
        justice = procedures_stub(service.addr, token(Role.ROLE_ADMINISTRATOR, agency_id=JUSTICE))
        health = procedures_stub(service.addr, token(Role.ROLE_ADMINISTRATOR, agency_id=HEALTH))
        created = justice.CreateProcedure(full_create_request(agency_id=JUSTICE)).procedure
        pid = created.procedure_id

        for paths in (("tên thủ tục",), ("version",), ("name",)):
            refusal = error_reason(partial(health.UpdateProcedure, masked(pid, created.version, *paths)))
            assert refusal == "AGENCY_SCOPE", paths

        with pytest.raises(grpc.RpcError) as refused:
            justice.UpdateProcedure(masked(pid, created.version, "tên thủ tục"))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "update_mask" in field_violations(refused.value)

        renamed = justice.UpdateProcedure(masked(pid, created.version, "name")).procedure
        assert (renamed.name, renamed.fees) == ("Chứng thực chữ ký – bản sửa", created.fees)
    finally:
        assert service.terminate() == 0

