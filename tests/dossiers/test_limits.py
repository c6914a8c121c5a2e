"""What one applicant may hold, over real gRPC: open drafts per applicant account and
attachment bytes per dossier and per applicant account, each refused with RESOURCE_EXHAUSTED
naming the limit and its setting, and nothing written by a refused call."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb
from tests.support.dossiers import applicant, published_full_procedure

from .office import fails_with
from .test_register_api import png

MAX_OPEN_DRAFTS = 2
IMAGE = png()
MAX_BYTES_PER_DOSSIER = 2 * len(IMAGE) + len(IMAGE) // 2  # room for two images, not three
MAX_BYTES_PER_APPLICANT = 3 * len(IMAGE) + len(IMAGE) // 2  # three images over all of one's dossiers


@pytest.fixture(scope="module")
def processes(stack, tmp_path_factory):
    procedures = stack.service("procedures").start()
    dossiers = stack.service("dossiers", MOTCUA_DOSSIERS_MAX_OPEN_DRAFTS=str(MAX_OPEN_DRAFTS),
                             MOTCUA_DOSSIERS_MAX_ATTACHMENT_BYTES_PER_DOSSIER=str(MAX_BYTES_PER_DOSSIER),
                             MOTCUA_DOSSIERS_MAX_ATTACHMENT_BYTES_PER_APPLICANT=str(MAX_BYTES_PER_APPLICANT),
                             MOTCUA_DOSSIERS_DOCUMENTS_DIR=str(tmp_path_factory.mktemp("documents"))).start()
    yield {"procedures": procedures.addr, "dossiers": dossiers.addr}
    for process in (dossiers, procedures):
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def procedure(processes):
    return published_full_procedure(processes["procedures"], processes["dossiers"])


def limit_of(error: grpc.RpcError) -> tuple[str, dict[str, str]]:
    """The QuotaFailure's subject and the ErrorInfo's metadata of a refusal."""
    status = rpc_status.from_call(error)
    subject, metadata = "", {}
    for detail in status.details:
        if detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
            quota = error_details_pb2.QuotaFailure()
            detail.Unpack(quota)
            subject = quota.violations[0].subject
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            assert info.reason == "LIMIT_EXCEEDED"
            metadata = dict(info.metadata)
    return subject, metadata


def test_an_applicant_holds_a_limited_number_of_open_drafts(procedure, office):
    request = pb.CreateDossierDraftRequest(
        procedure_id=procedure.procedure_id, agency_id=office.agency, applicant=applicant(account_id=office.citizen_id),
        channel=d.SUBMISSION_CHANNEL_ONLINE,
        documents=[d.DossierDocument(name="Tờ khai đăng ký khai sinh", originals=1),
                   d.DossierDocument(name="Giấy chứng sinh", originals=1, copies=1)],
    )
    drafts = [office.citizen.CreateDossierDraft(request).dossier for _ in range(MAX_OPEN_DRAFTS)]

    error = fails_with(grpc.StatusCode.RESOURCE_EXHAUSTED, office.citizen.CreateDossierDraft, request)
    subject, metadata = limit_of(error)
    assert subject == f"account {office.citizen_id}"
    assert metadata == {"limit": "open drafts per applicant", "allowed": str(MAX_OPEN_DRAFTS),
                        "setting": "MOTCUA_DOSSIERS_MAX_OPEN_DRAFTS"}
    listed = office.citizen.ListDossiers(pb.ListDossiersRequest(state=d.DOSSIER_STATE_DRAFT)).dossiers
    assert sorted(x.dossier_id for x in listed) == sorted(x.dossier_id for x in drafts)  # none half-created

    # A submitted draft is no longer open: it frees its place.
    office.citizen.SubmitDossierDraft(pb.SubmitDossierDraftRequest(dossier_id=drafts[0].dossier_id))
    assert office.citizen.CreateDossierDraft(request).dossier.state == d.DOSSIER_STATE_DRAFT


def test_a_dossier_holds_a_limited_number_of_attachment_bytes(procedure, office):
    dossier = office.submit(procedure)
    for name in ("Ảnh chân dung", "Ảnh hộ chiếu"):
        added = office.citizen.AddAttachment(pb.AddAttachmentRequest(
            dossier_id=dossier.dossier_id, name=name, content=IMAGE, content_type="image/png")).dossier

    error = fails_with(grpc.StatusCode.RESOURCE_EXHAUSTED, office.citizen.AddAttachment, pb.AddAttachmentRequest(
        dossier_id=dossier.dossier_id, name="Ảnh thứ ba", content=IMAGE, content_type="image/png"))
    subject, metadata = limit_of(error)
    assert subject == f"dossier {dossier.dossier_id}"
    assert metadata == {"limit": "attachment bytes per dossier", "allowed": str(MAX_BYTES_PER_DOSSIER),
                        "setting": "MOTCUA_DOSSIERS_MAX_ATTACHMENT_BYTES_PER_DOSSIER"}
    current = office.citizen.GetDossier(pb.GetDossierRequest(dossier_id=dossier.dossier_id)).dossier
    assert [a.name for a in current.attachments] == ["Ảnh chân dung", "Ảnh hộ chiếu"]
    assert current.version == added.version


def test_an_applicant_holds_a_limited_number_of_attachment_bytes_over_all_their_dossiers(procedure, office):
    first, second = office.submit(procedure), office.submit(procedure)

    def attach(dossier, name: str):
        return office.citizen.AddAttachment(pb.AddAttachmentRequest(
            dossier_id=dossier.dossier_id, name=name, content=IMAGE, content_type="image/png"))

    attach(first, "Ảnh chân dung")
    attach(first, "Ảnh hộ chiếu")
    attach(second, "Ảnh chân dung")
    error = fails_with(grpc.StatusCode.RESOURCE_EXHAUSTED, attach, second, "Ảnh hộ chiếu")
    subject, metadata = limit_of(error)
    assert subject == f"account {office.citizen_id}"
    assert metadata == {"limit": "attachment bytes per applicant", "allowed": str(MAX_BYTES_PER_APPLICANT),
                        "setting": "MOTCUA_DOSSIERS_MAX_ATTACHMENT_BYTES_PER_APPLICANT"}
    current = office.citizen.GetDossier(pb.GetDossierRequest(dossier_id=second.dossier_id)).dossier
    assert [a.name for a in current.attachments] == ["Ảnh chân dung"]
