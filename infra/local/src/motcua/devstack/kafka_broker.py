"""A one-node Kafka 3.9 broker in KRaft combined mode, from jars resolved through Maven."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import subprocess
import time
import uuid
from pathlib import Path

from . import _proc
from .profiles import Profile, repo_root

KAFKA_VERSION = "3.9.1"
JVM_OPTS = ["-Xms256m", "-Xmx512m", "-Djava.awt.headless=true"]


def kafka_libs() -> Path:
    """Kafka's jars in .local/cache/kafka-<version>/libs, resolved by Maven on first use.

    The marker holds the pom's hash, so editing infra/kafka/pom.xml triggers a re-resolve.
    """
    pom = repo_root() / "infra" / "kafka" / "pom.xml"
    cache = repo_root() / ".local" / "cache" / f"kafka-{KAFKA_VERSION}"
    libs, marker = cache / "libs", cache / "resolved"
    want = hashlib.sha256(pom.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == want:
        return libs
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once resolve only once
        if marker.exists() and marker.read_text() == want:
            return libs
        tmp = cache / "libs.partial"
        _proc.wipe(tmp)
        cmd = ["mvn", "-q", "-B", "-Dstyle.color=never", "-f", str(pom),
               "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"resolving Kafka's jars failed: {' '.join(cmd)}\n{res.stdout}{res.stderr}")
        _proc.wipe(libs)
        tmp.rename(libs)
        marker.write_text(want)
    return libs


class Kafka:
    def __init__(self, profile: Profile):
        self.profile = profile
        self.dir = profile.root / "kafka"
        self.data_dir = self.dir / "data"
        self.config_path = self.dir / "server.properties"
        self.pid_file = self.dir / "kafka.pid"
        self.log_path = self.dir / "logs" / "server.log"  # written by log4j
        self.console_path = self.dir / "logs" / "console.log"  # JVM stdout/stderr
        self.bootstrap = f"127.0.0.1:{profile.kafka_port}"

    @property
    def pid(self) -> int | None:
        # The config path tells the run and test brokers apart.
        return _proc.read_pid(self.pid_file, str(self.config_path))

    def is_running(self) -> bool:
        return self.pid is not None

    def start(self, fresh: bool | None = None, timeout: float = 120) -> Kafka:
        """Start if needed and wait until the broker answers metadata requests.

        fresh: as for Postgres.start (ephemeral profiles are wiped on this process's first start).
        """
        with _proc.locked(self.profile.root / ".kafka.lock"):
            first = _proc.claim_first_start(self.dir)
            if fresh or (fresh is None and self.profile.ephemeral and first and not self.is_running()):
                self._stop()
                _proc.wipe(self.dir)
            if not self.is_running():
                self._start(timeout)
        return self

    def _start(self, timeout: float) -> None:
        for port in (self.profile.kafka_port, self.profile.controller_port):
            if _proc.port_open(port):
                raise RuntimeError(f"port {port} is taken by a process that is not {self.pid_file}'s broker")
        libs = kafka_libs()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self._server_properties())
        if not (self.data_dir / "meta.properties").exists():
            self._format(libs)
        proc = _proc.spawn(self._java(libs, "kafka.Kafka", str(self.config_path)), self.console_path, cwd=self.dir)
        self.pid_file.write_text(f"{proc.pid}\n")
        self._wait_ready(proc, timeout)

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM (controlled shutdown, data flushed), SIGKILL if it takes longer than timeout."""
        with _proc.locked(self.profile.root / ".kafka.lock"):
            self._stop(timeout)

    def _stop(self, timeout: float = 60) -> None:
        if pid := self.pid:
            _proc.stop_pid(pid, timeout)
        self.pid_file.unlink(missing_ok=True)

    def _java(self, libs: Path, main: str, *args: str) -> list[str]:
        log4j = repo_root() / "infra" / "kafka" / "log4j.properties"
        return ["java", *JVM_OPTS, f"-Dlog4j.configuration=file:{log4j}",
                f"-Dkafka.logs.dir={self.log_path.parent}", "-cp", f"{libs}/*", main, *args]

    def _format(self, libs: Path) -> None:
        # A Kafka cluster id is 16 random bytes in URL-safe base64 without padding.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        # "=" form: a random id may start with "-", which would read as an option.
        cmd = self._java(
            libs, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", f"--config={self.config_path}"
        )
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed: {' '.join(cmd)}\n{res.stdout}{res.stderr}")

    def _server_properties(self) -> str:
        p, c = self.profile.kafka_port, self.profile.controller_port
        return f"""\
# Written by motcua-stack at every start; edit infra/local/src/motcua/devstack/kafka_broker.py instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{c}
listeners=PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}
advertised.listeners=PLAINTEXT://127.0.0.1:{p}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs={self.data_dir}
# One node: every replication factor and ISR is 1.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Fewer internal partitions than the default 50: a faster first consumer group / transaction.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
num.partitions=3
# Services create their own topics; a typo must fail, not create a topic.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# After a crash (SIGKILL) the restarted broker waits for its old registration to expire:
# 4 s instead of the default 9 s. Heartbeats stay local, so a short session is safe here.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
"""

    def _wait_ready(self, proc, timeout: float) -> None:
        # Here, not at the top: the devstack package needs only pgserver and psycopg; the broker's
        # readiness is asked with the platform's Kafka client, installed beside it.
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise RuntimeError(f"Kafka exited with code {proc.returncode}; see {self.log_path}\n"
                                   f"{_proc.tail(self.log_path)}\n{_proc.tail(self.console_path, 10)}")
            # Wait for the port first: kafka-python logs every refused connection.
            if _proc.port_open(self.profile.kafka_port):
                try:
                    admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="motcua-stack",
                                             bootstrap_timeout_ms=3000, request_timeout_ms=5000)
                    try:
                        if admin.describe_cluster().get("brokers"):
                            return
                    finally:
                        admin.close()
                except Exception as e:  # noqa: BLE001 - not ready yet; reported on timeout
                    last_error = e
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka did not answer on {self.bootstrap} within {timeout:.0f}s "
                                   f"(last error: {last_error!r}); see {self.log_path}\n{_proc.tail(self.log_path)}")
            time.sleep(0.3)
