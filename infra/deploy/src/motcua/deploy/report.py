"""What motcua-deploy judges, on plain data: the release's workloads and pods as read from the
API server (cli.py reads them), turned into findings and a report a person can act on. No
Kubernetes client here, so the judgement is tested on data alone."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Container:
    name: str
    image: str  # as the pod spec asks for it
    image_id: str = ""  # what the runtime runs: <repo>@sha256:... or sha256:...
    ready: bool = False
    restarts: int = 0
    waiting_reason: str = ""  # e.g. CrashLoopBackOff, ErrImageNeverPull
    last_termination: str = ""  # e.g. "Error (exit 1)", "OOMKilled (exit 137)"


@dataclass(frozen=True)
class Pod:
    name: str
    workload: str  # "<kind>/<name>" of the workload that owns it
    phase: str
    ready: bool
    containers: tuple[Container, ...] = ()
    events: tuple[str, ...] = ()  # "<reason>: <message>" of the pod's warning events, oldest first
    log_tail: str = ""  # the last lines of a failing container's log (filled in for failing pods only)


@dataclass(frozen=True)
class Workload:
    kind: str  # Deployment, StatefulSet
    name: str
    desired: int
    ready: int
    updated: int
    available: int
    generation: int = 0
    observed_generation: int = 0
    # Pods of the workload, old and new (status.replicas): a new pod that never starts counts as
    # updated while the old one stays ready, so only this shows the rollout is stuck.
    current: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"

    @property
    def old_pods(self) -> int:
        return max(0, (self.current if self.current is not None else self.desired) - self.updated)

    @property
    def rolled_out(self) -> bool:
        return (self.observed_generation >= self.generation and self.updated == self.desired
                and self.ready == self.desired and self.available == self.desired and not self.old_pods)


@dataclass(frozen=True)
class Finding:
    subject: str  # "deployment/x" or "pod/x"
    problem: str


@dataclass
class Report:
    workloads: list[Workload]
    pods: list[Pod]
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.findings

    def failing_pods(self) -> list[Pod]:
        named = {f.subject for f in self.findings}
        return [p for p in self.pods if f"pod/{p.name}" in named]

    def render(self) -> str:
        lines = [f"{'WORKLOAD':<44} {'READY':>7} {'UPDATED':>7}  STATE"]
        for w in sorted(self.workloads, key=lambda w: w.ref):
            state = "rolled out" if w.rolled_out else "NOT ROLLED OUT"
            lines.append(f"{w.ref:<44} {f'{w.ready}/{w.desired}':>7} {w.updated:>7}  {state}")
        lines.append("")
        lines.append(f"{'POD':<52} {'READY':<6} {'RESTARTS':>8}  IMAGE")
        for p in sorted(self.pods, key=lambda p: p.name):
            restarts = sum(c.restarts for c in p.containers)
            image = ", ".join(sorted({c.image_id or c.image for c in p.containers}))
            lines.append(f"{p.name:<52} {'yes' if p.ready else 'NO':<6} {restarts:>8}  {image}")
        lines.append("")
        if self.healthy:
            lines.append(f"HEALTHY: {len(self.workloads)} workloads rolled out, {len(self.pods)} pods ready")
            return "\n".join(lines)
        lines.append(f"UNHEALTHY: {len(self.findings)} problem(s)")
        lines.extend(f"  {f.subject}: {f.problem}" for f in self.findings)
        for pod in self.failing_pods():
            if pod.events:
                lines.append(f"\nevents of pod/{pod.name}:")
                lines.extend(f"  {e}" for e in pod.events)
            if pod.log_tail:
                lines.append(f"\nlog tail of pod/{pod.name}:")
                lines.extend(f"  {line}" for line in pod.log_tail.rstrip("\n").splitlines())
        return "\n".join(lines)


def digest_of(image_ref: str) -> str:
    """The sha256:... digest an image reference or runtime image id names, or ""."""
    at = image_ref.rfind("sha256:")
    return image_ref[at:] if at >= 0 else ""


def judge(workloads: list[Workload], pods: list[Pod], *, expected_digests: frozenset[str] = frozenset(),
          max_restarts: int = 0) -> Report:
    """Every workload rolled out; every pod of theirs Ready, restarted at most max_restarts times,
    and (when expected_digests is given) running an image of one of those digests. A release
    without any workload is a finding too: it is not installed where we looked."""
    report = Report(workloads=workloads, pods=pods)
    add = report.findings.append
    if not workloads:
        add(Finding("release", "no workload found (wrong namespace or release name?)"))
    for w in workloads:
        if w.observed_generation < w.generation:
            add(Finding(w.ref, f"the controller has not seen generation {w.generation} yet"))
        elif not w.rolled_out:
            old = f", {w.old_pods} old pod(s) still running" if w.old_pods else ""
            add(Finding(w.ref, f"{w.ready}/{w.desired} ready, {w.updated}/{w.desired} updated, "
                               f"{w.available}/{w.desired} available{old}"))
    owned = {p.workload for p in pods}
    for w in workloads:
        if w.desired > 0 and w.ref not in owned:
            add(Finding(w.ref, "no pod"))
    for p in pods:
        subject = f"pod/{p.name}"
        if not p.ready:
            reasons = [c.waiting_reason for c in p.containers if c.waiting_reason]
            add(Finding(subject, f"not ready (phase {p.phase}{'; ' + ', '.join(reasons) if reasons else ''})"))
        for c in p.containers:
            if c.restarts > max_restarts:
                last = f"; last exit: {c.last_termination}" if c.last_termination else ""
                add(Finding(subject, f"container {c.name} restarted {c.restarts} time(s){last}"))
            if expected_digests:
                running = digest_of(c.image_id) or digest_of(c.image)
                if running not in expected_digests:
                    add(Finding(subject, f"container {c.name} runs {c.image_id or c.image}, "
                                         f"expected {' or '.join(sorted(expected_digests))}"))
    return report
