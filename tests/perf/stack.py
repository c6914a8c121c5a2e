"""The benchmark's own stack, and what it reads from /proc about the processes it started.

The `bench` profile lives in .local/bench on its own ports (PostgreSQL 35432,
Kafka 39092/39093; plus 100 x MOTCUA_TEST_SLOT), so a benchmark never meets
`make run`, a test run or another checkout's benchmark. It reuses the test
suite's ``Stack`` (start fresh, spawn services, stop all).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from kafka import KafkaConsumer, TopicPartition

from motcua.common.v1 import envelope_pb2
from motcua.devstack import Kafka, Postgres, Profile, repo_root
from tests.conftest import Stack

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def on_threads(caller: Callable[[int], None], count: int) -> None:
    """Runs ``caller(n)`` for n in 0..count-1, each on a thread of its own, until all return."""
    threads = [threading.Thread(target=caller, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def repeated_calls(call: Callable[[int, int], int], threads: int, seconds: float) -> tuple[int, float, list[str]]:
    """``call(n, i)`` (thread n's i-th call, returning how many items it did) over and over on
    ``threads`` threads for ``seconds``: the items done, the seconds taken and each failure's
    description, a failed call counting none."""
    counts = [0] * threads
    errors: list[str] = []
    deadline = time.time() + seconds

    def caller(n: int) -> None:
        i = 0
        while time.time() < deadline:
            try:
                counts[n] += call(n, i)
            except Exception as e:  # noqa: BLE001 - counted and shown
                errors.append(f"{type(e).__name__}: {getattr(e, 'details', lambda: '')() or e}")
            i += 1

    started = time.time()
    on_threads(caller, threads)
    return sum(counts), time.time() - started, errors


def bench_profile(relaxed: bool) -> Profile:
    """relaxed=True: PostgreSQL with the test profile's fsync=off, synchronous_commit=off.
    MOTCUA_TEST_SLOT=N moves the ports by 100 x N, as it does the test profile's, so that
    benchmarks of several checkouts on one machine do not meet."""
    shift = 100 * int(os.environ.get("MOTCUA_TEST_SLOT", "0") or 0)
    return Profile(
        name="bench",
        root=repo_root() / ".local" / "bench",
        pg_port=35432 + shift,
        kafka_port=39092 + shift,
        controller_port=39093 + shift,
        ephemeral=relaxed,  # the devstack turns durability off for ephemeral profiles
    )


class BenchStack(Stack):
    """The test suite's Stack on the bench profile; services run without exporting spans."""

    def __init__(self, relaxed: bool = False) -> None:
        super().__init__()
        self.profile = bench_profile(relaxed)
        self.postgres = Postgres(self.profile)
        self.kafka = Kafka(self.profile)
        self.logs = self.profile.root / "logs"

    def service(self, name: str, module: str | None = None, **extra_env: str):
        # Spans are still created (trace context flows), but not exported: no collector load.
        return super().service(name, module, OTEL_EXPORTER_OTLP_ENDPOINT="", **extra_env)

    def start(self) -> None:
        super().start()
        # Commit timestamps let the latency figure start at the producer's real commit.
        with psycopg.connect(self.postgres.dsn(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        self.postgres.stop()
        self.postgres.start(fresh=False)

    def commit_times_ns(self, service: str, table: str, positions: list[int]) -> dict[int, int]:
        """When the transaction that recorded each notification committed (server clock, ns)."""
        with psycopg.connect(self.dsn(service)) as conn:
            rows = conn.execute(
                f"SELECT notification_id, (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1e9)::bigint "
                f"FROM {table} WHERE notification_id = ANY(%s)",
                (positions,),
            ).fetchall()
        return {position: ns for position, ns in rows if ns is not None}

    def send_times_ns(self, topic: str, positions: set[int]) -> dict[int, int]:
        """When the relay handed each event to its Kafka producer (the record's CreateTime, ms
        precision)."""
        consumer = KafkaConsumer(bootstrap_servers=self.kafka.bootstrap, enable_auto_commit=False)
        try:
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            consumer.assign(partitions)
            consumer.seek_to_beginning()
            ends = consumer.end_offsets(partitions)
            found: dict[int, int] = {}
            deadline = time.monotonic() + 60
            while any(consumer.position(tp) < ends[tp] for tp in partitions) and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                    for record in records:
                        position = envelope_pb2.EventEnvelope.FromString(record.value).position
                        if position in positions:
                            found[position] = record.timestamp * 1_000_000
            return found
        finally:
            consumer.close()

    def server_settings(self) -> dict[str, str]:
        """What the figures depend on, read from the running server itself."""
        names = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers",
                 "max_connections", "track_commit_timestamp")
        with psycopg.connect(self.postgres.dsn()) as conn:
            rows = conn.execute(
                "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)", (list(names),)
            ).fetchall()
            row = conn.execute("SHOW server_version").fetchone()
            assert row is not None
            version = row[0]
        settings = {"server_version": version}
        for name, setting, unit in rows:
            settings[name] = f"{int(setting) * 8 // 1024}MB" if unit == "8kB" else setting
        return settings


# --- /proc ---------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident set size in MB (10^6 bytes), from /proc/<pid>/status VmRSS."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()  # fields from the 3rd on (after the command name)


def _cpu_seconds(pid: int, with_reaped_children: bool = False) -> float:
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: backends that already exited
    return ticks / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat(int(entry))[1]) == pid:
                    found.append(int(entry))
            except (OSError, IndexError):
                pass
    return found


def _machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, over all cores."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass
class CpuMeter:
    """CPU used by each named process group between start() and stop(), in % of one core."""

    pids: dict[str, int]  # name -> pid; "postgres" also counts the postmaster's children

    def _sample(self) -> dict[str, float]:
        sample: dict[str, float] = {}
        for name, pid in self.pids.items():
            try:
                if name == "postgres":
                    sample[name] = _cpu_seconds(pid, with_reaped_children=True) + sum(
                        _cpu_seconds(child) for child in _children(pid)
                    )
                else:
                    sample[name] = _cpu_seconds(pid)
            except OSError:
                sample[name] = 0.0
        sample["machine_busy"], sample["machine_total"] = _machine_busy_seconds()
        return sample

    def start(self) -> CpuMeter:
        self._before = self._sample()
        return self

    def stop(self) -> dict[str, float]:
        after = self._sample()
        wall_cores = after["machine_total"] - self._before["machine_total"]  # CPU-seconds available
        cores = os.cpu_count() or 1
        wall = wall_cores / cores
        usage = {
            name: round(100 * (after[name] - self._before[name]) / wall, 1)
            for name in self.pids
            if wall > 0
        }
        # CPU seconds each process used: divided by the commands of the phase, the CPU a command
        # costs, a figure that other load on the machine changes far less than a rate.
        self.cpu_seconds = {name: round(after[name] - self._before[name], 3) for name in self.pids}
        busy = after["machine_busy"] - self._before["machine_busy"]
        usage["machine"] = round(100 * busy / wall, 1) if wall > 0 else 0.0  # out of 100 * cores
        # Everything else: other processes on the machine, and the kernel's own work.
        usage["other"] = round(max(0.0, usage["machine"] - sum(usage[n] for n in self.pids)), 1)
        return usage
