"""The personal-data section of `make bench` (alone: `make bench BENCH_ARGS="--only personal"`).

sealing's cost
    ``SubmitDossier`` calls (a desk officer's, each for a new person without an account: a new
    data subject, so a new data key made and stored wrapped) from K concurrent callers over one
    gRPC channel for a fixed time, into a real dossiers process on a database of its own, each
    call committed (its events and register row) before it answers. Twice: with the applicant's
    fields sealed per person, as deployed, and with sealing switched off
    (``MOTCUA_DOSSIERS_SEAL_PERSONAL_DATA=false``, honoured with development keys only). The
    rate and the dossiers process's and PostgreSQL's CPU ms per command of each (two processes
    started side by side, their phases alternating for three rounds, medians), and what sealing
    costs: the rate lost and the dossiers process's CPU added, in %. Target (issue 14): at most
    10 %. The CPU figure is the steadier one on a shared machine.
erasure of a person with 100 dossiers
    One person without an account files 100 dossiers, all withdrawn (no retention period
    applies, ``MOTCUA_DOSSIERS_RETENTION_YEARS=0``); a data-protection officer's
    ``EraseSubject`` by their identification number: the call's wall time (retention checked over
    the 100 dossiers, the erasure recorded, the register's 100 rows masked, the key destroyed)
    and the dossiers process's CPU ms for it. Target (issue 14): at most 1 s.
"""

from __future__ import annotations

import functools
import statistics
import time
import uuid
from collections.abc import Callable

TARGETS = {"sealing_cost_percent": 10, "erasure_100_ms": 1000}
AGENCY = "000.00.31.H56"
ERASED_DOSSIERS = 100
MODES = ("sealed", "clear")


def _published_procedures(procedures_addr: str, dossiers_addrs: list[str], published: int = 8) -> list[str]:
    """For each dossiers process, the id of a procedure published now whose replica it holds.
    The processes share one consumer group, so each gets some of the topic's partitions: of
    several procedures, each holds a few."""
    from motcua.dossiers.v1 import dossier_service_pb2 as pb
    from motcua.procedures.v1 import procedure_service_pb2 as ppb
    from tests.support.clients import dossiers_stub, procedures_stub
    from tests.support.procedures import full_create_request, unique_code
    from tests.support.waiting import eventually

    ids = []
    for _ in range(published):
        created = procedures_stub(procedures_addr).CreateProcedure(full_create_request(code=unique_code())).procedure
        procedures_stub(procedures_addr).PublishProcedure(ppb.PublishProcedureRequest(procedure_id=created.procedure_id))
        ids.append(created.procedure_id)

    def held(addr: str) -> str | None:
        for procedure_id in ids:
            try:
                dossiers_stub(addr).GetProcedureReplica(pb.GetProcedureReplicaRequest(procedure_id=procedure_id))
            except Exception:  # noqa: BLE001 - not (yet) this process's
                continue
            return procedure_id
        return None

    found: list[str] = []
    for addr in dossiers_addrs:
        procedure_id = eventually(functools.partial(held, addr), timeout=120, what="a procedure's replica in dossiers")
        assert procedure_id is not None  # eventually returns a truthy answer
        found.append(procedure_id)
    return found


def _person(n: int) -> dict[str, str]:
    return {"full_name": f"Nguyễn Thị Hồng Nhung {n:09d}", "identity_number": f"079{n % 10**9:09d}",
            "phone": f"0912{n % 10**6:06d}", "address": f"Số {n} đường Lê Lợi, phường Bến Thành"}


def _dossiers(stack, sealed: bool) -> object:
    database = f"motcua_dossiers_pii_{'sealed' if sealed else 'clear'}_{uuid.uuid4().hex[:6]}"
    stack.postgres.create_database(database)
    return stack.service("dossiers", POSTGRES_DBNAME=database, MOTCUA_DOSSIERS_RETENTION_YEARS="0",
                         MOTCUA_DOSSIERS_SEAL_PERSONAL_DATA="true" if sealed else "false",
                         MOTCUA_DOSSIERS_DOCUMENTS_DIR=str(stack.profile.root / database)).start()


def _submissions(stack, process, procedure_id: str, seconds: float, callers: int, first: int) -> dict:
    from motcua.dossiers.v1 import dossier_pb2 as d
    from motcua.identity.v1.role_pb2 import Role
    from tests.perf.stack import CpuMeter, repeated_calls
    from tests.support import auth
    from tests.support.clients import dossiers_stub
    from tests.support.dossiers import applicant, submit_request

    stub = dossiers_stub(process.addr, auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=AGENCY).access_token)

    def submit(n: int, i: int) -> int:
        stub.SubmitDossier(submit_request(procedure_id, AGENCY, channel=d.SUBMISSION_CHANNEL_DESK,
                                          applicant=applicant(**_person(first + n * 10**6 + i))))
        return 1

    meter = CpuMeter({"dossiers": process.pid, "postgres": stack.postgres.pid}).start()
    done, elapsed, errors = repeated_calls(submit, callers, seconds)
    meter.stop()
    return {"commands": done, "commands_per_s": round(done / elapsed, 1), "errors": len(errors),
            "first_error": errors[0] if errors else "",
            "cpu_ms_per_command": {name: round(1000 * s / max(done, 1), 2)
                                   for name, s in meter.cpu_seconds.items()}}


def _erasure(stack, process, procedure_id: str) -> dict:
    from motcua.dossiers.v1 import dossier_pb2 as d, dossier_service_pb2 as pb
    from motcua.identity.v1.role_pb2 import Role
    from tests.perf.stack import CpuMeter
    from tests.support import auth
    from tests.support.clients import dossiers_stub
    from tests.support.dossiers import applicant, submit_request

    desk = dossiers_stub(process.addr, auth.issue(roles=(Role.ROLE_DESK_OFFICER,), agency_id=AGENCY).access_token)
    person = _person(9_999_999)
    for _ in range(ERASED_DOSSIERS):
        filed = desk.SubmitDossier(submit_request(procedure_id, AGENCY, channel=d.SUBMISSION_CHANNEL_DESK,
                                                  applicant=applicant(**person))).dossier
        desk.WithdrawDossier(pb.WithdrawDossierRequest(dossier_id=filed.dossier_id, reason="Nộp nhầm"))
    officer = dossiers_stub(process.addr, auth.issue(roles=(Role.ROLE_DATA_PROTECTION_OFFICER,),
                                                     agency_id=AGENCY).access_token)
    request = pb.EraseSubjectRequest(person=pb.PersonWithoutAccount(
        kind=d.APPLICANT_KIND_CITIZEN, identity_number=person["identity_number"]), reason="Yêu cầu số 01/2026/YC")
    meter = CpuMeter({"dossiers": process.pid, "postgres": stack.postgres.pid}).start()
    started = time.perf_counter()
    erased = officer.EraseSubject(request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    meter.stop()
    return {"dossiers": erased.dossiers, "ms": round(elapsed_ms, 1),
            "cpu_ms": {name: round(1000 * s, 1) for name, s in meter.cpu_seconds.items()}}


def run_personal_data(stack, seconds: float, callers: int, step: Callable[[str], None], rounds: int = 3) -> dict:
    from tests.support import auth

    auth.use_identity(stack.identity.addr)
    procedures = stack.service("procedures").start()
    processes: dict = {}
    results: dict = {"callers": callers, "rounds": rounds, "targets": TARGETS}
    try:
        for name in MODES:
            processes[name] = _dossiers(stack, name == "sealed")
        procedure_ids = dict(zip(MODES, _published_procedures(procedures.addr, [processes[n].addr for n in MODES]),
                                 strict=True))
        for name in MODES:
            _submissions(stack, processes[name], procedure_ids[name], 1.0, callers, 10**8)  # warm-up
        # The two alternate, so that the machine's other load falls on both alike; each figure
        # is the median of its rounds.
        phases: dict[str, list[dict]] = {name: [] for name in MODES}
        for round_number in range(rounds):
            for i, name in enumerate(MODES):
                mode = "on" if name == "sealed" else "off"
                step(f"personal data: round {round_number + 1}/{rounds}, sealing {mode}, "
                     f"{callers} callers submitting for {seconds:g} s")
                phases[name].append(_submissions(stack, processes[name], procedure_ids[name], seconds, callers,
                                                 (2 + 2 * round_number + i) * 10**8))
        for name in MODES:
            results[name] = {
                "commands": sum(p["commands"] for p in phases[name]),
                "errors": sum(p["errors"] for p in phases[name]),
                "first_error": next((p["first_error"] for p in phases[name] if p["first_error"]), ""),
                "commands_per_s": statistics.median(p["commands_per_s"] for p in phases[name]),
                "cpu_ms_per_command": {process: statistics.median(p["cpu_ms_per_command"][process]
                                                                  for p in phases[name])
                                       for process in phases[name][0]["cpu_ms_per_command"]},
                "rounds": phases[name],
            }
        step(f"personal data: erasing a person with {ERASED_DOSSIERS} dossiers")
        results["erasure"] = _erasure(stack, processes["sealed"], procedure_ids["sealed"])
    finally:
        for process in processes.values():
            process.terminate()
        procedures.terminate()
    sealed, clear = results["sealed"], results["clear"]
    results["rate_lost_percent"] = round(100 * (1 - sealed["commands_per_s"] / max(clear["commands_per_s"], 1e-9)), 1)
    results["dossiers_cpu_added_percent"] = round(
        100 * (sealed["cpu_ms_per_command"]["dossiers"] / max(clear["cpu_ms_per_command"]["dossiers"], 1e-9) - 1), 1)
    return results


def print_personal_data(r: dict) -> None:
    print(f"\npersonal data ({r['callers']} callers submitting dossiers, each for a new person; "
          f"medians of {r['rounds']} alternating rounds)")
    for name, label in (("sealed", "sealing on (as deployed)"), ("clear", "sealing off (bench only)")):
        phase = r[name]
        cpu = ", ".join(f"{k} {v:.2f} ms" for k, v in phase["cpu_ms_per_command"].items())
        print(f"  {label:30}{phase['commands_per_s']:>10,.1f} /s   CPU per command: {cpu}; "
              f"{phase['commands']:,} commands, {phase['errors']} errors")
        if phase["first_error"]:
            print(f"    first error: {phase['first_error'][:200]}")
    target = TARGETS["sealing_cost_percent"]
    for label, value in (("sealing's cost: rate lost", r["rate_lost_percent"]),
                         ("sealing's cost: dossiers CPU", r["dossiers_cpu_added_percent"])):
        below = "" if value <= target else "  MISSES TARGET"
        print(f"  {label:30}{value:>10.1f} %   target <= {target} %{below}")
    erasure = r["erasure"]
    below = "" if erasure["ms"] <= TARGETS["erasure_100_ms"] else "  MISSES TARGET"
    cpu = ", ".join(f"{k} {v:.1f} ms" for k, v in erasure["cpu_ms"].items())
    print(f"  {'erasure, ' + str(erasure['dossiers']) + ' dossiers':30}{erasure['ms']:>10,.1f} ms  "
          f"target <= {TARGETS['erasure_100_ms']:,} ms{below}; CPU: {cpu}")
