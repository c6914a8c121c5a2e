"""The register, the forms and the attachments over real gRPC between real processes
(procedures, dossiers, signing; PostgreSQL and Kafka), each caller holding only their own
role's token: lists and search, work queues, statistics, the tracking book, forms by
role, the public status lookup and its rate limit, uploads checked by their bytes, and a
returned result reused by hash."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from io import BytesIO

import grpc
import pytest
from PIL import Image

from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.config import DossiersConfig
from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb, reports_pb2 as r
from motcua.identity.v1.role_pb2 import Role
from tests.support import auth
from tests.support.clients import dossiers_stub, field_violations
from tests.support.concurrency import run_concurrently
from tests.support.dossiers import published_full_procedure, today_in_vietnam
from tests.support.public_clients import anonymous_dossiers_stub

from .office import fails_with, pdf
from .pdfread import flat_text

LOOKUP_BURST = 4


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory):
    signing = stack.service("signing", MOTCUA_SIGNING_DIR=str(tmp_path_factory.mktemp("signing"))).start()
    procedures = stack.service("procedures").start()
    dossiers = stack.service(
        "dossiers",
        MOTCUA_SIGNING_ADDR=signing.addr,
        MOTCUA_DOSSIERS_LOOKUP_BURST=str(LOOKUP_BURST),
        MOTCUA_DOSSIERS_LOOKUP_PER_MINUTE="0.01",
        MOTCUA_DOSSIERS_DOCUMENTS_DIR=str(documents := tmp_path_factory.mktemp("documents")),
    ).start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr, "signing": signing.addr, "documents": documents}
    for process in (dossiers, procedures, signing):
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def procedure(processes):
    return published_full_procedure(processes["procedures"], processes["dossiers"])


def png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_lists_search_queue_statistics_and_tracking_book(procedure, office):
    first = office.received(procedure)
    second = office.received(procedure)
    office.specialist.ClaimDossier(pb.ClaimDossierRequest(dossier_id=second.dossier_id))
    today = today_in_vietnam().isoformat()

    found = office.desk.ListDossiers(pb.ListDossiersRequest(agency_id=office.agency, query="nguyen thi hong")).dossiers
    assert {x.dossier_id for x in found} == {first.dossier_id, second.dossier_id}
    assert found[0].applicant.full_name == "Nguyễn Thị Hồng Nhung" and not found[0].applicant.identity_number
    by_code = office.citizen.ListDossiers(pb.ListDossiersRequest(query=first.code)).dossiers
    assert [x.dossier_id for x in by_code] == [first.dossier_id]

    mine = office.specialist.ListWorkQueue(pb.ListWorkQueueRequest(scope=pb.WORK_QUEUE_SCOPE_MINE)).dossiers
    assert [x.dossier_id for x in mine] == [second.dossier_id] and mine[0].state == d.DOSSIER_STATE_IN_PROCESS
    fails_with(
        grpc.StatusCode.PERMISSION_DENIED,
        office.citizen.ListWorkQueue,
        pb.ListWorkQueueRequest(scope=pb.WORK_QUEUE_SCOPE_AGENCY),
    )

    stats = office.leader.GetDossierStatistics(
        pb.GetDossierStatisticsRequest(agency_id=office.agency, start_date=today, end_date=today)
    )
    assert (stats.total.received, stats.total.received_online, stats.total.in_process) == (2, 2, 2)
    assert [p.procedure_id for p in stats.procedures] == [procedure.procedure_id] and stats.total.online_share == 1.0
    outsider = dossiers_stub(office.addr, auth.issue(roles=(Role.ROLE_LEADER,), agency_id="000.00.99.H99").access_token)
    fails_with(grpc.StatusCode.PERMISSION_DENIED, outsider.GetDossierStatistics,
               pb.GetDossierStatisticsRequest(agency_id=office.agency, start_date=today, end_date=today))
    error = fails_with(grpc.StatusCode.INVALID_ARGUMENT, office.leader.GetDossierStatistics,
                       pb.GetDossierStatisticsRequest(agency_id=office.agency, start_date=today, end_date="2000-01-01"))
    assert "end_date" in field_violations(error)

    book = office.desk.RenderTrackingBook(
        pb.RenderTrackingBookRequest(agency_id=office.agency, start_date=today, end_date=today)
    )
    text = flat_text(book.pdf)
    assert book.entries == 2 and first.code in text and second.code in text and "Nguyễn Thị Hồng Nhung" in text


def altered_position(token: str, position: list) -> str:
    """The token with another position in it, its query's digest kept: a hand-made token that
    passes for one of this list's."""
    version, digest, _ = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return base64.urlsafe_b64encode(json.dumps([version, digest, position]).encode()).decode().rstrip("=")


def test_page_tokens_walk_a_list_and_continue_only_their_own_query(procedure, office):
    received = [office.received(procedure) for _ in range(2)]
    submitted = office.submit(procedure)

    def search(page_token: str = "", **filters) -> pb.ListDossiersRequest:
        return pb.ListDossiersRequest(agency_id=office.agency, page_size=1, page_token=page_token, **filters)

    walked, token = [], ""
    while True:
        page = office.desk.ListDossiers(search(token))
        walked += [x.dossier_id for x in page.dossiers]
        token = page.next_page_token
        if not token:
            break
    assert walked == [submitted.dossier_id, *reversed([x.dossier_id for x in received])]
    # The queue runs soonest due first, the dossier not yet received (no due date) last.
    first = office.desk.ListWorkQueue(pb.ListWorkQueueRequest(scope=pb.WORK_QUEUE_SCOPE_AGENCY, page_size=2))
    rest = office.desk.ListWorkQueue(pb.ListWorkQueueRequest(scope=pb.WORK_QUEUE_SCOPE_AGENCY, page_size=2,
                                                             page_token=first.next_page_token))
    assert [x.dossier_id for x in [*first.dossiers, *rest.dossiers]][-1] == submitted.dossier_id
    assert not rest.next_page_token

    token = office.desk.ListDossiers(search()).next_page_token
    for other_query in [
        search(token, query="nguyen"),
        search(token, state=d.DOSSIER_STATE_RECEIVED),
        pb.ListDossiersRequest(page_size=1, page_token=token),
        search(token[:-2]),
        search("not-ours"),
        search(altered_position(token, ["yesterday", submitted.dossier_id])),
        search(altered_position(token, ["2026-01-05 08:30:00", submitted.dossier_id])),  # no offset
        search(altered_position(token, ["2026-01-05 08:30:00+07", "not-an-id"])),
        search(altered_position(token, [20260105, submitted.dossier_id])),
        pb.ListWorkQueueRequest(scope=pb.WORK_QUEUE_SCOPE_AGENCY, page_size=2, page_token=token),
    ]:
        call = (
            office.desk.ListDossiers if isinstance(other_query, pb.ListDossiersRequest) else office.desk.ListWorkQueue
        )
        error = fails_with(grpc.StatusCode.INVALID_ARGUMENT, call, other_query)
        assert set(field_violations(error)) == {"page_token"}
    # A well-formed position of the list's own making is a place to start from.
    moved = altered_position(token, ["2000-01-01 00:00:00+07", submitted.dossier_id])
    assert not office.desk.ListDossiers(search(moved)).dossiers


def test_forms_by_role(procedure, office):
    dossier = office.received(procedure)
    receipt = office.citizen.RenderDossierForm(
        pb.RenderDossierFormRequest(dossier_id=dossier.dossier_id, form=r.DOSSIER_FORM_RECEIPT)
    )
    assert receipt.pdf.startswith(b"%PDF-") and receipt.file_name == f"{dossier.code}-01.pdf"
    assert dossier.code in flat_text(receipt.pdf) and "Nguyễn Thị Hồng Nhung" in flat_text(receipt.pdf)
    # The control slip is the agency's record: its officers only.
    fails_with(grpc.StatusCode.PERMISSION_DENIED, office.citizen.RenderDossierForm,
               pb.RenderDossierFormRequest(dossier_id=dossier.dossier_id, form=r.DOSSIER_FORM_CONTROL_SLIP))
    slip = office.desk.RenderDossierForm(
        pb.RenderDossierFormRequest(dossier_id=dossier.dossier_id, form=r.DOSSIER_FORM_CONTROL_SLIP)
    )
    assert dossier.code in flat_text(slip.pdf)
    # No supplement was requested: there is no such form to render.
    fails_with(grpc.StatusCode.FAILED_PRECONDITION, office.desk.RenderDossierForm,
               pb.RenderDossierFormRequest(dossier_id=dossier.dossier_id, form=r.DOSSIER_FORM_SUPPLEMENT_REQUEST))
    items = [d.SupplementItem(document="Giấy chứng sinh", problem="Bản sao chưa chứng thực")]
    office.desk.ClaimDossier(pb.ClaimDossierRequest(dossier_id=dossier.dossier_id))
    office.desk.RequestSupplement(pb.RequestSupplementRequest(dossier_id=dossier.dossier_id, items=items))
    request = office.citizen.RenderDossierForm(pb.RenderDossierFormRequest(dossier_id=dossier.dossier_id,
                                                                            form=r.DOSSIER_FORM_SUPPLEMENT_REQUEST))
    assert "Bản sao chưa chứng thực" in flat_text(request.pdf)
    stranger = dossiers_stub(office.addr, auth.issue(roles=(Role.ROLE_APPLICANT,), agency_id="").access_token)
    fails_with(grpc.StatusCode.PERMISSION_DENIED, stranger.RenderDossierForm,
               pb.RenderDossierFormRequest(dossier_id=dossier.dossier_id, form=r.DOSSIER_FORM_RECEIPT))


def test_the_public_lookup_tells_state_and_dates_only_and_is_rate_limited(processes, procedure, office):
    dossier = office.received(procedure)
    anonymous = anonymous_dossiers_stub(processes["dossiers"])
    fails_with(
        grpc.StatusCode.UNAUTHENTICATED, anonymous.GetDossier, pb.GetDossierRequest(dossier_id=dossier.dossier_id)
    )
    status = anonymous.LookUpDossierStatus(
        pb.LookUpDossierStatusRequest(code=dossier.code, phone="0912 345 678")
    ).status
    assert (status.code, status.state) == (dossier.code, d.DOSSIER_STATE_RECEIVED)
    assert status.appointed_return_time == dossier.appointed_return_time
    assert {f.name for f, _ in status.ListFields()} <= {
        "code",
        "state",
        "submit_time",
        "receive_time",
        "appointed_return_time",
    }
    fails_with(grpc.StatusCode.NOT_FOUND, anonymous.LookUpDossierStatus,
               pb.LookUpDossierStatusRequest(code=dossier.code, phone="0900000000"))
    error = fails_with(grpc.StatusCode.INVALID_ARGUMENT, anonymous.LookUpDossierStatus,
                       pb.LookUpDossierStatusRequest(code="not a code", phone="0912345678"))
    assert "code" in field_violations(error)
    codes = []
    for _ in range(LOOKUP_BURST):
        try:
            anonymous.LookUpDossierStatus(pb.LookUpDossierStatusRequest(code=dossier.code, phone="0912345678"))
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as e:
            codes.append(e.code())
    assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED  # a burst of 4, nearly no refill


def test_uploads_are_checked_by_their_bytes(procedure, office):
    dossier = office.submit(procedure)
    image = png()
    added = office.citizen.AddAttachment(pb.AddAttachmentRequest(
        dossier_id=dossier.dossier_id, name="Ảnh chân dung", content=image, content_type="image/png")).dossier
    (attachment,) = added.attachments
    assert (attachment.name, attachment.content_type, attachment.size_bytes) == (
        "Ảnh chân dung",
        "image/png",
        len(image),
    )
    assert attachment.sha256 == hashlib.sha256(image).hexdigest()
    error = fails_with(
        grpc.StatusCode.INVALID_ARGUMENT,
        office.citizen.AddAttachment,
        pb.AddAttachmentRequest(
            dossier_id=dossier.dossier_id,
            name="Tờ khai",
            content=b"<html>not a pdf</html>",
            content_type="application/pdf",
        ),
    )
    assert "content" in field_violations(error)
    error = fails_with(grpc.StatusCode.INVALID_ARGUMENT, office.citizen.AddAttachment, pb.AddAttachmentRequest(
        dossier_id=dossier.dossier_id, name="Tờ khai", content=image, content_type="application/pdf"))
    assert "content_type" in field_violations(error)
    pdf_added = office.desk.AddAttachment(
        pb.AddAttachmentRequest(dossier_id=dossier.dossier_id, name="Tờ khai", content=pdf())
    ).dossier
    assert [a.content_type for a in pdf_added.attachments] == ["image/png", "application/pdf"]


def test_the_same_bytes_uploaded_at_once_are_stored_once_and_intact(stack, processes, procedure, office):
    dossier_ids = [office.submit(procedure).dossier_id for _ in range(6)]
    # One scanned file attached to several dossiers at once (e.g. the same identity card):
    # large enough that the writes overlap in the service's worker threads.
    content = pdf() + b"%" + uuid.uuid4().hex.encode() * 40_000 + b"\n"
    outcomes = run_concurrently(len(dossier_ids), lambda i: office.citizen.AddAttachment(pb.AddAttachmentRequest(
        dossier_id=dossier_ids[i], name="Căn cước công dân", content=content)).dossier)
    assert all(isinstance(o, d.Dossier) for o in outcomes), outcomes
    sha = hashlib.sha256(content).hexdigest()
    assert {o.attachments[0].sha256 for o in outcomes} == {sha}
    documents = processes["documents"]
    # Once for the applicant, sealed under their key (nonce and tag added); it opens intact.
    (kept,) = (documents / sha[:2]).glob(f"{sha}.*")
    assert len(kept.read_bytes()) == len(content) + 28 and kept.read_bytes() != content
    env = {"MOTCUA_DOSSIERS_DOCUMENTS_DIR": str(documents)}
    app = DossiersApplication(stack.settings("dossiers", **env), config=DossiersConfig.from_env(env))
    try:
        assert all(app.attachment_content(uuid.UUID(i), sha) == content for i in dossier_ids)
    finally:
        app.close()
    assert [p.name for p in documents.rglob(".*")] == []  # no temporary file left behind


def test_a_returned_result_is_reused_by_its_hash(procedure, office):
    earlier = office.received(procedure).dossier_id
    office.desk.ClaimDossier(pb.ClaimDossierRequest(dossier_id=earlier))
    office.desk.CompleteStep(pb.CompleteStepRequest(dossier_id=earlier))
    office.leader.CompleteStep(pb.CompleteStepRequest(dossier_id=earlier))
    ready = office.desk.MarkResultReady(
        pb.MarkResultReadyRequest(dossier_id=earlier, result_document=pdf(), result_name="Giấy khai sinh")
    ).dossier
    sha = ready.processing.signed_document_sha256
    later = office.submit(procedure).dossier_id
    reuse = pb.AttachIssuedResultRequest(
        dossier_id=later, name="Giấy khai sinh (bản sao)", source_dossier_id=earlier, sha256=sha
    )
    error = fails_with(grpc.StatusCode.INVALID_ARGUMENT, office.citizen.AttachIssuedResult, reuse)  # not returned yet
    assert "sha256" in field_violations(error)
    office.desk.RecordPayment(
        pb.RecordPaymentRequest(
            dossier_id=earlier, idempotency_key=str(uuid.uuid4()), amount_vnd=11000, method="cash", reference="BL-1"
        )
    )
    office.desk.ReturnResult(pb.ReturnResultRequest(dossier_id=earlier))
    wrong = pb.AttachIssuedResultRequest(
        dossier_id=later, name="Giấy khai sinh", source_dossier_id=earlier, sha256="0" * 64
    )
    assert "sha256" in field_violations(
        fails_with(grpc.StatusCode.INVALID_ARGUMENT, office.citizen.AttachIssuedResult, wrong)
    )
    (attachment,) = office.citizen.AttachIssuedResult(reuse).dossier.attachments
    assert (attachment.sha256, attachment.source_dossier_id) == (sha, earlier)
