"""motcua-deploy's judgement of a release, on plain data (the cluster tests run it for real)."""

from __future__ import annotations

from motcua.deploy.report import Container, Pod, Workload, digest_of, judge

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def deployment(name: str, desired: int = 1, ready: int = 1, updated: int = 1, generation: int = 2,
               observed: int = 2) -> Workload:
    return Workload("Deployment", name, desired, ready, updated, ready, generation, observed)


def pod(name: str, workload: str, *, ready: bool = True, restarts: int = 0, image_id: str = f"x@{DIGEST}",
        waiting: str = "", last: str = "") -> Pod:
    container = Container("main", "ghcr.io/motcua/motcua:0.1.0", image_id, ready, restarts, waiting, last)
    return Pod(name, workload, "Running", ready, (container,))


def test_a_rolled_out_release_of_ready_pods_on_the_expected_digest_is_healthy():
    report = judge([deployment("motcua-gateway")], [pod("motcua-gateway-1", "deployment/motcua-gateway")],
                   expected_digests=frozenset({DIGEST}))
    assert report.healthy, report.findings
    assert "HEALTHY: 1 workloads rolled out, 1 pods ready" in report.render()


def test_each_way_of_being_unhealthy_is_named_with_its_subject():
    workloads = [deployment("motcua-dossiers", ready=0), deployment("motcua-signing", generation=3, observed=2),
                 deployment("motcua-notifications")]
    pods = [pod("motcua-dossiers-1", "deployment/motcua-dossiers", ready=False, restarts=4,
                waiting="CrashLoopBackOff", last="Error (exit 1)"),
            pod("motcua-signing-1", "deployment/motcua-signing", image_id=f"x@{OTHER}")]
    report = judge(workloads, pods, expected_digests=frozenset({DIGEST}))
    found = {(f.subject, f.problem) for f in report.findings}
    assert found == {
        ("deployment/motcua-dossiers", "0/1 ready, 1/1 updated, 0/1 available"),
        ("deployment/motcua-signing", "the controller has not seen generation 3 yet"),
        ("deployment/motcua-notifications", "no pod"),
        ("pod/motcua-dossiers-1", "not ready (phase Running; CrashLoopBackOff)"),
        ("pod/motcua-dossiers-1", "container main restarted 4 time(s); last exit: Error (exit 1)"),
        ("pod/motcua-signing-1", f"container main runs x@{OTHER}, expected {DIGEST}"),
    }
    assert not report.healthy
    assert [p.name for p in report.failing_pods()] == ["motcua-dossiers-1", "motcua-signing-1"]


def test_a_rollout_stuck_behind_a_ready_old_pod_is_not_rolled_out():
    # What the API server says while the new pod cannot start: the new pod is "updated", the
    # old one still ready, two pods for one replica.
    stuck = Workload("Deployment", "motcua-gateway", 1, 1, 1, 1, 3, 3, current=2)
    (finding,) = judge([stuck], [pod("motcua-gateway-old", "deployment/motcua-gateway")]).findings
    assert (finding.subject, finding.problem) == (
        "deployment/motcua-gateway", "1/1 ready, 1/1 updated, 1/1 available, 1 old pod(s) still running")


def test_the_report_shows_the_failing_pods_events_and_log_tail():
    failing = Pod("motcua-identity-1", "deployment/motcua-identity", "Running", False,
                  (Container("identity", "img", "", False, 2, "CrashLoopBackOff", "Error (exit 1)"),),
                  events=("BackOff: Back-off restarting failed container",),
                  log_tail="Traceback (most recent call last):\nConfigError: POSTGRES_HOST is not set\n")
    text = judge([deployment("motcua-identity", ready=0)], [failing], max_restarts=0).render()
    assert "UNHEALTHY: 3 problem(s)" in text
    assert "events of pod/motcua-identity-1:\n  BackOff: Back-off restarting failed container" in text
    assert "log tail of pod/motcua-identity-1:\n  Traceback (most recent call last):\n" \
           "  ConfigError: POSTGRES_HOST is not set" in text


def test_restarts_up_to_the_allowance_pass_and_no_workload_at_all_fails():
    assert judge([deployment("d")], [pod("d-1", "deployment/d", restarts=1)], max_restarts=1).healthy
    assert not judge([deployment("d")], [pod("d-1", "deployment/d", restarts=2)], max_restarts=1).healthy
    (finding,) = judge([], []).findings
    assert finding.subject == "release" and "no workload" in finding.problem


def test_digests_are_read_from_references_and_runtime_ids():
    assert digest_of(f"ghcr.io/motcua/motcua:0.1.0@{DIGEST}") == DIGEST
    assert digest_of(DIGEST) == DIGEST
    assert digest_of("ghcr.io/motcua/motcua:0.1.0") == ""
