"""Forms sealed when rendered, downloaded through the gateway as `application/pdf`, against the
real procedures, dossiers and signing services: with `seal=true` a dossier's form (01) and an
agency's tracking book (07) carry the seal of the agency (the signing service's key for
SIGNING_PURPOSE_DOSSIER_FORM), on the officer's authority; without it, no signature; an
applicant cannot have a form sealed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from motcua.dossiers.v1 import dossier_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from motcua.signing.v1 import signature_verification_pb2 as vpb, signing_service_pb2 as spb
from tests.gateway.support import Gateway, StartGateway, http
from tests.support import auth
from tests.support.clients import dossiers_stub, signing_stub
from tests.support.dossiers import applicant, fresh_agency, published_full_procedure, submit_request

pytestmark = pytest.mark.timeout(900)  # three services and the gateway start within the first test


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory) -> Iterator[dict[str, str]]:
    signing = stack.service("signing", MOTCUA_SIGNING_DIR=str(tmp_path_factory.mktemp("signing"))).start(timeout=300)
    procedures = stack.service("procedures").start(timeout=300)
    dossiers = stack.service("dossiers", MOTCUA_SIGNING_ADDR=signing.addr).start(timeout=300)
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr, "signing": signing.addr}
    for process in (dossiers, procedures, signing):
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def gw(processes, start_module_gateway: StartGateway) -> Gateway:
    return start_module_gateway(processes, timeout=300)


@pytest.fixture(scope="module")
def procedure(processes):
    return published_full_procedure(processes["procedures"], processes["dossiers"])


@pytest.fixture(scope="module")
def received(processes, procedure):
    """A dossier received by the desk of a fresh agency: (agency, dossier id, desk token, citizen
    token)."""
    agency = fresh_agency()
    citizen = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Phạm Thị Thu Hà")
    dossier = dossiers_stub(processes["dossiers"], citizen.access_token).SubmitDossier(submit_request(
        procedure.procedure_id, agency, applicant=applicant(account_id=citizen.account_id))).dossier
    desk = auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=agency).access_token
    dossiers_stub(processes["dossiers"], desk).ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=dossier.dossier_id))
    return agency, dossier.dossier_id, desk, citizen.access_token


def download(gw: Gateway, path: str, token: str, **query: str):
    return http("GET", f"{gw.url}{path}?{urlencode(query)}",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/pdf"})


def signatures(processes, token: str, document: bytes) -> list[vpb.SignatureVerification]:
    return list(signing_stub(processes["signing"], token).VerifyDocument(
        spb.VerifyDocumentRequest(document=document)).signatures)


def test_a_form_rendered_with_seal_carries_the_agencys_seal(gw, processes, received):
    agency, dossier_id, desk, _ = received
    path = f"/v1/dossiers/{dossier_id}:renderForm"
    sealed = download(gw, path, desk, form="DOSSIER_FORM_RECEIPT", seal="true")
    assert sealed.status == 200, sealed.raw[:300]
    assert sealed.content_type == "application/pdf"
    assert sealed.headers["content-disposition"].startswith("attachment; filename=")
    (report,) = signatures(processes, desk, sealed.raw)
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
    assert report.integrity_ok and report.covers_whole_document

    plain = download(gw, path, desk, form="DOSSIER_FORM_RECEIPT")
    assert plain.status == 200 and plain.content_type == "application/pdf"
    assert signatures(processes, desk, plain.raw) == []
    assert sealed.raw.startswith(plain.raw[:plain.raw.index(b"%%EOF")])  # the seal is an update of the form


def test_an_applicant_cannot_have_a_form_sealed(gw, received):
    _, dossier_id, _, citizen = received
    path = f"/v1/dossiers/{dossier_id}:renderForm"
    refused = http("GET", f"{gw.url}{path}?{urlencode({'form': 'DOSSIER_FORM_RECEIPT', 'seal': 'true'})}",
                   headers={"Authorization": f"Bearer {citizen}"})
    assert refused.status == 403, refused.raw[:300]
    assert download(gw, path, citizen, form="DOSSIER_FORM_RECEIPT").status == 200  # unsealed, as before


def test_the_tracking_book_rendered_with_seal_carries_the_agencys_seal(gw, processes, received):
    agency, _, desk, _ = received
    today = dt.datetime.now(dt.UTC).date()
    book = download(gw, "/v1/tracking-book", desk, agency_id=agency, start_date=str(today - dt.timedelta(days=1)),
                    end_date=str(today + dt.timedelta(days=1)), seal="true")
    assert book.status == 200, book.raw[:300]
    assert book.content_type == "application/pdf"
    (report,) = signatures(processes, desk, book.raw)
    assert report.status == vpb.VERIFICATION_STATUS_VALID, report.detail
