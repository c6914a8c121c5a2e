"""An account's contact details corrected (Decree 13/2023/NĐ-CP, the right of correction) over the
real identity process: the owner or a credential officer corrects the phone and e-mail as a new
event sealed under the account's key; bad values name their field; another citizen is refused."""

from __future__ import annotations

import random

import grpc
import psycopg
import pytest

from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from tests.support.identity import identity_service_stub, token, unique_login, unique_personal_id


def test_an_account_s_contact_details_are_corrected_as_a_sealed_event(stack, identity_addr, registrar):
    n = random.randrange(10**6)
    account = registrar.CreateAccount(ipb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name=f"Trịnh Thị Ánh Tuyết {n:06d}",
        personal_id_number=unique_personal_id(), phone=f"0912{n:06d}", email=f"tuyet.{n:06d}@example.vn",
        login=unique_login("tuyet"), password="một mật khẩu dài")).account
    owner = identity_service_stub(identity_addr, token(Role.ROLE_APPLICANT, account_id=account.account_id))
    new_phone, new_email = f"+84987{n:06d}", f"anh.tuyet.{n:06d}@example.vn"

    for field, value in (("phone", "12345"), ("email", "không-phải-thư")):
        with pytest.raises(grpc.RpcError) as bad:
            owner.CorrectContactDetails(ipb.CorrectContactDetailsRequest(account_id=account.account_id,
                                                                         **{field: value}))
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in bad.value.details()
    stranger = identity_service_stub(identity_addr, token(Role.ROLE_APPLICANT))
    with pytest.raises(grpc.RpcError) as refused:
        stranger.CorrectContactDetails(ipb.CorrectContactDetailsRequest(account_id=account.account_id,
                                                                        phone=new_phone))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    corrected = owner.CorrectContactDetails(ipb.CorrectContactDetailsRequest(
        account_id=account.account_id, phone=new_phone, reason="Đổi số điện thoại")).account
    assert (corrected.phone, corrected.email) == (new_phone, f"tuyet.{n:06d}@example.vn")
    by_registrar = registrar.CorrectContactDetails(ipb.CorrectContactDetailsRequest(
        account_id=account.account_id, email=new_email, reason="Theo đơn của công dân")).account
    assert (by_registrar.phone, by_registrar.email) == (new_phone, new_email)
    shown = owner.GetAccount(ipb.GetAccountRequest(account_id=account.account_id)).account
    assert (shown.phone, shown.email) == (new_phone, new_email)

    with psycopg.connect(stack.dsn("identity")) as conn:
        events = conn.execute("SELECT topic, state FROM identity_events WHERE originator_id = %s",
                              (account.account_id,)).fetchall()
    assert sum(topic.endswith("ContactDetailsCorrected") for topic, _ in events) == 2
    assert not any(v.encode() in bytes(state) for _, state in events for v in (new_phone, new_email))
