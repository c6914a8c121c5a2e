"""Files as files through the gateway, against the real procedures, dossiers and signing
services: an attachment uploaded as a raw PDF body or as multipart/form-data (no base64), a
form and a signed document downloaded as `application/pdf` with a Content-Disposition."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest

from motcua.dossiers.v1 import dossier_service_pb2 as pb
from motcua.identity.v1.role_pb2 import Role
from tests.dossiers.office import pdf
from tests.dossiers.test_register_api import png
from tests.gateway.support import Gateway, StartGateway, http
from tests.signing.pdfs import vietnamese_pdf
from tests.support import auth
from tests.support.clients import dossiers_stub
from tests.support.dossiers import applicant, fresh_agency, published_full_procedure, submit_request

PROVINCE = "000.00.00.H56"  # whose seal the development PKI's agency-seal is
ATTACHMENT_LIMIT = 10 * 1024 * 1024  # AddAttachmentRequest.content's rule in the proto


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory) -> Iterator[dict[str, str]]:
    procedures = stack.service("procedures").start()
    dossiers = stack.service("dossiers", MOTCUA_DOSSIERS_DOCUMENTS_DIR=str(tmp_path_factory.mktemp("documents")),
                             MOTCUA_DOSSIERS_MAX_ATTACHMENT_BYTES_PER_DOSSIER=str(3 * ATTACHMENT_LIMIT),
                             MOTCUA_DOSSIERS_MAX_ATTACHMENT_BYTES_PER_APPLICANT=str(3 * ATTACHMENT_LIMIT)).start()
    signing = stack.service("signing", MOTCUA_SIGNING_DIR=str(tmp_path_factory.mktemp("signing"))).start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr, "signing": signing.addr}
    for process in (signing, dossiers, procedures):
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def gw(processes, start_module_gateway: StartGateway) -> Gateway:
    return start_module_gateway(processes)


@pytest.fixture(scope="module")
def procedure(processes):
    return published_full_procedure(processes["procedures"], processes["dossiers"])


class Citizen:
    def __init__(self, processes, procedure) -> None:
        self.agency = fresh_agency()
        issued = auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="", display_name="Nguyễn Thị Hồng Nhung")
        self.token = issued.access_token
        self.stub = dossiers_stub(processes["dossiers"], self.token)
        self.dossier = self.stub.SubmitDossier(submit_request(
            procedure.procedure_id, self.agency, applicant=applicant(account_id=issued.account_id))).dossier

    def headers(self, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **more}


def multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser's FormData makes it; returns (body, Content-Type)."""
    boundary = f"----motcua{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode("utf-8") + b"\r\n")
    for name, (filename, media, content) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: {media}\r\n\r\n'.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def attachments_url(gw: Gateway, citizen: Citizen, **query: str) -> str:
    return f"{gw.url}/v1/dossiers/{citizen.dossier.dossier_id}/attachments" + (f"?{urlencode(query)}" if query else "")


def test_an_attachment_uploads_as_the_raw_pdf(gw, processes, procedure):
    citizen = Citizen(processes, procedure)
    document = pdf()
    reply = http("POST", attachments_url(gw, citizen, name="Giấy khai sinh (bản chính)"), raw=document,
                 headers=citizen.headers(**{"Content-Type": "application/pdf"}))
    assert reply.status == 200, reply.raw
    (attachment,) = reply.json["dossier"]["attachments"]
    assert attachment["name"] == "Giấy khai sinh (bản chính)"
    assert attachment["content_type"] == "application/pdf"
    # The service holds exactly the bytes sent: no base64 on the way.
    assert attachment["sha256"] == hashlib.sha256(document).hexdigest()
    assert int(attachment["size_bytes"]) == len(document)
    stored = citizen.stub.GetDossier(pb.GetDossierRequest(dossier_id=citizen.dossier.dossier_id)).dossier
    assert stored.attachments[0].sha256 == hashlib.sha256(document).hexdigest()


def test_an_attachment_uploads_as_multipart_form_data(gw, processes, procedure):
    citizen = Citizen(processes, procedure)
    image = png()
    body, content_type = multipart({"name": "Ảnh chân dung 4×6"}, {"content": ("chan-dung.png", "image/png", image)})
    reply = http("POST", attachments_url(gw, citizen), raw=body,
                 headers=citizen.headers(**{"Content-Type": content_type}))
    assert reply.status == 200, reply.raw
    (attachment,) = reply.json["dossier"]["attachments"]
    assert (attachment["name"], attachment["content_type"]) == ("Ảnh chân dung 4×6", "image/png")
    assert attachment["sha256"] == hashlib.sha256(image).hexdigest()
    # Without a name field, the file's name names the document.
    body, content_type = multipart({}, {"content": ("Giấy chứng sinh.pdf", "application/pdf", pdf())})
    reply = http("POST", attachments_url(gw, citizen), raw=body,
                 headers=citizen.headers(**{"Content-Type": content_type}))
    assert reply.status == 200, reply.raw
    assert [a["name"] for a in reply.json["dossier"]["attachments"]] == ["Ảnh chân dung 4×6", "Giấy chứng sinh.pdf"]


def test_bad_uploads_are_refused_naming_the_field(gw, processes, procedure):
    citizen = Citizen(processes, procedure)
    no_file, content_type = multipart({"name": "Không có tệp"}, {})
    wrong_part, wrong_type = multipart({"name": "Sai tên"}, {"file": ("a.pdf", "application/pdf", pdf())})
    unknown_field = http("POST", attachments_url(gw, citizen, name="x", colour="blue"), raw=pdf(),
                         headers=citizen.headers(**{"Content-Type": "application/pdf"}))
    too_large = http("POST", attachments_url(gw, citizen, name="Quá lớn"), raw=b"%PDF-" + bytes(ATTACHMENT_LIMIT),
                     headers=citizen.headers(**{"Content-Type": "application/pdf"}))
    for reply, field in ((http("POST", attachments_url(gw, citizen), raw=no_file,
                               headers=citizen.headers(**{"Content-Type": content_type})), "content"),
                         (http("POST", attachments_url(gw, citizen), raw=wrong_part,
                               headers=citizen.headers(**{"Content-Type": wrong_type})), "file"),
                         (unknown_field, "colour"), (too_large, "content")):
        assert reply.status == 400, reply.raw[:500]
        violations = reply.json["error"]["details"][0]["field_violations"]
        assert violations[0]["field"] == field, violations
    # Nothing was written by the refused calls.
    stored = citizen.stub.GetDossier(pb.GetDossierRequest(dossier_id=citizen.dossier.dossier_id)).dossier
    assert not stored.attachments


def test_a_form_downloads_as_a_pdf_file(gw, processes, procedure):
    citizen = Citizen(processes, procedure)
    desk = dossiers_stub(processes["dossiers"], auth.issue(roles=(Role.ROLE_DESK_OFFICER,),
                                                           agency_id=citizen.agency).access_token)
    desk.ReceiveDossier(pb.ReceiveDossierRequest(dossier_id=citizen.dossier.dossier_id))
    path = f"/v1/dossiers/{citizen.dossier.dossier_id}:renderForm?form=DOSSIER_FORM_RECEIPT"
    as_json = http("GET", gw.url + path, headers=citizen.headers())
    assert as_json.status == 200, as_json.raw
    as_file = http("GET", gw.url + path, headers=citizen.headers(Accept="application/pdf"))
    assert as_file.status == 200, as_file.raw[:300]
    assert as_file.content_type == "application/pdf"
    assert as_file.raw.startswith(b"%PDF-") and as_file.raw.rstrip().endswith(b"%%EOF")
    file_name = as_json.json["file_name"]
    assert file_name.endswith(".pdf")
    assert as_file.headers["content-disposition"] == (
        f"attachment; filename=\"{file_name}\"; filename*=UTF-8''{quote(file_name, safe='')}")
    assert base64.b64decode(as_json.json["pdf"]).startswith(b"%PDF-")


def test_a_document_uploads_signs_and_downloads_as_pdf_files(gw):
    leader = auth.issue(roles=(Role.ROLE_LEADER,), agency_id=PROVINCE).access_token
    original = vietnamese_pdf()
    query = urlencode({"purpose": "SIGNING_PURPOSE_CERTIFIED_COPY", "reason": "Chứng thực bản sao điện tử",
                       "document_reference": "Số chứng thực 126/2026/SCT/BS"})
    signed = http("POST", f"{gw.url}/v1/documents:sign?{query}", raw=original,
                  headers={"Authorization": f"Bearer {leader}", "Content-Type": "application/pdf",
                           "Accept": "application/pdf"})
    assert signed.status == 200, signed.raw[:500]
    assert signed.content_type == "application/pdf"
    assert signed.headers["content-disposition"].startswith("attachment; filename=")
    # An incremental update: the document as sent, byte for byte, then the signature.
    assert signed.raw.startswith(original) and len(signed.raw) > len(original)
    verified = http("POST", f"{gw.url}/v1/documents:verify", raw=signed.raw,
                    headers={"Authorization": f"Bearer {leader}", "Content-Type": "application/pdf"})
    assert verified.status == 200, verified.raw[:500]
    (signature,) = verified.json["signatures"]
    assert signature["integrity_ok"] is True and signature["covers_whole_document"] is True, signature


def test_the_openapi_document_declares_files_where_files_travel():
    from motcua.gateway.descriptors import load_api
    from motcua.gateway.openapi import build_openapi

    paths = build_openapi(load_api())["paths"]
    upload = paths["/v1/dossiers/{dossier_id}/attachments"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data", "application/octet-stream"} == set(upload)
    assert upload["multipart/form-data"]["schema"]["required"] == ["content"]
    for path, verb in (("/v1/dossiers/{dossier_id}:renderForm", "get"), ("/v1/tracking-book", "get"),
                       ("/v1/signature-requests/{signature_request_id}/signed-document", "get")):
        assert "application/pdf" in paths[path][verb]["responses"]["200"]["content"], path
    # A message without one file keeps JSON alone.
    assert set(paths["/v1/procedures"]["post"]["requestBody"]["content"]) == {"application/json"}
