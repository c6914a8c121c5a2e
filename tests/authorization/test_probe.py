"""The probe of other people's resources: for every RPC and every role, derived from the
descriptors, a call on a resource of another agency and of another person is refused.

The owner is Sở Tư pháp (OWNER_AGENCY) and a citizen of it: their dossier (received, so
it has a notification), their accounts, their procedure, their calendar, the province's seal.
The callers hold one role each in Sở Y tế (CALLER_AGENCY, a sibling in the sample tree: not
above the owner), or are another citizen. Every request field that names a resource
(probe_requests.RESOURCE_FIELDS) names the owner's; the other fields are filled so that the request
passes validation and reaches the service's own checks.

Refused means PERMISSION_DENIED, or NOT_FOUND: a service may deny that someone else's
resource exists (ids are random UUIDs, so neither answer leaks what a guess would not).
A listing or a search may answer, with nothing of the owner's in it. Public RPCs (the
catalog, calendars, the agency tree, the status lookup by code and phone) have nothing to
refuse and are not probed, nor are the copies of public data (replicas) and the readings the
design allows (DESIGNED). The holes still open are marked `xfail(strict=True)` with the
hole's name (HOLES), so the fix flips them into failures to unmark.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import message_factory

from motcua.dossiers.v1 import dossier_service_pb2 as dpb
from motcua.identity.v1 import account_pb2, identity_service_pb2 as ipb
from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.roles import ROLES
from motcua.notifications.v1 import notification_pb2, notification_service_pb2 as npb
from motcua.procedures.v1 import procedure_service_pb2 as ppb
from tests.authorization.probe_requests import RESOURCE_FIELDS, invalid_fields, request_for
from tests.support import auth
from tests.support.calendar_clients import calendars_stub, create_request as calendar_request
from tests.support.clients import dossiers_stub, notifications_stub, procedures_stub
from tests.support.dossiers import applicant, submit_request
from tests.support.identity import (
    identity_service_stub,
    province_admin_token,
    province_registrar_token,
    seed_agencies,
    unique_login,
    unique_personal_id,
    unique_phone,
)
from tests.support.procedures import full_create_request
from tests.support.rpcs import methods, owner
from tests.support.waiting import eventually

OWNER_AGENCY = "000.00.10.H56"  # Sở Tư pháp
CALLER_AGENCY = "000.00.15.H56"  # a sibling under the province: no say over the owner's
REFUSED = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND)
TIMEOUT = 20.0

# Listings and searches answer with what the caller's scope holds: nothing of the owner's.
LISTINGS = ("List", "Search")
# Copies of public data, read by any officer by design.
SHARED = {"DossierService.GetProcedureReplica", "DossierService.GetCalendarReplica"}
# Declared, not served yet (README): nothing to refuse until they are.
UNIMPLEMENTED: set[str] = set()

# Readings the design allows: (RPC, role) -> why. README: a notification is read by its
# recipient, or an auditor; people are not in an agency's subtree.
DESIGNED = {
    ("NotificationService.GetNotification", "auditor"): "auditors read notifications",
    ("NotificationService.StreamInbox", "auditor"): "auditors read notifications",
}

# Holes the probe finds that other work is closing: (RPC, role) -> the hole. Marked
# xfail(strict=True): once closed the case passes, fails as XPASS, and its line here goes.
HOLES: dict[tuple[str, str], str] = {}


def _name(method) -> str:
    return f"{method.containing_service.name}.{method.name}"


def probed_methods():
    """Every non-public RPC whose request names a resource."""
    for method, policy in methods():
        if policy.public or _name(method) in SHARED:
            continue
        if any(fd.name in RESOURCE_FIELDS for fd in method.input_type.fields):
            yield method, policy


def cases():
    for method, _ in probed_methods():
        for role in ROLES:
            key = (_name(method), role)
            if key in DESIGNED:
                continue
            marks = [pytest.mark.xfail(strict=True, reason=HOLES[key])] if key in HOLES else []
            yield pytest.param(method, role, marks=marks, id=f"{_name(method)}-{role}")


@pytest.fixture(scope="module")
def addresses(stack, tmp_path_factory) -> Iterator[dict[str, str]]:
    extra = {"signing": {"MOTCUA_SIGNING_DIR": str(tmp_path_factory.mktemp("signing"))}}
    started = {name: stack.service(name, **extra.get(name, {})).start()
               for name in ("procedures", "dossiers", "notifications", "signing")}
    yield {"identity": stack.identity.addr, **{name: p.addr for name, p in started.items()}}
    for process in started.values():
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def owned(stack, addresses) -> dict[str, str]:
    """The owner's resources: {resource kind or field name: id}."""
    result = seed_agencies(stack.identity.addr)
    assert result.returncode == 0, result.stdout + result.stderr
    admin = province_admin_token()
    identity = identity_service_stub(stack.identity.addr, province_registrar_token())
    citizen = identity.CreateAccount(ipb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_CITIZEN, display_name="Nguyễn Thị Hằng",
        personal_id_number=unique_personal_id(), phone=unique_phone())).account
    staff = identity.CreateAccount(ipb.CreateAccountRequest(
        kind=account_pb2.ACCOUNT_KIND_OFFICER, display_name="Lê Văn Tâm", agency_id=OWNER_AGENCY,
        unit="Phòng Hành chính tư pháp", login=unique_login("tam"), password="mật-khẩu-đủ-dài")).account
    citizen_token = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", account_id=citizen.account_id,
                               display_name="Nguyễn Thị Hằng").access_token
    owner_officer = auth.issue(agency_id=OWNER_AGENCY, account_id=staff.account_id).access_token

    procedures = procedures_stub(addresses["procedures"], admin)
    # The province's grant reaches the department once procedures' replica of the tree has it.
    procedure = eventually(lambda: procedures.CreateProcedure(full_create_request(agency_id=OWNER_AGENCY)).procedure,
                           what="the department in procedures' agency tree")
    procedures.PublishProcedure(ppb.PublishProcedureRequest(procedure_id=procedure.procedure_id))
    dossiers = dossiers_stub(addresses["dossiers"], citizen_token)
    eventually(lambda: dossiers_stub(addresses["dossiers"], owner_officer).GetProcedureReplica(
        dpb.GetProcedureReplicaRequest(procedure_id=procedure.procedure_id)), what="replica in dossiers")
    dossier = dossiers.SubmitDossier(submit_request(procedure.procedure_id, OWNER_AGENCY, applicant=applicant(
        account_id=citizen.account_id, full_name="Nguyễn Thị Hằng"))).dossier
    dossiers_stub(addresses["dossiers"], owner_officer).ReceiveDossier(
        dpb.ReceiveDossierRequest(dossier_id=dossier.dossier_id))
    inbox = notifications_stub(addresses["notifications"], citizen_token)
    notification = eventually(lambda: inbox.ListNotifications(
        npb.ListNotificationsRequest(recipient_account_id=citizen.account_id)).notifications[0],
        what="the citizen's notification")
    calendar = calendars_stub(addresses["procedures"], admin).CreateCalendar(
        calendar_request(agency_id=OWNER_AGENCY, year=2027)).calendar
    template = notifications_stub(addresses["notifications"], admin).CreateTemplate(npb.CreateTemplateRequest(
        key=f"kiem_tra_{citizen.account_id[:8]}", channel=notification_pb2.CHANNEL_IN_APP,
        body="Thông báo về hồ sơ của ông/bà")).template
    return {
        "dossier": dossier.dossier_id, "citizen": citizen.account_id, "staff": staff.account_id,
        "notification": notification.notification_id, "calendar": calendar.calendar_id,
        "procedure": procedure.procedure_id, "agency": OWNER_AGENCY, "key": "agency-seal",
        "signature_request": "3f2c8a60-5d1e-4f7b-9c2a-1b0e6d4a7c35", "template_id": template.template_id,
    }


@pytest.fixture(scope="module")
def callers(owned) -> dict[str, auth.identity_pb.IssueDevelopmentTokenResponse]:
    """One role each, of the other agency; the applicant another citizen."""
    issued = {}
    for role in auth.ALL_ROLES:
        name = Role.Name(role).removeprefix("ROLE_").lower()
        agency = "" if role == Role.ROLE_APPLICANT else CALLER_AGENCY
        issued[name] = auth.issue(roles=(role,), agency_id=agency, display_name="Đỗ Thị Mai")
    return issued


def leaks(response, owned: dict[str, str]) -> list[str]:
    """The owner's ids found in a response."""
    text = str(response)
    return [kind for kind, value in owned.items()
            if kind in ("dossier", "citizen", "staff", "notification") and value in text]


def test_the_probe_covers_every_service_and_names_only_rpcs_that_exist():
    probed = {_name(m) for m, _ in probed_methods()}
    assert {name.split("Service.")[0] for name in probed} == \
        {"Audit", "Calendar", "Dossier", "Identity", "Notification", "Procedure", "Signing"}
    assert len(probed) >= 50
    every = {_name(m) for m, _ in methods()}
    assert {rpc for rpc, _ in HOLES} | {rpc for rpc, _ in DESIGNED} | SHARED | UNIMPLEMENTED <= every


@pytest.mark.parametrize("method,role", list(cases()))
def test_another_agency_s_and_another_person_s_resources_are_refused(addresses, owned, callers, method, role):
    caller = callers[role]
    account = owned["citizen"] if role == "applicant" else owned["staff"]
    request = request_for(method, {**owned, "account": account, "assignee": caller.account_id})
    assert not invalid_fields(request), f"the probe's request is invalid: {invalid_fields(request)}"

    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    channel = auth.authorized_channel(addresses[owner(method)], caller.access_token)
    try:
        if method.server_streaming:
            stream = channel.unary_stream(path, request_serializer=request_type.SerializeToString,
                                          response_deserializer=response_type.FromString)(request, timeout=5)
            response = next(iter(stream), None)
            stream.cancel()
        else:
            response = channel.unary_unary(path, request_serializer=request_type.SerializeToString,
                                           response_deserializer=response_type.FromString)(request, timeout=TIMEOUT)
    except grpc.RpcError as error:
        if _name(method) in UNIMPLEMENTED and error.code() == grpc.StatusCode.UNIMPLEMENTED:
            return
        if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and method.server_streaming:
            pytest.fail(f"{role} of {CALLER_AGENCY} follows the owner's stream {_name(method)}")
        assert error.code() in REFUSED, (
            f"{role} of {CALLER_AGENCY or 'no agency'} on the owner's resource: {_name(method)} answered "
            f"{error.code().name}: {error.details()}")
        return
    if method.name.startswith(LISTINGS):
        assert not leaks(response, owned), f"{role} listed the owner's {leaks(response, owned)} via {_name(method)}"
        return
    pytest.fail(f"{role} of {CALLER_AGENCY} acted on the owner's resource: {_name(method)} answered "
                f"{str(response)[:300]!r}")
