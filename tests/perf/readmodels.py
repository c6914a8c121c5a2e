"""Read-model figures for the benchmark: the dossier register rebuilt from the log
(events/s, and this process's CPU microseconds per event), and a dossier's state at a past
time (ms), as the audit tool reads it.

Dossiers are built in memory through their real rules (submit, receive, claim, result,
return, rating) and saved a hundred per transaction, so that the log is large enough to
measure a rebuild without the benchmark spending minutes writing it.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from motcua.audit.reader import EventLog
from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.application.views import PublishedVersion
from motcua.dossiers.domain.code_sequence import DossierCodeSequence
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.procedure_replica import ProcedureReplica
from motcua.dossiers.domain.values import Applicant, Document
from motcua.kernel.context import Actor, acting_as
from motcua.kernel.localtime import local_date
from motcua.kernel.readmodel import ProjectingRecorder

BATCH = 100
TERMS = {
    "processing_time": {"value": 3, "unit": "working_days"},
    "required_documents": [{"name": "Tờ khai", "originals": 1, "copies": 0}],
    "steps": [{"name": "Thẩm định và ký", "role": "specialist", "unit": "Phòng Tư pháp", "share": 1.0}],
    "supplement_rule": "resume",
}


def _batch(office: DossiersApplication, replica: ProcedureReplica, agency: str, start: datetime) -> list[Any]:
    sequence = DossierCodeSequence.open(agency, local_date(start))
    calendar = office.calendar_for(agency, start)
    dossiers = []
    for i in range(BATCH):
        at = start + timedelta(minutes=i)
        dossier = Dossier.submit(
            dossier_id=uuid.uuid4(),
            procedure_id=replica.id,
            procedure=replica,
            sequence=sequence,
            agency_id=agency,
            applicant=Applicant(
                kind="citizen", full_name=f"Nguyễn Văn Số {i}", identity_number=f"0381900{i:05d}", phone="0912345678"
            ),
            channel="online",
            result_delivery="desk",
            documents=[Document("Tờ khai", 1, 0)],
            submitted_at=at,
        )
        dossier.receive(at + timedelta(minutes=5), "desk-1", calendar=calendar)
        dossier.assign(at + timedelta(hours=1), "officer-1", "officer-1")
        dossier.mark_result_ready(at + timedelta(days=1), "officer-1", {"document_id": str(uuid.uuid4())}, calendar)
        dossier.return_result(at + timedelta(days=1, hours=1), "desk-1")
        dossier.rate(at + timedelta(days=1, hours=2), "citizen", 5)
        dossiers.append(dossier)
    return [sequence, *dossiers]


def measure(settings: Any, store_env: dict[str, str], dossiers: int = 3000, samples: int = 200) -> dict:
    office = DossiersApplication(settings)
    try:
        with acting_as(Actor.system("bench")):
            procedure_id = uuid.uuid4()
            replica = office.replicate_procedure(
                PublishedVersion(
                    procedure_id, "1.000003.000.00.00.H56", "Đăng ký khai sinh", "000.00.12.H56", 3, 1, terms=TERMS
                )
            )
            office.save(replica)
            start = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # a Monday, 08:30 in Vietnam
            ids = []
            for n in range(dossiers // BATCH):
                saved = _batch(office, replica, f"000.00.{n // 100:02d}.B{n % 100:02d}", start)
                office.save(*saved)
                ids += [d.id for d in saved[1:]]
        began, cpu_before = time.perf_counter(), time.process_time()
        recorder = office.recorder
        assert isinstance(recorder, ProjectingRecorder)
        events = recorder.rebuild()
        rebuild_s = time.perf_counter() - began
        rebuild_cpu_s = time.process_time() - cpu_before
    finally:
        office.close()
    with EventLog("dossiers", store_env) as log:
        moment = datetime.now(UTC)
        picked = ids[:: max(1, len(ids) // samples)][:samples]
        began = time.perf_counter()
        for dossier_id in picked:
            log.aggregate(dossier_id, log.version_at(dossier_id, moment))
        past_ms = (time.perf_counter() - began) * 1000 / len(picked)
    return {"events": events, "rebuild_s": round(rebuild_s, 3), "rebuild_events_per_s": round(events / rebuild_s),
            # this process's CPU (not PostgreSQL's): steadier than the rate on a busy machine
            "rebuild_cpu_us_per_event": round(rebuild_cpu_s * 1e6 / events, 1),
            "state_at_past_time_ms": round(past_ms, 2), "samples": len(picked)}
