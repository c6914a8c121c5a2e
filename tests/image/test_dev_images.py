"""The development dependencies' images (`make dev-images`), run with runc as a pod would run
them: PostgreSQL (Debian's server) makes its cluster at the first start and serves Vietnamese text
over TCP with a password; Kafka (the Maven-resolved jars on Debian's Java) formats its storage and
carries a record from a producer to a consumer. Each on the host's network on a free port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer

from motcua.devstack import free_port
from tests.image.test_image import REPO, tool, tool_env

IMAGES = REPO / ".local" / "image"
POSTGRESQL = IMAGES / "postgresql-15.oci.tar"
KAFKA = next(iter(sorted(IMAGES.glob("kafka-*.oci.tar"))), IMAGES / "kafka-missing.oci.tar")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runc runs the image's bundle as root here")


def unpack(archive: Path, work: Path) -> tuple[Path, dict]:
    if not archive.exists():
        pytest.skip(f"no image at {archive.relative_to(REPO)}: `make dev-images` builds it")
    with tarfile.open(archive) as tar:
        tar.extractall(work / "layout", filter="tar")
    tag = json.loads((work / "layout" / "index.json").read_text())["manifests"][0]["annotations"][
        "org.opencontainers.image.ref.name"]
    tool("umoci", "unpack", "--image", f"{work / 'layout'}:{tag}", work / "bundle")
    return work / "bundle", json.loads((work / "bundle" / "config.json").read_text())


def run_detached(bundle: Path, config: dict, env: dict[str, str], volume: tuple[Path, str, int],
                 work: Path) -> Iterator[Path]:
    """Starts the image's own entrypoint in the background: read-only root, /tmp a tmpfs, the
    volume (a host folder owned by the image's user) at its path, the host's network."""
    host_dir, path, uid = volume
    host_dir.mkdir()
    os.chown(host_dir, uid, uid)
    config["process"]["terminal"] = False
    config["process"]["env"] += [f"{k}={v}" for k, v in env.items()]
    config["root"]["readonly"] = True
    config["mounts"] += [
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
        {"destination": path, "type": "bind", "source": str(host_dir), "options": ["rbind", "rw"]},
        {"destination": "/var/run/postgresql", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777"]},
    ]
    config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"] if n["type"] != "network"]
    (bundle / "config.json").write_text(json.dumps(config))
    container = f"motcua-dev-{uuid.uuid4().hex[:10]}"
    runc = ["runc", "--root", str(work / "runc")]
    log = work / "container.log"
    with log.open("w") as out:
        process = subprocess.Popen([*runc, "run", "--bundle", str(bundle), container], env=tool_env(),
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        yield log
    finally:
        subprocess.run([*runc, "kill", container, "TERM"], env=tool_env(), timeout=30)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            subprocess.run([*runc, "kill", container, "KILL"], env=tool_env(), timeout=30)
            process.wait(timeout=30)


def wait_for_port(port: int, attempts: int = 900) -> bool:
    for _ in range(attempts):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


@pytest.fixture
def postgresql(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    bundle, config = unpack(POSTGRESQL, tmp_path)
    port = free_port()
    env = {"POSTGRES_PASSWORD": "mật-khẩu-thử"}
    config["process"]["args"] += ["-c", f"port={port}"]
    volume = (tmp_path / "data", "/var/lib/postgresql/data", config["process"]["user"]["uid"])
    for log in run_detached(bundle, config, env, volume, tmp_path):
        yield port, log


def test_the_postgresql_image_makes_its_cluster_and_serves_vietnamese_text_with_a_password(postgresql) -> None:
    port, log = postgresql
    conninfo = f"host=127.0.0.1 port={port} user=postgres password=mật-khẩu-thử dbname=postgres connect_timeout=2"
    connection = None
    for _ in range(600):
        try:
            connection = psycopg.connect(conninfo)
            break
        except psycopg.OperationalError:
            time.sleep(0.2)
    assert connection is not None, log.read_text()
    with connection:
        row = connection.execute("SELECT current_setting('server_version'), %s::text, "
                                 "current_setting('server_encoding')", ("Hồ sơ một cửa – Thừa Thiên Huế",)).fetchone()
    assert row is not None
    version, text, encoding = row
    assert version.startswith("15.")
    assert (text, encoding) == ("Hồ sơ một cửa – Thừa Thiên Huế", "UTF8")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(conninfo.replace("mật-khẩu-thử", "sai"))


def test_the_kafka_image_formats_its_storage_and_carries_a_record(tmp_path: Path) -> None:
    bundle, config = unpack(KAFKA, tmp_path)
    port = free_port()
    env = {"KAFKA_PORT": str(port), "KAFKA_ADVERTISED_HOST": "127.0.0.1"}
    volume = (tmp_path / "data", "/var/lib/kafka", config["process"]["user"]["uid"])
    for log in run_detached(bundle, config, env, volume, tmp_path):
        assert wait_for_port(port), log.read_text()
        producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=120_000,
                                 max_block_ms=120_000)
        producer.send("dev-image-check", "Đã tiếp nhận hồ sơ".encode()).get(timeout=120)
        producer.close()
        consumer = KafkaConsumer("dev-image-check", bootstrap_servers=f"127.0.0.1:{port}",
                                 auto_offset_reset="earliest", consumer_timeout_ms=60_000)
        values = [next(consumer).value.decode()]
        consumer.close()
        assert values[:1] == ["Đã tiếp nhận hồ sơ"], log.read_text()
