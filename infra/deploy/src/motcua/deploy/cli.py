"""motcua-deploy: is a motcua release on Kubernetes healthy, and does it run what we shipped?

  motcua-deploy status [--namespace motcua] [--release motcua]
      the release's workloads and pods as they are now; exit 1 when something is wrong
  motcua-deploy verify [--timeout 300] [--expect-digest sha256:...] [--max-restarts 0]
      waits (up to --timeout) for every Deployment and StatefulSet of the release to roll
      out, then checks every pod is Ready, restarted at most --max-restarts times and runs the
      expected image digest; on failure shows the failing pods' warning events and log tails

The release's objects are found by the chart's labels (app.kubernetes.io/instance=<release>).
The kubeconfig is --kubeconfig, else $KUBECONFIG or ~/.kube/config, else the in-cluster
service account. Exit codes: 0 healthy, 1 unhealthy, 2 usage or API errors.

Of the flags the motcua tools share (motcua.kernel.cli_flags) it takes --version: it talks to
the Kubernetes API, whose address, credentials and TLS the kubeconfig carries, not to motcua's
services, so --addr, --api, --token and --tls-ca have nothing to name here.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from motcua.kernel.cli_flags import add_version

from .report import Container, Pod, Report, Workload, judge

LOG_TAIL_LINES = 20


class Cluster:
    """Reads a release's workloads, pods, events and logs through the Kubernetes API."""

    def __init__(self, namespace: str, release: str, kubeconfig: str | None = None):
        if kubeconfig:
            config.load_kube_config(config_file=kubeconfig)
        else:
            try:
                config.load_kube_config()
            except config.ConfigException:
                config.load_incluster_config()
        self.namespace = namespace
        self.selector = f"app.kubernetes.io/instance={release}"
        self.apps = client.AppsV1Api()
        self.core = client.CoreV1Api()

    def workloads(self) -> tuple[list[Workload], dict[str, str]]:
        """The release's Deployments and StatefulSets, and which workload owns which ReplicaSet."""
        found: list[Workload] = []
        for d in _items(self.apps.list_namespaced_deployment(self.namespace, label_selector=self.selector)):
            s = d.status
            found.append(Workload("Deployment", d.metadata.name, d.spec.replicas or 0, s.ready_replicas or 0,
                                  s.updated_replicas or 0, s.available_replicas or 0,
                                  d.metadata.generation or 0, s.observed_generation or 0, s.replicas or 0))
        for st in _items(self.apps.list_namespaced_stateful_set(self.namespace, label_selector=self.selector)):
            s = st.status
            found.append(Workload("StatefulSet", st.metadata.name, st.spec.replicas or 0, s.ready_replicas or 0,
                                  s.updated_replicas or 0, s.available_replicas or 0,
                                  st.metadata.generation or 0, s.observed_generation or 0, s.replicas or 0))
        owners: dict[str, str] = {}
        for rs in _items(self.apps.list_namespaced_replica_set(self.namespace, label_selector=self.selector)):
            for ref in rs.metadata.owner_references or []:
                owners[f"replicaset/{rs.metadata.name}"] = f"{ref.kind.lower()}/{ref.name}"
        return found, owners

    def pods(self, owners: dict[str, str]) -> list[Pod]:
        pods = []
        for p in _items(self.core.list_namespaced_pod(self.namespace, label_selector=self.selector)):
            refs = [f"{r.kind.lower()}/{r.name}" for r in p.metadata.owner_references or []]
            if not refs:
                continue  # a bare pod (e.g. a `helm test` pod) belongs to no workload
            workload = owners.get(refs[0], refs[0])
            if workload.startswith(("job/", "replicaset/")):
                continue  # hook Jobs, and ReplicaSets of no Deployment of the release
            conditions = {c.type: c.status for c in p.status.conditions or []}
            pods.append(Pod(p.metadata.name, workload, p.status.phase or "", conditions.get("Ready") == "True",
                            tuple(_container(c) for c in p.status.container_statuses or [])))
        return pods

    def with_diagnostics(self, pod: Pod) -> Pod:
        events = _items(self.core.list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.kind=Pod,involvedObject.name={pod.name}"))
        warnings = tuple(f"{e.reason}: {e.message}" for e in
                         sorted(events, key=lambda e: _event_time(e)) if e.type == "Warning")
        failing = next((c for c in pod.containers if not c.ready or c.restarts), None)
        tail = ""
        if failing is not None:
            tail = self._log(pod.name, failing.name, previous=failing.restarts > 0) or self._log(pod.name, failing.name)
        return Pod(pod.name, pod.workload, pod.phase, pod.ready, pod.containers, warnings, tail)

    def _log(self, pod: str, container: str, previous: bool = False) -> str:
        try:
            return str(self.core.read_namespaced_pod_log(pod, self.namespace, container=container,
                                                         tail_lines=LOG_TAIL_LINES, previous=previous))
        except ApiException:
            return ""  # not started yet, or no previous instance


def _items(listing: Any) -> list[Any]:
    # The client's models type every field optional; what the API server always fills in is
    # read as such here.
    return list(listing.items or [])


def _container(status: Any) -> Container:
    waiting = status.state.waiting.reason if status.state and status.state.waiting else ""
    last = status.last_state.terminated if status.last_state else None
    return Container(status.name, status.image or "", status.image_id or "", bool(status.ready),
                     status.restart_count or 0, waiting or "",
                     f"{last.reason} (exit {last.exit_code})" if last else "")


def _event_time(event: Any) -> float:
    stamp = event.last_timestamp or event.event_time or event.metadata.creation_timestamp
    return stamp.timestamp() if stamp else 0.0


def read(cluster: Cluster, expected_digests: frozenset[str], max_restarts: int) -> Report:
    workloads, owners = cluster.workloads()
    return judge(workloads, cluster.pods(owners), expected_digests=expected_digests, max_restarts=max_restarts)


def verify(cluster: Cluster, timeout: float, expected_digests: frozenset[str], max_restarts: int,
           poll: float = 2.0) -> Report:
    """Reads until every workload has rolled out and its pods are ready, or the timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        report = read(cluster, expected_digests, max_restarts)
        rolled_out = report.workloads and all(w.rolled_out for w in report.workloads)
        if (rolled_out and all(p.ready for p in report.pods)) or time.monotonic() >= deadline:
            return report
        time.sleep(poll)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motcua-deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("status", "verify"))
    parser.add_argument("--namespace", "-n", default="motcua", help="the release's namespace (default: motcua)")
    parser.add_argument("--release", default="motcua", help="the Helm release name (default: motcua)")
    parser.add_argument("--kubeconfig", default=None,
                        help="the kubeconfig (default: $KUBECONFIG, ~/.kube/config, else the in-cluster account)")
    parser.add_argument("--timeout", type=float, default=300.0, help="verify: seconds to wait for the rollouts")
    parser.add_argument("--expect-digest", action="append", default=[], metavar="sha256:...",
                        help="verify: the image digest every container must run (repeat to accept several)")
    parser.add_argument("--max-restarts", type=int, default=0, help="container restarts tolerated")
    add_version(parser, "motcua-deploy")
    args = parser.parse_args(argv)
    for digest in args.expect_digest:
        if not digest.startswith("sha256:") or len(digest) != len("sha256:") + 64:
            parser.error(f"--expect-digest {digest!r} is not sha256:<64 hex digits>")
    expected = frozenset(args.expect_digest)
    try:
        cluster = Cluster(args.namespace, args.release, args.kubeconfig)
        if args.command == "status":
            report = read(cluster, expected, args.max_restarts)
        else:
            report = verify(cluster, args.timeout, expected, args.max_restarts)
        if not report.healthy:
            report.pods = [cluster.with_diagnostics(p) if p in report.failing_pods() else p for p in report.pods]
    except (ApiException, HTTPError, config.ConfigException, OSError) as e:
        print(f"motcua-deploy: cannot read the release {args.release!r} in namespace {args.namespace!r}: {e}",
              file=sys.stderr)
        return 2
    print(f"release {args.release} in namespace {args.namespace}")
    print(report.render())
    return 0 if report.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
