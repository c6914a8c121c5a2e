"""Audit bundles, verified offline: a real procedures service's sealed log is exported with
`motcua-audit export`, then the bundle file itself is tampered with (a state edited, a line
dropped, the end cut off) and `motcua-audit verify BUNDLE`, run with no database and an empty
environment, names the first broken position. Ranges verify from the digest sealed before them."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from tests.audit.conftest import SEALED_DB
from tests.audit.test_audit_cli import audit, audit_env, failed, ok


def export(stack, bundle: Path, *args: str) -> str:
    return ok(audit(stack, "export", "--service", "procedures", *args, "-o", str(bundle),
                    env=audit_env(stack, POSTGRES_DBNAME=SEALED_DB)))


def verify_offline(stack, bundle: Path):
    return audit(stack, "verify", str(bundle), env={})


def read_lines(bundle: Path) -> tuple[dict, list[dict]]:
    with tarfile.open(bundle) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        lines = [json.loads(line) for line in tar.extractfile("procedures/events.ndjson")]  # type: ignore[union-attr]
    return manifest, lines


def rewrite(bundle: Path, lines: list[dict], manifest: dict | None = None) -> None:
    """The bundle written again with these lines (and manifest), as someone editing it would."""
    old_manifest, _ = read_lines(bundle)
    bundle.unlink()
    scratch = bundle.with_suffix(".d")
    scratch.mkdir()
    (scratch / "manifest.json").write_text(json.dumps(manifest or old_manifest), encoding="utf-8")
    (scratch / "events.ndjson").write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    with tarfile.open(bundle, "w") as tar:
        tar.add(scratch / "manifest.json", arcname="manifest.json")
        tar.add(scratch / "events.ndjson", arcname="procedures/events.ndjson")


@pytest.fixture
def bundle(stack, sealed, tmp_path) -> Path:
    path = tmp_path / "procedures.tar"
    export(stack, path)
    return path


def test_an_exported_log_verifies_offline_and_reads_as_it_was_stored(stack, sealed, bundle):
    out = ok(verify_offline(stack, bundle))

    ids = sealed["ids"]
    assert out.strip() == (f"OK procedures: {len(ids)} records verified, sealed up to position {ids[-1]} "
                           f"(bundle: positions {ids[0]}-{ids[-1]})")
    manifest, lines = read_lines(bundle)
    assert [line["position"] for line in lines] == ids
    assert manifest["logs"][0]["previous_digest"] == "00" * 32
    assert manifest["logs"][0]["head_digest"] == lines[-1]["digest"]
    # The states are the stored JSON, readable, Vietnamese intact.
    created = [json.loads(line["state"]) for line in lines if line["topic"].endswith("Procedure.Created")]
    assert len(created) == 6 and any("Đăng ký khai sinh 0" in json.dumps(state, ensure_ascii=False)
                                     for state in created)


def test_a_gzip_bundle_of_a_range_verifies_from_the_digest_sealed_before_it(stack, sealed, tmp_path):
    ids = sealed["ids"]
    path = tmp_path / "range.tar.gz"
    out = export(stack, path, "--after", str(ids[3]), "--until", str(ids[10]))

    assert f"exported procedures: 7 positions, positions {ids[4]}-{ids[10]}" in out
    assert ok(verify_offline(stack, path)).strip() == (
        f"OK procedures: 7 records verified, sealed up to position {ids[10]} (bundle: positions {ids[4]}-{ids[10]})")
    manifest, _ = read_lines(path)
    assert manifest["logs"][0]["previous_digest"] != "00" * 32


def test_a_state_edited_in_the_bundle_is_found_at_its_position(stack, bundle):
    manifest, lines = read_lines(bundle)
    line = next(line for line in lines if "Cấp đổi giấy phép lái xe" in line["state"])
    line["state"] = line["state"].replace("Cấp đổi", "Thu hồi")
    rewrite(bundle, lines)

    result = verify_offline(stack, bundle)
    failed(result, 1)
    assert result.stdout.startswith(f"BROKEN procedures at position {line['position']}: edited:"), result.stdout


def test_a_line_dropped_from_the_bundle_breaks_the_chain_at_the_next_position(stack, bundle):
    _, lines = read_lines(bundle)
    dropped = lines.pop(5)
    rewrite(bundle, lines)

    result = verify_offline(stack, bundle)
    failed(result, 1)
    assert result.stdout.startswith(f"BROKEN procedures at position {lines[5]['position']}: edited:"), result.stdout
    assert lines[5]["position"] > dropped["position"]


def test_a_bundle_cut_short_is_missing_its_end(stack, sealed, bundle):
    _, lines = read_lines(bundle)
    rewrite(bundle, lines[:-3])

    result = verify_offline(stack, bundle)
    failed(result, 1)
    assert result.stdout.startswith(f"BROKEN procedures at position {lines[-4]['position']}: missing: "
                                    f"the log ends at position {lines[-4]['position']}, but the manifest says it "
                                    f"runs to {sealed['ids'][-1]} (cut short)"), result.stdout


def test_a_file_that_is_no_bundle_is_exit_code_2(stack, tmp_path, bundle):
    not_tar = tmp_path / "notes.tar"
    not_tar.write_text("không phải tệp tar", encoding="utf-8")
    assert "cannot read" in failed(verify_offline(stack, not_tar), 2)

    _, lines = read_lines(bundle)
    rewrite(bundle, lines, manifest={"format": "something-else"})
    assert "does not describe a motcua-audit-bundle" in failed(verify_offline(stack, bundle), 2)

    assert "cannot read" in failed(verify_offline(stack, tmp_path / "absent.tar"), 2)


def test_verify_takes_a_bundle_or_live_and_export_needs_a_readable_database(stack, bundle, tmp_path):
    assert "either BUNDLE or --live" in failed(audit(stack, "verify", env={}), 2)
    assert "either BUNDLE or --live" in failed(audit(stack, "verify", str(bundle), "--live", env={}), 2)
    assert "needs --service" in failed(audit(stack, "verify", "--live", env={}), 2)
    assert "--service goes with --live" in failed(audit(stack, "verify", str(bundle), "--service", "dossiers",
                                                        env={}), 2)

    unreachable = audit(stack, "export", "--service", "procedures", "-o", str(tmp_path / "x.tar"),
                        env=audit_env(stack, POSTGRES_PORT="1", POSTGRES_DBNAME=SEALED_DB))
    assert "cannot read" in failed(unreachable, 2)
    assert not (tmp_path / "x.tar").exists() and not list(tmp_path.glob(".x.tar*"))
