"""README's walk-through with curl, through the REST gateway only, against real processes:
catalog → dossier → notification → signed PDF → audit history, and the receive call in one trace."""

from __future__ import annotations

import base64
import json
import re
import uuid

from opentelemetry.trace import SpanKind

from tests.gateway.support import Gateway
from tests.signing.pdfs import vietnamese_pdf
from tests.support.clients import new_traceparent
from tests.support.waiting import eventually

from .support import (
    appointed_date,
    audit_history,
    describe,
    has,
    ok,
    retry_while,
    unique_agency_id,
    unique_procedure_code,
)

APPLICANT_NAME = "Nguyễn Thị Hằng"
PROCEDURE_NAME = "Đăng ký kết hôn"
RECEIVE_RPC = "/motcua.dossiers.v1.DossierService/ReceiveDossier"


def bearer(issued: dict) -> dict[str, str]:
    return {"Authorization": f"{issued['token_type']} {issued['access_token']}"}


def test_walkthrough(stack, gateway: Gateway):
    # 0. Tokens: nothing without one (but the public catalog); development tokens for an officer and
    # a citizen.
    assert gateway.call("GET", "/v1/procedures/" + str(uuid.uuid4()), anonymous=True).status == 404
    refused = gateway.call("GET", "/v1/dossiers/" + str(uuid.uuid4()), anonymous=True)
    assert refused.status == 401 and refused.json["error"]["status"] == "UNAUTHENTICATED", refused.json
    # The dossier goes to an agency of its own (fresh numbers); the officer's roles are granted per
    # agency: their department's, and the desk of that agency.
    agency_id = unique_agency_id()
    officer_token = ok(gateway.call("POST", "/v1/tokens:issueDevelopment", {
        "roles": ["ROLE_ADMINISTRATOR", "ROLE_DESK_OFFICER", "ROLE_LEADER"], "agency_id": "000.00.10.H56",
        "grants": [{"role": "ROLE_DESK_OFFICER", "agency_id": agency_id}],
        "display_name": "Lê Văn Tâm"}, anonymous=True))
    officer, officer_id = bearer(officer_token), officer_token["account_id"]
    citizen_token = ok(gateway.call("POST", "/v1/tokens:issueDevelopment", {
        "roles": ["ROLE_APPLICANT"], "display_name": APPLICANT_NAME}, anonymous=True))
    citizen, account_id = bearer(citizen_token), citizen_token["account_id"]

    # 1. The catalog: create a procedure and publish it.
    code = unique_procedure_code()
    created = ok(gateway.call("POST", "/v1/procedures", {
        "code": code, "name": PROCEDURE_NAME, "agency_id": "000.00.10.H56", "processing_days": 3,
    }, headers=officer))["procedure"]
    assert created["name"] == PROCEDURE_NAME
    assert created["state"] == "PROCEDURE_STATE_DRAFT"
    procedure_id = created["procedure_id"]
    published = ok(gateway.call("POST", f"/v1/procedures/{procedure_id}:publish", {"expected_version": "1"},
                                headers=officer))
    assert published["procedure"]["state"] == "PROCEDURE_STATE_PUBLISHED"

    # 2. A citizen submits a dossier, once the dossiers service has its copy of the procedure.
    assert re.fullmatch(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}", agency_id)
    submit = {
        "procedure_id": procedure_id, "agency_id": agency_id, "channel": "SUBMISSION_CHANNEL_ONLINE",
        "applicant": {"kind": "APPLICANT_KIND_CITIZEN", "account_id": account_id, "full_name": APPLICANT_NAME,
                      "identity_number": "038190001234", "phone": "0912345678"},
    }
    submitted = ok(retry_while(lambda: gateway.call("POST", "/v1/dossiers:submit", submit, headers=citizen),
                               "FAILED_PRECONDITION"))
    dossier = submitted["dossier"]
    dossier_id = dossier["dossier_id"]
    assert dossier["applicant"]["full_name"] == APPLICANT_NAME
    assert re.fullmatch(re.escape(agency_id) + r"-[0-9]{6}-[0-9]{4}", dossier["code"]), dossier["code"]

    # 3. The desk receives it, in a trace of the caller's.
    traceparent, trace_id = new_traceparent()
    caller_span_id = traceparent.split("-")[2]
    received = ok(gateway.call("POST", f"/v1/dossiers/{dossier_id}:receive", {},
                               headers={**officer, "traceparent": traceparent}))
    dossier = received["dossier"]
    assert dossier["state"] == "DOSSIER_STATE_RECEIVED", dossier
    date = appointed_date(dossier)

    # 4. The notifications service turned DossierReceived into an in-app notification.
    def notifications() -> list[dict]:
        return ok(gateway.call("GET", f"/v1/notifications?recipient_account_id={account_id}",
                               headers=citizen)).get("notifications", [])

    (notification,) = eventually(notifications, timeout=30, what="the applicant's notification")
    assert notification["dossier_id"] == dossier_id
    assert dossier["code"] in notification["body"], notification
    assert date in notification["body"], notification
    assert "tiếp nhận" in notification["body"], notification

    # 5. Seal a PDF with the officer's agency's development seal, then verify it; the province's
    #    seal is not theirs to use.
    pdf = vietnamese_pdf()
    sign = {"document": base64.b64encode(pdf).decode("ascii"), "reason": "Cấp bản chính", "location": "Thanh Hóa",
            "purpose": "SIGNING_PURPOSE_CERTIFIED_COPY", "document_reference": "Số chứng thực 01/2026/SCT/BS"}
    not_theirs = gateway.call("POST", "/v1/documents:sign", {**sign, "key_id": "agency-seal"}, headers=officer)
    assert not_theirs.status == 403 and "KEY_NOT_OWNED" in str(not_theirs.json), not_theirs.json
    signed = ok(gateway.call("POST", "/v1/documents:sign", sign, headers=officer))
    assert signed["agency_id"] == "000.00.10.H56", signed
    signed_pdf = base64.b64decode(signed["signed_document"])
    assert signed_pdf.startswith(b"%PDF-") and len(signed_pdf) > len(pdf)
    verified = ok(gateway.call("POST", "/v1/documents:verify", {"document": signed["signed_document"]},
                               headers=officer))
    (signature,) = verified["signatures"]
    assert signature["status"] == "VERIFICATION_STATUS_VALID", signature
    assert signature["trusted"] is True, signature
    assert signature["signer_name"] == "Sở Tư pháp", signature

    # 6. The auditor's view, replayed from the dossiers event log.
    history = audit_history(stack, "dossiers", dossier_id)
    assert [event["type"] for event in history] == ["Dossier.Submitted", "Dossier.Received"], history
    submitted_event, received_event = history
    assert submitted_event["actor"] == account_id  # who did what, from their tokens
    assert (received_event["actor"], received_event["agency_id"]) == (officer_id, "000.00.10.H56")
    # The applicant's personal fields are sealed under their own key: the auditor, who holds
    # none, reads whose they are and not what they say.
    sealed_applicant = submitted_event["data"]["applicant"]
    assert "full_name" not in sealed_applicant and APPLICANT_NAME not in json.dumps(sealed_applicant)
    assert sealed_applicant["subject_id"] == f"account:{account_id}"
    assert submitted_event["data"]["code"] == received_event["data"]["code"] == dossier["code"]
    assert received_event["traceparent"].split("-")[1] == trace_id  # the event remembers the caller's trace

    # 7. One trace: REST call → gRPC call → commit → publish → consume → the notification's commit.
    expected = [
        ("gateway", "POST /v1/dossiers/{dossier_id}:receive", SpanKind.SERVER),
        ("gateway", RECEIVE_RPC, SpanKind.CLIENT),
        ("dossiers", RECEIVE_RPC, SpanKind.SERVER),
        ("dossiers", "eventstore.commit", SpanKind.CLIENT),
        ("dossiers", "motcua.dossiers.events.v1 publish", SpanKind.PRODUCER),
        ("notifications", "motcua.dossiers.events.v1 process", SpanKind.CONSUMER),
        ("notifications", "eventstore.commit", SpanKind.CLIENT),
    ]

    def complete(spans) -> bool:
        return all(has(spans, service, name) for service, name, _ in expected)

    spans = stack.collector.wait_for(trace_id, complete)
    assert complete(spans), "missing spans; the trace holds:\n" + describe(spans)

    def one(service: str, name: str, kind: SpanKind):
        matches = [s for s in spans if s.service == service and s.name == name and s.kind == kind.value + 1]
        assert len(matches) == 1, f"{service} {name} {kind.name}:\n" + describe(spans)
        return matches[0]

    rest, client, server, commit, publish, consume, applied = (one(*span) for span in expected)
    # Each hop is the child of the one before it; the first, of the caller's span.
    assert rest.parent_span_id == caller_span_id
    assert client.parent_span_id == rest.span_id
    assert server.parent_span_id == client.span_id
    assert commit.parent_span_id == server.span_id
    assert publish.parent_span_id == commit.span_id
    assert consume.parent_span_id == publish.span_id
    assert applied.parent_span_id == consume.span_id
    assert server.attributes["rpc.method"] == "ReceiveDossier"
    assert consume.attributes["motcua.event.type"] == "motcua.dossiers.v1.DossierReceived"
    assert received_event["traceparent"].split("-")[2] == commit.span_id
