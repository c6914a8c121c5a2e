"""Accounts over real gRPC: citizens, businesses and officers; validation, uniqueness,
who may read and disable, pages and filters, and AccountCreated/AccountDisabled on Kafka."""

from __future__ import annotations

import uuid

import grpc
import pytest

from motcua.identity.v1 import account_pb2, events_pb2, identity_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from tests.support.clients import field_violations
from tests.support.identity import (
    identity_service_stub,
    token,
    unique_login,
    unique_personal_id,
    unique_phone,
    unique_tax_code,
)
from tests.support.topics import find_envelope

CITIZEN = account_pb2.ACCOUNT_KIND_CITIZEN
BUSINESS = account_pb2.ACCOUNT_KIND_BUSINESS
OFFICER = account_pb2.ACCOUNT_KIND_OFFICER
FINANCE = "000.00.12.H56"  # Sở Tài chính in the sample tree
JUSTICE = "000.00.10.H56"  # Sở Tư pháp


def citizen_request(**overrides) -> pb.CreateAccountRequest:
    fields = dict(kind=CITIZEN, display_name="Nguyễn Thị Hằng", personal_id_number=unique_personal_id(),
                  phone=unique_phone(), email="hang.nguyen@example.vn")
    return pb.CreateAccountRequest(**{**fields, **overrides})


def failure(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def test_a_citizen_account_round_trips_its_vietnamese_name_and_identifiers(registrar):
    request = citizen_request(display_name="Trần Thị Ngọc Ánh", login=unique_login("anh"))
    created = registrar.CreateAccount(request).account
    assert uuid.UUID(created.account_id)
    assert (created.kind, created.state) == (CITIZEN, account_pb2.ACCOUNT_STATE_ACTIVE)
    fetched = registrar.GetAccount(pb.GetAccountRequest(account_id=created.account_id)).account
    assert fetched.display_name == "Trần Thị Ngọc Ánh"
    assert (fetched.personal_id_number, fetched.phone, fetched.login) == \
        (request.personal_id_number, request.phone, request.login)
    assert fetched.version == 1 and not fetched.has_password and not fetched.mfa_enabled


def test_businesses_and_officers_have_their_own_identifiers(registrar, agency_tree):
    business = registrar.CreateAccount(pb.CreateAccountRequest(
        kind=BUSINESS, display_name="Công ty TNHH Đông Sơn", tax_code=f"{unique_tax_code()}-001")).account
    assert business.tax_code.endswith("-001")
    officer = registrar.CreateAccount(pb.CreateAccountRequest(
        kind=OFFICER, display_name="Lê Văn Tâm", agency_id=JUSTICE, unit="Phòng Hành chính tư pháp",
        login=unique_login("tam"), password="mật-khẩu-đủ-dài")).account
    assert (officer.agency_id, officer.unit, officer.has_password) == (JUSTICE, "Phòng Hành chính tư pháp", True)


@pytest.mark.parametrize("field, value", [
    ("personal_id_number", "12345"),  # not 12 digits (protovalidate)
    ("personal_id_number", "000123456789"),  # no province code 000 (the domain)
    ("tax_code", "0123456789-1"),
    ("phone", "12345"),
    ("login", "-bad"),
    ("login", "0123456789"),  # would shadow a tax code
])
def test_bad_identifiers_are_invalid_arguments_naming_the_field(registrar, field, value):
    if field == "tax_code":
        request = pb.CreateAccountRequest(kind=BUSINESS, display_name="Hợp tác xã", tax_code=value)
    else:
        request = citizen_request(**{field: value})
    error = failure(lambda: registrar.CreateAccount(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error)


def test_a_citizen_needs_a_personal_id_number_and_an_officer_a_known_agency(registrar, agency_tree):
    error = failure(lambda: registrar.CreateAccount(citizen_request(personal_id_number="")))
    assert field_violations(error) == {"personal_id_number": "is required for a citizen"}
    error = failure(lambda: registrar.CreateAccount(pb.CreateAccountRequest(
        kind=OFFICER, display_name="Phạm Minh Đức", agency_id="000.00.99.H56")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == {"agency_id": "no agency 000.00.99.H56"}


def test_logins_and_personal_id_numbers_are_unique(registrar):
    first = citizen_request(login=unique_login("Hang"))
    registrar.CreateAccount(first)
    same_login = citizen_request(login=first.login.upper())  # logins compare without case
    error = failure(lambda: registrar.CreateAccount(same_login))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    same_number = citizen_request(personal_id_number=first.personal_id_number)
    error = failure(lambda: registrar.CreateAccount(same_number))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert first.personal_id_number not in error.details()  # personal data stays out of messages and logs


def test_people_read_their_own_account_and_auditors_read_officers_within_their_grant(identity_addr, registrar):
    mine = registrar.CreateAccount(citizen_request()).account
    other = registrar.CreateAccount(citizen_request()).account
    me = identity_service_stub(identity_addr, token(Role.ROLE_APPLICANT, account_id=mine.account_id))
    assert me.GetAccount(pb.GetAccountRequest(account_id=mine.account_id)).account.account_id == mine.account_id
    error = failure(lambda: me.GetAccount(pb.GetAccountRequest(account_id=other.account_id)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert failure(lambda: me.ListAccounts(pb.ListAccountsRequest())).code() == grpc.StatusCode.PERMISSION_DENIED
    auditor = identity_service_stub(identity_addr, token(Role.ROLE_AUDITOR, agency_id=FINANCE))
    # Citizens' personal data is not an auditor's to read; officers within the grant are.
    assert failure(lambda: auditor.GetAccount(pb.GetAccountRequest(account_id=other.account_id))).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    officer = registrar.CreateAccount(
        pb.CreateAccountRequest(kind=OFFICER, display_name="Lò Văn Pâng", agency_id=FINANCE)
    ).account
    assert (
        auditor.GetAccount(pb.GetAccountRequest(account_id=officer.account_id)).account.account_id == officer.account_id
    )
    error = failure(lambda: auditor.CreateAccount(citizen_request()))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_administrator_manages_officers_only_within_their_subtree(identity_addr, agency_tree):
    finance_admin = identity_service_stub(identity_addr, token(Role.ROLE_ADMINISTRATOR, agency_id=FINANCE))
    officer = finance_admin.CreateAccount(pb.CreateAccountRequest(
        kind=OFFICER, display_name="Hoàng Thị Lan", agency_id=FINANCE)).account
    assert officer.agency_id == FINANCE
    error = failure(lambda: finance_admin.CreateAccount(pb.CreateAccountRequest(
        kind=OFFICER, display_name="Vũ Văn Nam", agency_id=JUSTICE)))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_disabling_an_account_is_recorded_and_published(stack, registrar):
    account = registrar.CreateAccount(citizen_request()).account
    error = failure(lambda: registrar.DisableAccount(pb.DisableAccountRequest(
        account_id=account.account_id, reason="Trùng hồ sơ", expected_version=7)))
    assert error.code() == grpc.StatusCode.ABORTED
    disabled = registrar.DisableAccount(pb.DisableAccountRequest(
        account_id=account.account_id, reason="Trùng hồ sơ", expected_version=1)).account
    assert (disabled.state, disabled.disable_reason, disabled.version) == \
        (account_pb2.ACCOUNT_STATE_DISABLED, "Trùng hồ sơ", 2)
    again = failure(lambda: registrar.DisableAccount(pb.DisableAccountRequest(
        account_id=account.account_id, reason="lần nữa")))
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION

    topic = "motcua.identity.events.v1"
    created = find_envelope(stack.kafka.bootstrap, topic, lambda e: e.aggregate_id == account.account_id
                            and e.type == "motcua.identity.v1.AccountCreated")
    payload = events_pb2.AccountCreated()
    created.payload.Unpack(payload)
    assert (payload.account_id, payload.kind, payload.version) == (account.account_id, CITIZEN, 1)
    gone = find_envelope(stack.kafka.bootstrap, topic, lambda e: e.aggregate_id == account.account_id
                         and e.type == "motcua.identity.v1.AccountDisabled")
    payload = events_pb2.AccountDisabled()
    gone.payload.Unpack(payload)
    assert (payload.reason, payload.version) == ("Trùng hồ sơ", 2)
    assert account.personal_id_number.encode() not in created.SerializeToString()


def test_accounts_are_listed_in_pages_with_filters(registrar, agency_tree):
    unit = f"Đội thử {uuid.uuid4().hex[:6]}"
    agency = "000.21.31.H56"  # a commune nobody else's tests use
    created = [registrar.CreateAccount(pb.CreateAccountRequest(
        kind=OFFICER, display_name=f"Cán bộ {i}", agency_id=agency, unit=unit)).account.account_id for i in range(5)]
    registrar.DisableAccount(pb.DisableAccountRequest(account_id=created[0], reason="Nghỉ hưu"))
    seen, page_token = [], ""
    while True:
        page = registrar.ListAccounts(pb.ListAccountsRequest(agency_id=agency, page_size=2, page_token=page_token))
        assert len(page.accounts) <= 2
        seen += [a.account_id for a in page.accounts]
        page_token = page.next_page_token
        if not page_token:
            break
    assert [a for a in seen if a in created] == created
    active = registrar.ListAccounts(
        pb.ListAccountsRequest(agency_id=agency, state=account_pb2.ACCOUNT_STATE_ACTIVE, page_size=1000)
    ).accounts
    assert created[0] not in {a.account_id for a in active} and set(created[1:]) <= {a.account_id for a in active}
    citizens = registrar.ListAccounts(pb.ListAccountsRequest(kind=CITIZEN, agency_id=agency)).accounts
    assert list(citizens) == []
    error = failure(
        lambda: registrar.ListAccounts(
            pb.ListAccountsRequest(kind=CITIZEN, page_token=page.next_page_token or "bm9wZQ")
        )
    )
    assert "page_token" in field_violations(error)
