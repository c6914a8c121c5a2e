"""The project's single-node Kubernetes, for real: make k8s-up starts etcd, the control plane,
containerd, the kubelet, kube-proxy and CoreDNS in a network namespace of its own; the project's
image (imported into containerd, never pulled) runs the gateway in a pod; another pod of the same
image reaches it through its ClusterIP Service, by address and by its DNS name."""

from __future__ import annotations

import glob
import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.k8s.conftest import ROOT, kubectl, run_pod

pytestmark = pytest.mark.k8s

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE = f"ghcr.io/motcua/motcua:{VERSION}"
NAMESPACE = "motcua-smoke"

GATEWAY = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: gateway, namespace: {NAMESPACE}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: gateway}}}}
  template:
    metadata: {{labels: {{app: gateway}}}}
    spec:
      containers:
        - name: gateway
          image: {IMAGE}
          imagePullPolicy: Never
          command: [python, -m, motcua.gateway]
          env:
            - {{name: MOTCUA_HTTP_ADDR, value: "0.0.0.0:8080"}}
          ports: [{{containerPort: 8080, name: http}}]
          readinessProbe:
            httpGet: {{path: /livez, port: http}}
            periodSeconds: 2
          securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
          volumeMounts: [{{name: tmp, mountPath: /tmp}}]
      volumes: [{{name: tmp, emptyDir: {{}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: gateway, namespace: {NAMESPACE}}}
spec:
  selector: {{app: gateway}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""

# Run in a second pod: resolve the Service's DNS name, then read the gateway through the
# Service by name and by ClusterIP; the answers printed as one JSON line.
CLIENT = """
import json, socket, sys, time, urllib.request
name, cluster_ip = sys.argv[1], sys.argv[2]
# The Service's DNS record and its iptables rules appear within seconds of its creation, not at
# once: the first minute's failures to resolve or connect are tried again.
deadline = time.monotonic() + 60
while True:
    try:
        resolved = socket.gethostbyname(name)
        urllib.request.urlopen(f'http://{cluster_ip}/livez', timeout=10).close()
        break
    except OSError as e:
        if time.monotonic() > deadline:
            raise
        print('not yet:', e, flush=True)
        time.sleep(2)
spec = json.load(urllib.request.urlopen(f'http://{name}/openapi.json', timeout=10))
live = urllib.request.urlopen(f'http://{cluster_ip}/livez', timeout=10)
docs = urllib.request.urlopen(f'http://{name}/docs', timeout=10)
print(json.dumps({'resolved': resolved, 'submit': '/v1/dossiers:submit' in spec['paths'],
                  'livez': live.status, 'docs': docs.headers.get_content_type()}))
"""


def test_the_cluster_runs_the_project_s_image_behind_a_cluster_ip_service_and_a_dns_name(cluster: str) -> None:
    # make k8s-up reports how long the start took.
    assert re.search(r"k8s-up: cluster ready in \d+\.\d{3}s", cluster), cluster
    node = json.loads(kubectl("get", "node", "motcua-node", "-o", "json"))
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.34.3"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://1.6")

    kubectl("apply", "--server-side", "-f", "-", stdin=GATEWAY)
    kubectl("-n", NAMESPACE, "rollout", "status", "deployment/gateway", "--timeout=300s", timeout=320)
    cluster_ip = kubectl("-n", NAMESPACE, "get", "service", "gateway", "-o", "jsonpath={.spec.clusterIP}")
    assert cluster_ip.startswith("10.96."), cluster_ip

    name = f"gateway.{NAMESPACE}.svc.cluster.local"
    log = run_pod(NAMESPACE, IMAGE, CLIENT, name, cluster_ip, timeout=240)
    answer = json.loads(log.strip().splitlines()[-1])
    assert answer == {"resolved": cluster_ip, "submit": True, "livez": 200, "docs": "text/html"}

    # The gateway's pod runs the image containerd imported (nothing was pulled).
    pod = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l", "app=gateway", "-o", "json"))["items"][0]
    assert pod["status"]["containerStatuses"][0]["image"] == IMAGE


def test_make_k8s_up_again_leaves_the_running_cluster_as_it_is(cluster: str) -> None:
    before = kubectl("get", "node", "motcua-node", "-o", "jsonpath={.metadata.uid}")
    again = subprocess.run(["bash", "infra/k8s/up.sh"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert kubectl("get", "node", "motcua-node", "-o", "jsonpath={.metadata.uid}") == before


DEPS_CLIENT = """
import psycopg
from kafka import KafkaConsumer, KafkaProducer
with psycopg.connect('host=postgresql-0.postgresql.motcua-deps.svc.cluster.local user=postgres '
                     'password=motcua-dev dbname=postgres connect_timeout=10') as connection:
    print('postgresql:', connection.execute('SELECT %s::text', ('Hồ sơ đã tiếp nhận',)).fetchone()[0])
bootstrap = 'kafka-0.kafka.motcua-deps.svc.cluster.local:9092'
producer = KafkaProducer(bootstrap_servers=bootstrap, max_block_ms=120000, request_timeout_ms=120000)
producer.send('k8s-check', 'Thông báo cho công dân'.encode()).get(timeout=120)
producer.close()
consumer = KafkaConsumer('k8s-check', bootstrap_servers=bootstrap, auto_offset_reset='earliest',
                         consumer_timeout_ms=120000)
print('kafka:', next(consumer).value.decode())
"""


def test_postgresql_and_kafka_run_as_stateful_sets_from_the_local_images_and_serve_a_pod(cluster: str) -> None:
    kubectl("apply", "--server-side", "-f", str(ROOT / "infra" / "k8s" / "manifests" / "dev-deps.yaml"))
    for workload in ("statefulset/postgresql", "statefulset/kafka"):
        kubectl("-n", "motcua-deps", "rollout", "status", workload, "--timeout=300s", timeout=320)
    lines = run_pod("motcua-deps", IMAGE, DEPS_CLIENT, timeout=300).splitlines()
    answers = [line for line in lines if line.startswith(("postgresql: ", "kafka: "))]
    assert answers == ["postgresql: Hồ sơ đã tiếp nhận", "kafka: Thông báo cho công dân"], lines


def test_make_k8s_down_stops_everything_and_removes_what_it_left_outside_its_folder(cluster: str) -> None:
    pids = {p.stem: int(p.read_text()) for p in (ROOT / ".local" / "k8s" / "run").glob("*.pid")}
    assert {"etcd", "kube-apiserver", "kubelet", "kube-proxy", "containerd"} <= set(pids), pids

    down = subprocess.run(["bash", "infra/k8s/down.sh"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr

    alive = [name for name, pid in pids.items() if _alive(pid)]
    assert alive == []
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert "motcua-k8s" not in namespaces
    for fixed in ("/run/containerd", "/var/lib/cni", "/var/lib/kubelet", "/var/log/pods"):
        assert not Path(fixed).exists(), fixed
    mounts = Path("/proc/mounts").read_text()
    assert str(ROOT / ".local" / "k8s") not in mounts
    assert glob.glob("/sys/fs/cgroup/*/kubepods") == []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status
