"""Generate motcua's Python stubs and descriptor set from protos/ (stubs are never committed).

Run from anywhere inside the repo:  uv run python infra/codegen/gen.py [--force]

1. Collects third-party protos into build/third_party/proto/ (git-ignored):
   - google/api, google/rpc, google/type from the installed `googleapis-common-protos`;
   - buf/validate/validate.proto from the Maven Central jar build.buf:protovalidate
     (resolved with `mvn dependency:copy`, cached under build/third_party/jars/).
   The well-known types (google/protobuf/*.proto) come from grpcio-tools' bundled copy.
   protos/gen/third_party links to that folder so that buf sees it as a local module.
2. Runs grpc_tools.protoc over protos/motcua/**.proto (plus buf/validate/validate.proto)
   into protos/gen/python/: *_pb2.py, and *_pb2_grpc.py for files declaring services, each
   with its typed stub (.pyi) by mypy-protobuf's plugins, which type extensions and the grpc
   stubs for mypy (protoc's own --pyi_out does neither). google/api and google/rpc modules
   are not generated: they come from googleapis-common-protos. No __init__.py files are
   written (PEP 420 namespaces).
3. Writes protos/gen/descriptor_set.binpb: a FileDescriptorSet of every proto with its
   imports and source info (for the REST gateway and OpenAPI).

Nothing is regenerated when the inputs (protos, this script, tool versions, third-party
protos) hash to the same value as the last run (stamp: protos/gen/.stamp).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import google.api.annotations_pb2 as annotations_pb2  # from googleapis-common-protos
import grpc_tools
from google.protobuf import descriptor_pb2

REPO = Path(__file__).resolve().parents[2]
PROTOS = REPO / "protos"
GEN = PROTOS / "gen"
OUT_PY = GEN / "python"
DESCRIPTOR_SET = GEN / "descriptor_set.binpb"
STAMP = GEN / ".stamp"
THIRD_PARTY = REPO / "build" / "third_party"
THIRD_PARTY_PROTO = THIRD_PARTY / "proto"
THIRD_PARTY_JARS = THIRD_PARTY / "jars"
# Where buf finds the third-party protos (a module path must lie inside protos/).
BUF_THIRD_PARTY_LINK = GEN / "third_party"

# The Java library build.buf:protovalidate ships buf/validate/validate.proto; its 1.2.0 jar
# holds exactly the protos of protovalidate v1.2.0, which the Python validator
# (PyPI protovalidate==1.2.0) is built against. The 1.0.0 jar is too old for it: its
# FieldRules lacks `cel_expression`, and `import protovalidate` fails.
PROTOVALIDATE_ARTIFACT = ("build.buf", "protovalidate", "1.2.0")
# googleapis folders copied from googleapis-common-protos (protos only, for imports).
GOOGLEAPIS_DIRS = ("google/api", "google/rpc", "google/type")
# Third-party protos we compile to Python ourselves (not shipped by any PyPI package).
GENERATED_THIRD_PARTY = ("buf/validate/validate.proto",)


def log(msg: str) -> None:
    print(f"[gen] {msg}", flush=True)


# --------------------------------------------------------------------------- third party


def _googleapis_root() -> Path:
    return Path(annotations_pb2.__file__).resolve().parents[2]


def _grpc_tools_proto_root() -> Path:
    return Path(grpc_tools.__file__).resolve().parent / "_proto"


def _protovalidate_jar() -> Path:
    group, artifact, version = PROTOVALIDATE_ARTIFACT
    jar = THIRD_PARTY_JARS / f"{artifact}-{version}.jar"
    if jar.is_file():
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        sys.exit("[gen] error: `mvn` not found; it is needed once to fetch "
                 f"{group}:{artifact}:{version} (apt-get install maven)")
    THIRD_PARTY_JARS.mkdir(parents=True, exist_ok=True)
    log(f"resolving {group}:{artifact}:{version} with maven")
    cmd = [mvn, "-q", "-B", "-Dstyle.color=never", "dependency:copy",
           f"-Dartifact={group}:{artifact}:{version}:jar",
           f"-DoutputDirectory={THIRD_PARTY_JARS}"]
    # Run outside the repo so that no pom.xml of ours is picked up.
    result = subprocess.run(cmd, cwd=tempfile.gettempdir(), capture_output=True, text=True)
    if result.returncode != 0 or not jar.is_file():
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"[gen] error: could not resolve {group}:{artifact}:{version}")
    return jar


def collect_third_party() -> str:
    """Fill build/third_party/proto; return a fingerprint of its content."""
    googleapis = _googleapis_root()
    jar = _protovalidate_jar()
    wanted: dict[str, bytes] = {}
    for sub in GOOGLEAPIS_DIRS:
        for path in sorted((googleapis / sub).rglob("*.proto")):
            wanted[path.relative_to(googleapis).as_posix()] = path.read_bytes()
    with zipfile.ZipFile(jar) as zf:
        for name in zf.namelist():
            if name.startswith("buf/validate/") and name.endswith(".proto"):
                wanted[name] = zf.read(name)
    missing = [p for p in ("google/api/annotations.proto", *GENERATED_THIRD_PARTY) if p not in wanted]
    if missing:
        sys.exit(f"[gen] error: third-party protos not found: {missing}")

    # Write only what changed (keeps mtimes stable), drop what is no longer wanted.
    for rel, data in wanted.items():
        dest = THIRD_PARTY_PROTO / rel
        if not dest.is_file() or dest.read_bytes() != data:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
    for path in THIRD_PARTY_PROTO.rglob("*.proto"):
        if path.relative_to(THIRD_PARTY_PROTO).as_posix() not in wanted:
            path.unlink()

    _link_for_buf()
    digest = hashlib.sha256()
    for rel in sorted(wanted):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(wanted[rel]).digest())
    return digest.hexdigest()


def _link_for_buf() -> None:
    GEN.mkdir(parents=True, exist_ok=True)
    target = Path(os.path.relpath(THIRD_PARTY_PROTO, GEN))
    link = BUF_THIRD_PARTY_LINK
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(target, target_is_directory=True)


# --------------------------------------------------------------------------- generation


def our_protos() -> list[str]:
    return sorted(p.relative_to(PROTOS).as_posix() for p in (PROTOS / "motcua").rglob("*.proto"))


def fingerprint(protos: list[str], third_party: str) -> str:
    digest = hashlib.sha256()
    for name in ("grpcio-tools", "protobuf", "googleapis-common-protos", "mypy-protobuf"):
        digest.update(f"{name}=={importlib.metadata.version(name)}\n".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(third_party.encode())
    for rel in protos:
        digest.update(rel.encode() + b"\0" + hashlib.sha256((PROTOS / rel).read_bytes()).digest())
    return digest.hexdigest()


def up_to_date(stamp: str) -> bool:
    return (STAMP.is_file() and STAMP.read_text().strip() == stamp
            and OUT_PY.is_dir() and DESCRIPTOR_SET.is_file())


def _plugins() -> list[str]:
    """mypy-protobuf's protoc plugins, installed beside this interpreter."""
    bin_dir = Path(sys.executable).parent
    return [f"--plugin=protoc-gen-{name}={bin_dir / f'protoc-gen-{name}'}" for name in ("mypy", "mypy_grpc")]


def run_protoc(args: list[str]) -> None:
    # Here, not at the top: loading protoc takes a while, and a run whose inputs are unchanged
    # (the stamp) never needs it.
    from grpc_tools import protoc

    code = protoc.main(["grpc_tools.protoc", *args])
    if code != 0:
        sys.exit(f"[gen] error: protoc failed (exit {code})")


def generate(protos: list[str]) -> None:
    GEN.mkdir(parents=True, exist_ok=True)
    includes = [f"-I{PROTOS}", f"-I{THIRD_PARTY_PROTO}", f"-I{_grpc_tools_proto_root()}"]
    inputs = [*protos, *GENERATED_THIRD_PARTY]
    tmp = Path(tempfile.mkdtemp(prefix=".python-", dir=GEN))
    try:
        desc_tmp = tmp / "descriptor_set.binpb"
        run_protoc([*includes, *_plugins(),
                    f"--python_out={tmp}", f"--mypy_out=quiet:{tmp}", f"--grpc_python_out={tmp}",
                    f"--mypy_grpc_out=quiet:{tmp}",
                    f"--descriptor_set_out={desc_tmp}", "--include_imports",
                    "--include_source_info", *inputs])
        fds = descriptor_pb2.FileDescriptorSet.FromString(desc_tmp.read_bytes())
        # The grpc plugins write a *_pb2_grpc module for every input; keep those with services.
        with_services = {f.name for f in fds.file if f.service}
        for rel in inputs:
            if rel not in with_services:
                for suffix in ("_pb2_grpc.py", "_pb2_grpc.pyi"):
                    (tmp / rel.replace(".proto", suffix)).unlink(missing_ok=True)
        os.replace(desc_tmp, DESCRIPTOR_SET)
        # Swap the new tree in whole, so that stubs of deleted protos disappear.
        old = GEN / ".python-old"
        shutil.rmtree(old, ignore_errors=True)
        if OUT_PY.exists():
            os.replace(OUT_PY, old)
        os.replace(tmp, OUT_PY)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = parser.parse_args()

    started = time.monotonic()
    third_party = collect_third_party()
    protos = our_protos()
    stamp = fingerprint(protos, third_party)
    if not args.force and up_to_date(stamp):
        log(f"up to date ({len(protos)} protos)")
        return
    generate(protos)
    STAMP.write_text(stamp + "\n")
    modules = sorted(p.relative_to(OUT_PY).as_posix() for p in OUT_PY.rglob("*.py"))
    log(f"generated {len(modules)} modules from {len(protos)} protos "
        f"in {time.monotonic() - started:.1f}s -> {OUT_PY.relative_to(REPO)}")


if __name__ == "__main__":
    main()
