"""motcua's benchmark: the kernel's command path beside two baselines, on one machine.

    make bench                       # about 2-3 minutes
    make bench BENCH_ARGS=--quick    # under 1 minute: shorter phases, one concurrency
    make bench BENCH_ARGS="--relaxed --concurrency 16,48"
    make bench BENCH_ARGS="--only identity"   # logins, grants, token validations
    (tests/perf/identity.py)
    make bench BENCH_ARGS="--only signing"    # PAdES B-T through PKCS#11, RSA-2048 and P-256
    (tests/perf/signing.py)
    make bench BENCH_ARGS="--only notifications"   # accepted/s, e-mails/s to SMTP
    (tests/perf/notifications.py)
    make bench BENCH_ARGS="--quick --only core --chain off"   # without the chain sealer: its cost
    make bench BENCH_ARGS="--only personal"   # sealing's cost, erasing a person with 100 dossiers
    (tests/perf/personal_data.py)

Everything runs here on loopback, on a stack of its own (profile `bench`:
.local/bench, PostgreSQL 35432, Kafka 39092/39093), started fresh and stopped
at the end, also on Ctrl-C or error. PostgreSQL keeps its default durable
settings (fsync, synchronous_commit on) unless --relaxed; every figure is
measured on the same server, whose settings head the table.

The figures:

pgbench insert
    Baseline 1. pgbench clients each inserting one row (bigint identity, uuid,
    a bytea the size of a stored event) per transaction: what the server does
    with no Python and no event sourcing. Also from 1 client: the rate of
    strictly one-after-another commits.
eventsourcing save
    Baseline 2. A plain eventsourcing ``Application`` (eventsourcing.postgres) in
    this process, 8 threads each creating and saving one small aggregate (one
    event, one transaction) after another: the library's own write path.
motcua end to end, K callers
    Commands (RPCs) per second through the kernel's whole path: a real gRPC
    channel to the procedures service process -> committed to its event store ->
    relayed to Kafka -> applied by the dossiers consumer in another process and
    committed with its tracking position. K concurrent callers (grpc.aio, one
    process, one channel) each loop CreateProcedure + PublishProcedure (two
    commands; the Published event is the one relayed) for a fixed time. Only
    commands whose event reached the consumer count, and the clock stops at
    the consumer's last commit: rate = 2 x events applied / (last apply -
    first send). "events/s" is the same divided by two.
dossier commands end to end, K desks
    The same path with the dossiers service's commands: K concurrent callers, each the desk of
    an agency of its own, loop SubmitDossier + ReceiveDossier (tests/perf/dossier_load.py) into
    the real dossiers service; DossierReceived is relayed to Kafka and applied by a tracked
    consumer in another process on a database of its own (tests/perf/dossier_probe.py: the
    position recorded in the consumer's transaction). Counted as above: 2 x events applied /
    (last apply - first send); below the table, each process's CPU ms per command.
commit -> consumer latency
    At a fixed offered rate (500 commands/s: a pair started every 4 ms,
    open loop), per ProcedurePublished event: the consumer's wall clock right
    after its transaction committed, minus the commit time of the procedures
    transaction that recorded the event (PostgreSQL's commit timestamp of the
    row, track_commit_timestamp=on). Same machine, same clock. p50/p99 over
    all events of the phase. Below it, where that time goes: commit -> the
    relay hands the event to its Kafka producer (the record's CreateTime) ->
    the consumer's policy starts on it (Kafka, and waiting behind records
    polled before it) -> the consumer's transaction committed. And the same
    from the envelope's occurred_at (the domain event's timestamp, taken
    before save), which adds the producer's own wait to commit. When 500/s is
    more than the end-to-end phases sustained, the figure includes a backlog;
    a second, informational phase then offers half the best sustained rate.
chain verification
    Events per second `motcua-audit verify --live` recomputes and compares (its own
    function, in process) on a sealed log of its own written with SQL (tests/perf/chain.py):
    1,000,000 events (200,000 with --quick). The end-to-end phases run with every service's
    chain sealer on, as deployed; --chain off turns it off to measure what it costs.
auditor API
    A dossier's history by its code as the kernel's AuditLog answers it (authorization, the
    code, the audit index, the events decoded), median of 200 random codes (the target is
    checked on the 95th percentile), on a log of its own of the same size
    (tests/perf/audit_index.py). And a 1,000-event dossier's state at a past time as
    AuditLog.aggregate_state answers it (authorization over every event, the index turning the
    time into a version, the replay with personal fields masked), median of 200 random times
    (checked on the 95th percentile; tests/perf/audit_state.py).
idle RSS
    VmRSS of the real procedures and dossiers service processes, a few seconds
    after they report SERVING, before any load.

Ratios compare a rate with the baselines' transactions per second (a motcua
command is at most one transaction in procedures -- the kernel may commit
concurrent ones together -- and every second command is one more in dossiers). Under the table: the
CPU each process used during each
phase, in % of one core, and "other": the rest of the machine's busy time
(the kernel, and processes that are not this benchmark's -- a warning says
when they may have lowered the figures). Figures below a target say so.
Results are also written as JSON to .local/bench/results-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import json
import os
import platform
import signal
import statistics
import sys
import time
from collections.abc import Callable

from tests.perf.baselines import PAYLOAD_BYTES, eventsourcing_saves, pgbench_insert, stored_event_size
from tests.perf.identity import print_identity, run_identity
from tests.perf.load import Applied, AppliedLog, LoadResult, closed_loop, open_loop, percentile
from tests.perf.notifications import print_acceptance, print_notifications, run_acceptance, run_notifications
from tests.perf.personal_data import print_personal_data, run_personal_data
from tests.perf.sending import print_sending, run_sending
from tests.perf.signing import print_signing, run_signing
from tests.perf.stack import BenchStack, CpuMeter, rss_mb

TARGETS = {"e2e_commands_per_s": 2000, "latency_p50_ms": 20, "latency_p99_ms": 100, "idle_rss_mb": 80,
           "rebuild_events_per_s": 100_000, "state_at_past_time_ms": 5, "verify_events_per_s": 100_000,
           "history_by_code_ms": 50, "audit_state_at_time_ms": 1}
TOPIC = "motcua.procedures.events.v1"
DOSSIER_CPU_COLUMNS = ("client", "dossiers", "consumer", "postgres", "kafka")  # "consumer": dossier_probe
NOTIFICATION_CALLERS = 8  # threads calling SendNotification (tests/perf/notifications.py)
NOTIFICATION_EVENTS = {False: 5_000, True: 2_000}  # dossier events queuing notices (full, --quick)
IDENTITY_CALLERS = 4  # threads calling the token endpoint (tests/perf/identity.py)
PERSONAL_DATA_CALLERS = 8  # threads calling SubmitDossier (tests/perf/personal_data.py)
CPU_COLUMNS = ("client", "procedures", "dossiers", "postgres", "kafka")  # "dossiers" is the probe


@dataclasses.dataclass(frozen=True)
class Plan:
    pgbench_seconds: int
    pgbench_single_client: bool
    es_seconds: float
    concurrency: tuple[int, ...]
    e2e_seconds: float
    rate: float
    latency_seconds: float
    settle_seconds: float = 3.0
    identity_seconds: float = 10.0


FULL = Plan(pgbench_seconds=15, pgbench_single_client=True, es_seconds=15, concurrency=(8, 32, 64),
            e2e_seconds=15, rate=500, latency_seconds=20)
QUICK = Plan(pgbench_seconds=5, pgbench_single_client=False, es_seconds=5, concurrency=(32,),
             e2e_seconds=8, rate=500, latency_seconds=8, settle_seconds=2, identity_seconds=4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short phases, one concurrency (under a minute)")
    parser.add_argument("--relaxed", action="store_true",
                        help="PostgreSQL with fsync=off, synchronous_commit=off: the test profile's, not durable")
    parser.add_argument("--concurrency", help="comma-separated K values for the end-to-end phases")
    parser.add_argument("--seconds", type=float, help="length of each end-to-end phase")
    parser.add_argument("--rate", type=float, help="offered commands/s of the latency phase")
    parser.add_argument("--chain", choices=("on", "off"), default="on",
                        help="the services' chain sealer (MOTCUA_CHAIN); off only as a baseline of its cost")
    parser.add_argument("--only", choices=("all", "core", "path", "readmodels", "identity", "notifications",
                                           "sending", "signing", "personal"),
                        default="all",
                        help="core: the command path and its baselines; path: the command path's phases alone "
                             "(no baselines, read models, chain or audit figures); "
                             "readmodels: the register's rebuild and the states at a past time alone; "
                             "identity: logins, grants, validations; "
                             "notifications: accepted/s, e-mails/s (and sending's); "
                             "sending: e-mails/s by the sender processes alone; signing: PAdES B-T through PKCS#11; "
                             "personal: sealing's cost, erasing a person with 100 dossiers")
    args = parser.parse_args(argv)
    overrides: dict = {}
    if args.concurrency:
        overrides["concurrency"] = tuple(int(k) for k in args.concurrency.split(","))
    if args.seconds:
        overrides["e2e_seconds"] = args.seconds
    if args.rate:
        overrides["rate"] = args.rate
    plan = dataclasses.replace(QUICK if args.quick else FULL, **overrides)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    stack = BenchStack(relaxed=args.relaxed)
    stack.profile.root.mkdir(parents=True, exist_ok=True)
    lock = open(stack.profile.root / ".bench.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until this process exits
    except BlockingIOError:
        print("another benchmark is running on the bench profile; try again when it has finished", file=sys.stderr)
        return 1
    try:
        results = run(stack, plan, args)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the bench stack", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave servers behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
    results["duration_s"] = round(time.time() - results["started_at"], 1)
    if "e2e" in results or "read_models" in results:
        print_table(results)
    if "identity" in results:
        print_identity(results["identity"])
    if "notifications" in results:
        print_notifications(results["notifications"])
    if "notifications_accepted" in results:
        print_acceptance(results["notifications_accepted"])
    if "sending" in results:
        print_sending(results["sending"])
    if "signing" in results:
        print_signing(results["signing"])
    if "personal_data" in results:
        print_personal_data(results["personal_data"])
    path = stack.profile.root / f"results-{time.strftime('%Y%m%d-%H%M%S', time.localtime(results['started_at']))}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nresults: {os.path.relpath(path)}")
    return 0


_T0 = time.monotonic()


def step(message: str) -> None:
    print(f"[bench {time.monotonic() - _T0:5.1f}s] {message}", flush=True)


def run(stack: BenchStack, plan: Plan, args: argparse.Namespace) -> dict:
    started = time.time()
    results: dict = {
        "started_at": started,
        "quick": args.quick,
        "plan": plan.__dict__,
        "targets": TARGETS,
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version()},
    }
    step(f"starting PostgreSQL and Kafka on profile 'bench' ({os.path.relpath(stack.profile.root)})")
    stack.start()
    results["server"] = stack.server_settings()
    results["kafka"] = {"brokers": 1, "producer_acks": "all", "partitions": 3}
    results["tracing"] = "off (no OTLP endpoint; trace context still propagated)"
    results["chain"] = args.chain
    if args.only in ("all", "core"):
        baselines(stack, plan, args, results)
    if args.only in ("all", "core", "path"):
        command_path(stack, plan, args, results)
    if args.only == "readmodels":
        states_at_past_times(stack, args, results)
    if args.only in ("all", "identity"):
        results["identity"] = run_identity(stack, plan.identity_seconds, IDENTITY_CALLERS, step)
    if args.only in ("all", "notifications"):
        results["notifications"] = run_notifications(stack, plan.identity_seconds, NOTIFICATION_CALLERS, step)
        results["notifications_accepted"] = run_acceptance(stack, plan.identity_seconds, NOTIFICATION_CALLERS,
                                                           NOTIFICATION_EVENTS[args.quick], step)
    if args.only in ("all", "notifications", "sending"):
        results["sending"] = run_sending(stack, 1000 if args.quick else 5000, NOTIFICATION_CALLERS, step)
    if args.only in ("all", "signing"):
        results["signing"] = run_signing(plan.identity_seconds, step)
    if args.only in ("all", "personal"):
        results["personal_data"] = run_personal_data(stack, plan.e2e_seconds, PERSONAL_DATA_CALLERS, step)
    return results


def baselines(stack: BenchStack, plan: Plan, args: argparse.Namespace, results: dict) -> None:
    """What the command path is compared with, and the figures of the log at rest (the sections of
    the module's docstring)."""
    step(f"pgbench: 8 clients, {plan.pgbench_seconds} s of one-row inserts")
    results["pgbench"] = pgbench_insert(stack.postgres, 8, plan.pgbench_seconds)
    if plan.pgbench_single_client:
        step("pgbench: 1 client, 5 s")
        results["pgbench_1"] = pgbench_insert(stack.postgres, 1, 5)
    step(f"eventsourcing Application: 8 threads, {plan.es_seconds:g} s of saves")
    results["eventsourcing"] = eventsourcing_saves(stack.postgres, 8, plan.es_seconds)

    states_at_past_times(stack, args, results)

    events = 200_000 if args.quick else 1_000_000
    step(f"chain verification: {events:,} events sealed, then verified")
    from .chain import measure as chain_verification

    results["chain_verification"] = chain_verification(stack.postgres, "motcua_chain_bench", events, 600)
    step(f"auditor API: a dossier's history by code at {events:,} events in the log")
    from .audit_index import measure as audit_history

    results["audit_history"] = audit_history(stack.postgres, "motcua_audit_bench", events)


def states_at_past_times(stack: BenchStack, args: argparse.Namespace, results: dict) -> None:
    """The read models' figures: the register rebuilt, a dossier's state at a past time as the
    audit tool and as the auditor API read it."""
    step("read models: the dossier register rebuilt from the log; a dossier's state at a past time")
    results["read_models"] = read_models(stack, 1000 if args.quick else 3000)
    step("auditor API: a 1,000-event dossier's state at a past time")
    from .audit_state import measure as audit_state

    results["audit_state"] = audit_state(stack.settings("audit_state_bench"))


def command_path(stack: BenchStack, plan: Plan, args: argparse.Namespace, results: dict) -> None:
    """The kernel's command path: end to end at K callers, then the latency at an offered rate."""
    step(f"starting procedures and dossiers (chain sealer {args.chain}); idle RSS")
    chain = {"MOTCUA_CHAIN": args.chain}
    procedures = stack.service("procedures", **chain).start(wait=False)
    dossiers = stack.service("dossiers", **chain).start(wait=False)
    procedures.wait_healthy()
    dossiers.wait_healthy()
    time.sleep(plan.settle_seconds)  # relay leads, consumer joins its group
    results["idle_rss_mb"] = {
        "procedures": round(rss_mb(procedures.pid), 1),
        "dossiers": round(rss_mb(dossiers.pid), 1),
    }
    dossiers.terminate()

    # The consumer from now on: dossiers' application and policy, timing each commit
    # (tests/perf/probe.py).
    log = AppliedLog(stack.profile.root / "applied.log")
    probe = stack.service("dossiers", module="tests.perf.probe", MOTCUA_BENCH_APPLIED_LOG=str(log.path),
                          **chain).start()
    meter_pids = dict(
        zip(CPU_COLUMNS, (os.getpid(), procedures.pid, probe.pid, stack.postgres.pid, stack.kafka.pid), strict=True)
    )
    results["e2e"] = closed_loop_rows(stack, plan, log, meter_pids, "procedures", "end to end", "callers",
                                      lambda k, seconds: closed_loop(procedures.addr, k, seconds))

    # The target's rate; and, when that is beyond what the run sustained, half the best
    # sustained rate too, to show the path's own latency without a queue in front of it.
    rates = [plan.rate]
    best = max((e["commands_per_s"] for e in results["e2e"]), default=0)
    if not args.quick and 0 < best < plan.rate:
        rates.append(max(20, round(best / 2, -1)))
    results["latency"] = []
    for rate in rates:
        step(f"latency: {rate:g} commands/s offered for {plan.latency_seconds:g} s (open loop), then drain")
        log.mark()
        meter = CpuMeter(meter_pids).start()
        load = open_loop(procedures.addr, rate, plan.latency_seconds)
        applied = log.wait_for(load.pairs_ok)
        cpu = meter.stop()
        positions = [a.position for a in applied]
        commits = stack.commit_times_ns("procedures", "procedures_events", positions)
        sends = stack.send_times_ns(TOPIC, set(positions))
        results["latency"].append({"offered_commands_per_s": rate, **latency(load, applied, commits, sends),
                                   "cpu_percent": cpu,
                                   "cpu_ms_per_command": per_command(meter.cpu_seconds, 2 * len(applied))})

    results["loaded_rss_mb"] = {"procedures": round(rss_mb(procedures.pid), 1), "dossiers": round(rss_mb(probe.pid), 1)}
    results["stored_event_bytes"] = {"procedures_avg": stored_event_size(stack.dsn("procedures"), "procedures_events"),
                                     "pgbench_payload": PAYLOAD_BYTES}
    probe.terminate()
    dossier_commands(stack, plan, args, procedures.addr, results)


def dossier_commands(stack: BenchStack, plan: Plan, args: argparse.Namespace, procedures_addr: str,
                     results: dict) -> None:
    """The desk's commands into the real dossiers service (submit, then receive), each
    DossierReceived relayed to Kafka and applied by a consumer in another process."""
    from motcua.dossiers.v1 import dossier_service_pb2 as dpb
    from motcua.procedures.v1 import procedure_service_pb2 as ppb
    from tests.support.clients import dossiers_stub, procedures_stub
    from tests.support.procedures import create_request
    from tests.support.waiting import eventually

    from . import dossier_load
    from .dossier_probe import SERVICE as PROBE_SERVICE

    step("dossier commands: the dossiers service, a published procedure, a consumer of its events")
    chain = {"MOTCUA_CHAIN": args.chain}
    dossiers = stack.service("dossiers", **chain).start()
    created = procedures_stub(procedures_addr).CreateProcedure(create_request()).procedure
    procedures_stub(procedures_addr).PublishProcedure(ppb.PublishProcedureRequest(procedure_id=created.procedure_id))
    replicas = dossiers_stub(dossiers.addr)
    eventually(lambda: replicas.GetProcedureReplica(dpb.GetProcedureReplicaRequest(procedure_id=created.procedure_id)),
               what="the procedure's replica in dossiers")
    stack.postgres.create_database(f"motcua_{PROBE_SERVICE}")
    log = AppliedLog(stack.profile.root / "dossier-applied.log")
    consumer = stack.service(PROBE_SERVICE, module="tests.perf.dossier_probe",
                             MOTCUA_BENCH_APPLIED_LOG=str(log.path), **chain).start()
    pids = dict(zip(DOSSIER_CPU_COLUMNS, (os.getpid(), dossiers.pid, consumer.pid, stack.postgres.pid,
                                          stack.kafka.pid), strict=True))
    results["dossier_commands"] = closed_loop_rows(
        stack, plan, log, pids, "dossiers", "dossier commands", "desks submitting and receiving",
        lambda k, seconds: dossier_load.closed_loop(dossiers.addr, created.procedure_id, k, seconds))
    results["loaded_rss_mb"]["dossiers (commands)"] = round(rss_mb(dossiers.pid), 1)


def closed_loop_rows(stack: BenchStack, plan: Plan, log: AppliedLog, pids: dict[str, int], service: str, what: str,
                     callers: str, load: Callable[[int, float], LoadResult]) -> list[dict]:
    """A warm-up until the consumer has applied it, then a row per concurrency K of the plan:
    ``load(K, seconds)`` end to end, and the CPU it took per command."""
    step(f"{what}: warm-up, 1 s of load, until the consumer has applied it")
    warm = load(4, 1.0)
    if not warm.pairs_ok:
        raise RuntimeError(f"{service} accepted no command ({warm.errors}); see the logs in {stack.logs}")
    if len(log.wait_for(warm.pairs_ok, stall_timeout=60)) < warm.pairs_ok:
        raise RuntimeError(f"the consumer did not apply the warm-up's events; see the logs in {stack.logs}")
    rows = []
    for k in plan.concurrency:
        step(f"{what}: K={k} {callers} for {plan.e2e_seconds:g} s, then drain")
        log.mark()
        meter = CpuMeter(pids).start()
        loaded = load(k, plan.e2e_seconds)
        applied = log.wait_for(loaded.pairs_ok)
        cpu = meter.stop()
        rows.append({"concurrency": k, **end_to_end(loaded, applied), "cpu_percent": cpu,
                     "cpu_ms_per_command": per_command(meter.cpu_seconds, 2 * len(applied))})
    return rows


def read_models(stack: BenchStack, dossiers: int) -> dict:
    from .readmodels import measure

    settings = stack.settings("dossiers_bench")
    store_env = {"POSTGRES_HOST": stack.postgres.host, "POSTGRES_PORT": str(stack.profile.pg_port),
                 "POSTGRES_USER": stack.postgres.user, "POSTGRES_PASSWORD": stack.postgres.password,
                 "POSTGRES_DBNAME": "motcua_dossiers_bench"}
    return measure(settings, store_env, dossiers)


def per_command(cpu_seconds: dict[str, float], commands: int) -> dict[str, float]:
    """Each process's CPU milliseconds per command of the phase (a pair counts two)."""
    return {name: round(1000 * seconds / commands, 2) for name, seconds in cpu_seconds.items()} if commands else {}


def end_to_end(load: LoadResult, applied: list[Applied]) -> dict:
    events = len(applied)
    last_apply = max(a.applied_ns for a in applied) / 1e9 if applied else load.started_wall
    seconds = last_apply - load.started_wall
    per_s = events / seconds if seconds > 0 else 0.0
    return {
        "events_applied": events,
        "events_expected": load.pairs_ok,
        "seconds_to_last_apply": round(seconds, 2),
        "events_per_s": round(per_s, 1),
        "commands_per_s": round(2 * per_s, 1),
        **load.summary(),
    }


def latency(load: LoadResult, applied: list[Applied], commits: dict[int, int], sends: dict[int, int]) -> dict:
    def stats(ms: list[float]) -> tuple[float | None, float | None, float | None]:
        ms = sorted(ms)
        return (round(statistics.median(ms), 1), round(percentile(ms, 99), 1), round(ms[-1], 1)) if ms else (None,) * 3

    p50, p99, worst = stats([(a.applied_ns - commits[a.position]) / 1e6 for a in applied if a.position in commits])
    timed = [a for a in applied if a.position in commits and a.position in sends]
    o50, o99, _ = stats([(a.applied_ns - a.occurred_ns) / 1e6 for a in applied])
    # Where the time goes: commit -> the relay hands it to Kafka -> the consumer's policy starts on
    # it
    # (Kafka, and waiting behind the records polled before it) -> the consumer's transaction has
    # committed.
    r50, r99, _ = stats([(sends[a.position] - commits[a.position]) / 1e6 for a in timed])
    k50, k99, _ = stats([(a.picked_up_ns - sends[a.position]) / 1e6 for a in timed])
    c50, c99, _ = stats([(a.applied_ns - a.picked_up_ns) / 1e6 for a in timed])
    return {
        "events_applied": len(applied),
        "events_expected": load.pairs_ok,
        "events_with_commit_time": sum(1 for a in applied if a.position in commits),
        "events_with_send_time": len(timed),
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": worst,
        "from_occurred_at_p50_ms": o50,
        "from_occurred_at_p99_ms": o99,
        "commit_to_relay_send_p50_ms": r50,
        "commit_to_relay_send_p99_ms": r99,
        "relay_send_to_pick_up_p50_ms": k50,
        "relay_send_to_pick_up_p99_ms": k99,
        "pick_up_to_applied_p50_ms": c50,
        "pick_up_to_applied_p99_ms": c99,
        **load.summary(),
    }


# --- the table -----------------------------------------------------------------------------------


def _fastest(phases: list[dict]) -> dict | None:
    """The phase with the most commands/s (the one checked against the target)."""
    return max(phases, key=lambda phase: phase["commands_per_s"]) if phases else None


def print_table(r: dict) -> None:
    s = r["server"]
    pg_tps = r["pgbench"]["tps"] if "pgbench" in r else 0.0  # 0: not measured (--only path)
    es_rate = r["eventsourcing"]["per_second"] if "eventsourcing" in r else 0.0
    durability = "RELAXED: the test profile's settings, not durable" if s.get("fsync") == "off" else "durable defaults"
    print()
    print(f"motcua bench {time.strftime('%Y-%m-%d %H:%M', time.localtime(r['started_at']))}: {r['host']['cpus']} CPUs, "
          f"every process on this machine, loopback only{' (QUICK)' if r['quick'] else ''}")
    print(
        f"PostgreSQL {s['server_version']} ({durability}): fsync={s['fsync']} "
        f"synchronous_commit={s['synchronous_commit']} "
        f"full_page_writes={s['full_page_writes']} wal_sync_method={s['wal_sync_method']} "
        f"shared_buffers={s['shared_buffers']} "
        f"track_commit_timestamp={s['track_commit_timestamp']}"
    )
    print(f"Kafka 1 broker, producer acks=all, 3 partitions. Tracing: {r['tracing']}. "
          f"Chain sealer: {r.get('chain', 'on')}. Load: grpc.aio, one process, one channel.")
    print()

    rows: list[tuple[str, ...]] = []

    def row(figure, value, unit, vs_pg="", vs_es="", target="", status=""):
        rows.append((figure, value, unit, vs_pg, vs_es, target, status))

    def ratio(value: float, base: float) -> str:
        return f"{value / base:.2f}x" if base else "-"

    def check(value, limit, at_least: bool) -> str:
        if value is None:
            return "no data"
        return "ok" if (value >= limit if at_least else value <= limit) else "BELOW TARGET"

    def fmt(ms: float | None) -> str:
        return "-" if ms is None else f"{ms:,.1f}"

    def incomplete(phase: dict) -> str:
        missing = phase["events_expected"] - phase["events_applied"]
        return f"INCOMPLETE: {missing} events not applied" if missing > 0 else ""

    if pg_tps:
        row("pgbench insert, 8 clients", f"{pg_tps:,.0f}", "tx/s", "1.00x")
    if "pgbench_1" in r:
        row("pgbench insert, 1 client", f"{r['pgbench_1']['tps']:,.0f}", "tx/s", ratio(r["pgbench_1"]["tps"], pg_tps))
    if es_rate:
        row("eventsourcing save, 8 threads", f"{es_rate:,.0f}", "tx/s", ratio(es_rate, pg_tps), "1.00x")
    # The command paths' end-to-end rows; the target is checked against each path's fastest K.
    for key, title, latency_title, with_events in (
            ("e2e", "motcua end to end", "RPC latency p50 / p99", True),
            ("dossier_commands", "dossier commands end to end", "submit + receive RPC latency p50 / p99", False)):
        phases = r.get(key, [])
        best = _fastest(phases)
        for e in phases:
            goal = TARGETS["e2e_commands_per_s"]
            checked = best is not None and e is best
            target, status = (f">= {goal:,}", check(e["commands_per_s"], goal, True)) if checked else ("", "")
            row(f"{title}, K={e['concurrency']}", f"{e['commands_per_s']:,.0f}", "commands/s",
                ratio(e["commands_per_s"], pg_tps), ratio(e["commands_per_s"], es_rate), target,
                incomplete(e) or status)
            if with_events:
                row("  events delivered", f"{e['events_per_s']:,.0f}", "events/s")
            row(f"  {latency_title}", f"{e['rpc_ms_p50']:.0f} / {e['rpc_ms_p99']:.0f}", "ms")
    dossier_phases = r.get("dossier_commands", [])
    for n, lat in enumerate(r.get("latency", [])):
        at = f"@{lat['offered_commands_per_s']:g}/s"
        if n == 0:
            row(
                f"commit->consumer p50 {at}",
                fmt(lat["p50_ms"]),
                "ms",
                "",
                "",
                f"<= {TARGETS['latency_p50_ms']}",
                check(lat["p50_ms"], TARGETS["latency_p50_ms"], False),
            )
            row(
                f"commit->consumer p99 {at}",
                fmt(lat["p99_ms"]),
                "ms",
                "",
                "",
                f"<= {TARGETS['latency_p99_ms']}",
                check(lat["p99_ms"], TARGETS["latency_p99_ms"], False),
            )
        else:  # informational: below saturation
            row(f"commit->consumer p50 / p99 {at}", f"{fmt(lat['p50_ms'])} / {fmt(lat['p99_ms'])}", "ms")
        for label, key in (("commit -> relay sent", "commit_to_relay_send"),
                           ("relay sent -> consumer picks up", "relay_send_to_pick_up"),
                           ("picked up -> applied", "pick_up_to_applied"),
                           ("occurred_at -> applied", "from_occurred_at")):
            row(f"  {label}, p50 / p99", f"{fmt(lat[f'{key}_p50_ms'])} / {fmt(lat[f'{key}_p99_ms'])}", "ms")
        row("  sent / acknowledged", f"{lat['sent_rpcs_per_s']:,.0f} / {lat['acknowledged_rpcs_per_s']:,.0f}",
            "commands/s", "", "", "", incomplete(lat))
    if "read_models" in r:
        rm = r["read_models"]
        row(
            f"register rebuild, {rm['events']:,} events",
            f"{rm['rebuild_events_per_s']:,}",
            f"events/s ({rm['rebuild_cpu_us_per_event']:.1f} CPU us/event)" if "rebuild_cpu_us_per_event" in rm
            else "events/s",
            "",
            "",
            f">= {TARGETS['rebuild_events_per_s']:,}",
            check(rm["rebuild_events_per_s"], TARGETS["rebuild_events_per_s"], True),
        )
        row(
            "dossier state at a past time",
            f"{rm['state_at_past_time_ms']:.2f}",
            "ms",
            "",
            "",
            f"<= {TARGETS['state_at_past_time_ms']}",
            check(rm["state_at_past_time_ms"], TARGETS["state_at_past_time_ms"], False),
        )
    if "audit_history" in r:
        ah = r["audit_history"]
        row(
            f"a dossier's history by code (audit API), {ah['events']:,} events",
            f"{ah['history_by_code_p50_ms']:.2f}",
            "ms",
            "",
            "",
            f"<= {TARGETS['history_by_code_ms']}",
            check(ah["history_by_code_p95_ms"], TARGETS["history_by_code_ms"], False),
        )
    if "audit_state" in r:
        ast = r["audit_state"]
        row(
            f"a dossier's state at a past time (audit API), {ast['events']:,} events",
            f"{ast['state_at_time_p50_ms']:.2f}",
            f"ms ({ast['cpu_ms_per_query']:.2f} CPU ms)" if "cpu_ms_per_query" in ast else "ms",
            "",
            "",
            f"<= {TARGETS['audit_state_at_time_ms']}",
            check(ast["state_at_time_p95_ms"], TARGETS["audit_state_at_time_ms"], False),
        )
    if "chain_verification" in r:
        cv = r["chain_verification"]
        row(
            f"chain verification, {cv['events']:,} events",
            f"{cv['verify_events_per_s']:,}",
            "events/s",
            "",
            "",
            f">= {TARGETS['verify_events_per_s']:,}",
            check(cv["verify_events_per_s"], TARGETS["verify_events_per_s"], True),
        )
        if "bundle_verify_events_per_s" in cv:
            row(
                "  the same log exported, verified offline",
                f"{cv['bundle_verify_events_per_s']:,}",
                "events/s",
                "",
                "",
                f">= {TARGETS['verify_events_per_s']:,}",
                check(cv["bundle_verify_events_per_s"], TARGETS["verify_events_per_s"], True),
            )
    for service, mb in r.get("idle_rss_mb", {}).items():
        row(f"idle RSS {service}", f"{mb:.0f}", "MB", "", "", f"<= {TARGETS['idle_rss_mb']}",
            check(mb, TARGETS["idle_rss_mb"], False))
    for service, mb in r.get("loaded_rss_mb", {}).items():
        row(f"  RSS {service} after the run", f"{mb:.0f}", "MB")

    header = ("figure", "value", "unit", "vs pgbench", "vs eventsourcing", "target", "status")
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
    for line in [header, tuple("-" * w for w in widths), *rows]:
        cells = [
            c.ljust(w) if i in (0, 2, 6) else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=False))
        ]
        print("  ".join(cells).rstrip())

    if "e2e" not in r:
        return  # --only readmodels: no phases under load
    cores = r["host"]["cpus"]
    print(
        f"\nCPU used per process during each phase, % of one core (the machine has {cores}, so {100 * cores}% is "
        f"all of it):"
    )
    phases = [(f"K={e['concurrency']}", e["cpu_percent"]) for e in r["e2e"]]
    phases += [(f"@{lat['offered_commands_per_s']:g}/s", lat["cpu_percent"]) for lat in r["latency"]]
    names = [*CPU_COLUMNS, "other", "machine"]
    print("  " + "phase".ljust(9) + "".join(n.rjust(12) for n in names))
    disturbed = []
    for label, cpu in phases:
        print("  " + label.ljust(9) + "".join(f"{cpu.get(n, 0):12.0f}" for n in names))
        if cpu["other"] > 15:
            disturbed.append(f"{label} ({cpu['other']:.0f}%)")
    if disturbed:
        print(f"WARNING: processes outside this benchmark used CPU during {', '.join(disturbed)}; "
              "those figures are lower than the machine can do.")
    print("\nCPU milliseconds per command (a process's CPU seconds in the phase / commands applied; "
          "far steadier than the rates on a busy machine):")
    per_phase: list[tuple[str, dict[str, float]]] = [
        (f"K={e['concurrency']}", e.get("cpu_ms_per_command", {})) for e in r["e2e"]]
    per_phase += [(f"@{lat['offered_commands_per_s']:g}/s", lat.get("cpu_ms_per_command", {})) for lat in r["latency"]]
    print("  " + "phase".ljust(9) + "".join(n.rjust(12) for n in (*CPU_COLUMNS[1:], "total")))
    for label, ms in per_phase:
        costs = [ms.get(n, 0.0) for n in CPU_COLUMNS[1:]]
        print("  " + label.ljust(9) + "".join(f"{v:12.2f}" for v in (*costs, sum(costs))))
    if dossier_phases:
        print("\nDossier commands (submit + receive; the consumer records each DossierReceived's position), "
              "CPU ms per command:")
        print("  " + "phase".ljust(9) + "".join(n.rjust(12) for n in (*DOSSIER_CPU_COLUMNS[1:], "total", "client")))
        for e in dossier_phases:
            ms = e.get("cpu_ms_per_command", {})
            costs = [ms.get(n, 0.0) for n in DOSSIER_CPU_COLUMNS[1:]]
            print("  " + f"K={e['concurrency']}".ljust(9)
                  + "".join(f"{v:12.2f}" for v in (*costs, sum(costs), ms.get("client", 0.0))))
    print(f"\nStored event state: {r['stored_event_bytes']['procedures_avg']} bytes on average in procedures; "
          f"pgbench rows carry {r['stored_event_bytes']['pgbench_payload']}. Whole run: {r['duration_s']:.0f} s.")


if __name__ == "__main__":
    sys.exit(main())
