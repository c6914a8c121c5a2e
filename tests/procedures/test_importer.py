"""The importer as a user runs it (`python -m motcua.procedures.importer`) against a real
procedures service: idempotent, a changed record becomes a new version, a dry run changes
nothing, invalid records are reported and skipped."""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from motcua.devstack import repo_root
from motcua.procedures.v1 import procedure_pb2 as p, procedure_service_pb2 as pb
from tests.support.clients import procedures_stub
from tests.support.identity import province_admin_token, seed_agencies
from tests.support.procedures import unique_code
from tests.support.waiting import eventually

SAMPLE = repo_root() / "infra/local/seed/procedures.sample.json"
AGENCY = "000.00.01.H56"


def sample_with_fresh_codes() -> list[dict]:
    """The sample, with codes no other test uses (the session's database is shared)."""
    records = json.loads(SAMPLE.read_text(encoding="utf-8"))
    suffix = f"T{random.randrange(100):02d}"
    offset = random.randrange(10**5)
    for i, record in enumerate(records):
        record["code"] = f"3.{(offset + i) % 10**6:06d}.000.00.00.{suffix}"
    return records


def run(service_addr: str, path: Path, *args: str) -> subprocess.CompletedProcess:
    # The sample's procedures belong to several agencies of the province: its administrator imports.
    env = {**os.environ, "MOTCUA_TOKEN": province_admin_token()}
    return subprocess.run(
        [sys.executable, "-m", "motcua.procedures.importer", str(path), "--target", service_addr, *args],
        capture_output=True, text=True, encoding="utf-8", timeout=300, cwd=repo_root(), env=env,
    )


def write(tmp_path: Path, records: list[dict], name: str = "procedures.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def versions(procedures, code: str) -> list[p.Procedure]:
    return list(procedures.ListProcedures(pb.ListProceduresRequest(code=code)).procedures)


@pytest.fixture(scope="module")
def addr(stack, services) -> str:
    """The service, once its replica of the agency tree has every agency the sample names."""
    seeded = seed_agencies(stack.identity.addr)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    province = procedures_stub(services[0].addr, province_admin_token())
    records = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for agency in sorted({AGENCY} | {r["agency"] for r in records if r.get("agency")}):

        def create(agency: str = agency) -> pb.CreateProcedureResponse:
            # A new code each try: a try that failed may have created it.
            request = pb.CreateProcedureRequest(
                code=unique_code(), name="Thủ tục thử", agency_id=agency, processing_days=1
            )
            return province.CreateProcedure(request)

        eventually(create, what=f"{agency} in procedures' tree")
    return services[0].addr


def test_importing_twice_changes_nothing_and_a_dry_run_writes_nothing(procedures, addr, tmp_path):
    records = sample_with_fresh_codes()
    path = write(tmp_path, records)

    dry = run(addr, path, "--agency", AGENCY, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert dry.stdout.count(" would create ") == len(records)
    assert f"{len(records)} records (dry run): {len(records)} would create" in dry.stdout
    assert not versions(procedures, records[0]["code"])

    first = run(addr, path, "--agency", AGENCY)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{len(records)} created" in first.stdout
    assert "#1 created " + records[0]["code"] + " Đăng ký khai sinh (version 1)" in first.stdout  # Vietnamese as is
    imported = {r["code"]: versions(procedures, r["code"]) for r in records}
    assert all(len(v) == 1 and v[0].state == p.PROCEDURE_STATE_PUBLISHED for v in imported.values())

    birth = imported[records[0]["code"]][0]
    assert (birth.name, birth.field, birth.level, birth.online_mode) == (
        "Đăng ký khai sinh",
        "Hộ tịch",
        p.PROCEDURE_LEVEL_COMMUNE,
        p.ONLINE_MODE_FULL,
    )
    assert birth.agency_id == AGENCY  # the record names none: --agency
    assert [d.eform_ref for d in birth.required_documents] == [f"{records[0]['code']}/1", ""]
    assert [s.share for s in birth.steps] == [0.7, 0.2, 0.1]
    hours = imported[records[3]["code"]][0]
    assert (hours.processing_time.value, hours.processing_time.unit) == (4, p.PROCESSING_TIME_UNIT_WORKING_HOURS)
    assert [(f.name, f.amount_vnd) for f in hours.fees] == [("Lệ phí", 2000)]
    assert imported[records[4]["code"]][0].agency_id == records[4]["agency"]  # named in the record
    assert imported[records[6]["code"]][0].supplement_rule == p.SUPPLEMENT_RULE_RESTART

    second = run(addr, path, "--agency", AGENCY)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{len(records)} records: {len(records)} unchanged" in second.stdout
    assert {r["code"]: versions(procedures, r["code"]) for r in records} == imported  # not one event more


def test_a_changed_record_is_a_new_version_and_bad_records_do_not_stop_the_rest(procedures, addr, tmp_path):
    records = sample_with_fresh_codes()[:4]
    assert run(addr, write(tmp_path, records), "--agency", AGENCY).returncode == 0

    changed = copy.deepcopy(records)
    for record in changed:
        record.setdefault("agency", AGENCY)  # as the first import defaulted it: no change
    changed[1]["processing"]["value"] = 5
    changed[2]["steps"][0]["share"] = 0.9  # shares no longer sum to 1
    changed[3]["processing"]["value"] = 0
    new = sample_with_fresh_codes()[5]
    fresh_without_agency = {k: v for k, v in new.items() if k != "agency"}
    changed.append(fresh_without_agency)
    changed.append("not a record")
    path = write(tmp_path, changed, "changed.json")

    dry = run(addr, path, "--dry-run")
    assert "#2 would update " in dry.stdout and "(version 2)" in dry.stdout
    assert "#1 unchanged " in dry.stdout

    result = run(addr, path)  # no --agency this time
    assert result.returncode == 1, result.stdout + result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("#")}
    assert lines["#1"].startswith("#1 unchanged")
    assert lines["#2"].startswith("#2 updated") and "(version 2)" in lines["#2"]
    assert lines["#3"].startswith("#3 invalid") and "steps: shares must sum to 1" in lines["#3"]
    assert lines["#4"].startswith("#4 invalid") and "processing.value" in lines["#4"]
    assert lines["#5"].startswith("#5 invalid") and "agency" in lines["#5"]
    assert lines["#6"].startswith("#6 invalid") and "record: must be a JSON object" in lines["#6"]
    assert "6 records: 1 updated, 1 unchanged, 4 invalid" in result.stdout

    v1, v2 = versions(procedures, records[1]["code"])
    assert (v1.state, v2.state) == (p.PROCEDURE_STATE_SUPERSEDED, p.PROCEDURE_STATE_PUBLISHED)
    assert (v1.processing_days, v2.processing_days) == (3, 5)
    assert [len(versions(procedures, r["code"])) for r in records] == [1, 2, 1, 1]  # invalid ones untouched
    assert not versions(procedures, new["code"])


def test_a_draft_left_half_way_is_completed(procedures, addr, tmp_path):
    (record,) = sample_with_fresh_codes()[:1]
    # An import that stopped after creating, before publishing.
    procedures_stub(addr, province_admin_token()).CreateProcedure(
        pb.CreateProcedureRequest(code=record["code"], name="Tên tạm", agency_id=AGENCY, processing_days=9))
    result = run(addr, write(tmp_path, [record]), "--agency", AGENCY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "#1 created " in result.stdout
    (only,) = versions(procedures, record["code"])
    assert (only.state, only.name, only.processing_days) == (p.PROCEDURE_STATE_PUBLISHED, "Đăng ký khai sinh", 1)


def test_without_a_token_every_record_fails_and_says_why(addr, tmp_path):
    records = sample_with_fresh_codes()[:2]
    env = {k: v for k, v in os.environ.items() if k != "MOTCUA_TOKEN"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "motcua.procedures.importer",
            str(write(tmp_path, records)),
            "--target",
            addr,
            "--agency",
            AGENCY,
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        cwd=repo_root(),
        env=env,
    )
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("#") and " failed " in line]
    assert len(failed) == 2 and all("UNAUTHENTICATED" in line for line in failed)
    assert "2 records: 2 failed" in result.stdout


def test_an_unreadable_file_is_a_command_line_error(addr, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    result = run(addr, path)
    assert result.returncode == 2
    assert "cannot read" in result.stderr
