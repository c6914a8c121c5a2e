"""The platform's OCI image (`make image`) runs the services as the chart starts them: the archive
is unpacked with umoci and its processes run with runc, from the image's own configuration (the
non-root user, the environment), on a read-only root filesystem with a scratch /tmp, as in the
chart. `make test` builds the image first when it runs as root (about 55 s), which the build and
runc need."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from motcua.devstack import free_port, service_env
from tests.charts.rendering import SERVICES, needs_helm, render

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".local" / "tools" / "image"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
ARCHIVE = REPO / ".local" / "image" / f"motcua-{VERSION}.oci.tar"
VENV = "/opt/motcua"
IMAGE_USER = 10001

pytestmark = [
    pytest.mark.skipif(not ARCHIVE.exists(), reason=f"no image at {ARCHIVE.relative_to(REPO)}: `make image` builds it"),
    pytest.mark.skipif(os.geteuid() != 0, reason="runc runs the image's bundle as root here"),
]


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{TOOLS}/usr/bin:{TOOLS}/usr/sbin:{env.get('PATH', '')}"
    env["LD_LIBRARY_PATH"] = f"{TOOLS}/usr/lib/x86_64-linux-gnu"
    return env


def tool(*args: str | Path) -> str:
    result = subprocess.run([str(a) for a in args], env=tool_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image unpacked as an OCI runtime bundle: rootfs/ and the config.json umoci derives from
    the image's configuration."""
    work = tmp_path_factory.mktemp("image")
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(work / "layout", filter="tar")
    tool("umoci", "unpack", "--image", f"{work / 'layout'}:{VERSION}", work / "bundle")
    return work / "bundle"


def configure(bundle: Path, base: dict, args: tuple[str, ...], env: dict[str, str] | None,
              host_network: bool = False) -> None:
    """The bundle's config.json for one process: as the image's configuration says (user,
    environment, then the variables given, as a chart's would come after), the root filesystem
    read-only and /tmp a tmpfs, like the chart's containers."""
    config = json.loads(json.dumps(base))
    config["process"]["args"] = list(args)
    config["process"]["terminal"] = False
    config["process"]["env"] += [f"{k}={v}" for k, v in (env or {}).items()]
    config["root"]["readonly"] = True
    config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                             "options": ["nosuid", "nodev", "mode=1777"]})
    if host_network:  # to reach the test session's PostgreSQL and Kafka on loopback
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"] if n["type"] != "network"]
    (bundle / "config.json").write_text(json.dumps(config))


@pytest.fixture
def run(bundle: Path, tmp_path: Path) -> Iterator:
    """Runs a command to its end in the image (see configure)."""
    base = json.loads((bundle / "config.json").read_text())

    def run_in_image(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        configure(bundle, base, args, env)
        try:
            container = f"motcua-{uuid.uuid4().hex[:12]}"
            return subprocess.run(
                ["runc", "--root", str(tmp_path / "runc"), "run", "--bundle", str(bundle), container],
                env=tool_env(), capture_output=True, text=True, timeout=120)
        finally:
            (bundle / "config.json").write_text(json.dumps(base))

    yield run_in_image


def test_skopeo_reads_the_archive_and_copies_it_unchanged(tmp_path: Path) -> None:
    inspected = json.loads(tool("skopeo", "inspect", f"oci-archive:{ARCHIVE}:{VERSION}"))
    # As into a registry: the copy's manifest is byte for byte the archive's.
    tool("skopeo", "copy", "--quiet", "--insecure-policy", f"oci-archive:{ARCHIVE}:{VERSION}",
         f"oci:{tmp_path / 'copy'}:{VERSION}")
    (copied,) = json.loads((tmp_path / "copy" / "index.json").read_text())["manifests"]
    assert copied["digest"] == inspected["Digest"]
    assert inspected["Digest"].startswith("sha256:")
    assert inspected["Labels"]["org.opencontainers.image.version"] == VERSION
    config = json.loads(tool("skopeo", "inspect", "--config", f"oci-archive:{ARCHIVE}:{VERSION}"))
    assert config["config"]["User"] == f"{IMAGE_USER}:{IMAGE_USER}"
    assert config["os"] == "linux" and config["architecture"] == "amd64"


def test_runs_as_the_non_root_user_with_debian_python_311_and_the_locked_environment(run) -> None:
    result = run("python", "-c", "import os, sys; print(os.getuid(), os.getgid(), sys.prefix, sys.version_info[:2])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(maxsplit=3) == [str(IMAGE_USER), str(IMAGE_USER), VENV, "(3, 11)"]


def test_no_package_manager_or_compiler_is_left(bundle: Path) -> None:
    rootfs = bundle / "rootfs"
    left = [p for p in ("usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg", "usr/bin/gcc", "usr/bin/cc",
                        "usr/bin/pip", "usr/bin/pip3", f"{VENV[1:]}/bin/pip", "usr/bin/python3.11-config")
            if (rootfs / p).exists() or (rootfs / p).is_symlink()]
    assert left == []
    # Debian's package list is kept for image scanners.
    assert "Package: python3.11\n" in (rootfs / "var/lib/dpkg/status").read_text()


@needs_helm
def test_every_deployment_s_command_of_the_chart_starts_its_service_module(run) -> None:
    """The chart's containers run `python -m motcua.<service>`: each module resolves in the image
    and its wiring (bootstrap, or the gateway's app) imports with every dependency it needs."""
    rendered = render()
    modules = []
    for service in SERVICES:
        command = rendered.container(service)["command"]
        assert command[:2] == ["python", "-m"], command
        modules.append(command[2])
    probe = (
        "import importlib, importlib.util, sys\n"
        "for name in sys.argv[1:]:\n"
        "    assert importlib.util.find_spec(name + '.__main__') is not None, name\n"
        "    wiring = name + ('.app' if name == 'motcua.gateway' else '.bootstrap')\n"
        "    importlib.import_module(wiring)\n"
        "    print(name, 'ok')\n"
    )
    result = run("python", "-c", probe, *modules)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{m} ok" for m in modules]


def test_the_gateway_finds_the_descriptor_set_and_the_docs_page_assets(run) -> None:
    probe = (
        "import os\n"
        "from pathlib import Path\n"
        "from motcua.gateway.descriptors import load_api\n"
        "from motcua.gateway.docs import usable_ui_dir\n"
        "api = load_api(Path(os.environ['MOTCUA_DESCRIPTOR_SET']), required=True)\n"
        "print(api.comments_source)\n"
        "print(usable_ui_dir(Path(os.environ['MOTCUA_DOCS_DIR'])))\n"
    )
    result = run("python", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{VENV}/share/motcua/descriptor_set.binpb", f"{VENV}/share/swagger-ui-dist"]


def test_a_form_renders_vietnamese_text_with_its_embedded_font(run) -> None:
    """The forms' font comes with the locked environment (no Debian fonts in the image)."""
    probe = (
        "from motcua.dossiers.forms.layout import FormPage\n"
        "page = FormPage('Giấy tiếp nhận hồ sơ và hẹn trả kết quả')\n"
        "page.add_page()\n"
        "page.text_font()\n"
        "page.cell(text='Nguyễn Thị Hằng, Thanh Hóa')\n"
        "pdf = bytes(page.output())\n"
        "print(pdf[:5].decode(), b'CrimsonText' in pdf)\n"
    )
    result = run("python", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["%PDF-", "True"]


# Run in the container: the gateway as the chart starts it, in the background; then, once it
# answers, what a client of the pod reads (the probe, the docs page, the OpenAPI document).
GATEWAY_CLIENT = """
import json, sys, time, urllib.request
base = 'http://127.0.0.1:8080'
for _ in range(600):
    try:
        urllib.request.urlopen(base + '/livez', timeout=1).read()
        break
    except OSError:
        time.sleep(0.1)
docs = urllib.request.urlopen(base + '/docs', timeout=5)
spec = json.load(urllib.request.urlopen(base + '/openapi.json', timeout=5))
print('client:', docs.status, docs.headers.get_content_type())
print('client:', '/v1/dossiers:submit' in spec['paths'])
"""


@needs_helm
def test_the_gateway_serves_its_probe_docs_and_openapi_from_the_image_with_the_chart_s_environment(run) -> None:
    rendered = render()
    command = rendered.container("gateway")["command"]
    environment = rendered.environment("gateway")
    script = f"{' '.join(command)} & python -c \"$CLIENT\"; status=$?; kill %1; exit $status"
    result = run("bash", "-c", script, env={**environment, "CLIENT": GATEWAY_CLIENT})
    assert result.returncode == 0, result.stderr
    # The gateway's JSON log lines go to stdout too.
    answers = [line for line in result.stdout.splitlines() if line.startswith("client: ")]
    assert answers == ["client: 200 text/html", "client: True"], result.stdout + result.stderr
    assert '"comments_from": "/opt/motcua/share/motcua/descriptor_set.binpb"' in result.stdout


@needs_helm
def test_a_grpc_service_started_from_the_image_serves_with_the_test_session_s_postgresql_and_kafka(
        bundle: Path, tmp_path: Path, stack) -> None:
    """The procedures service, started with the chart's command inside the image (the host's
    network, to reach the session's stack), connects to PostgreSQL and Kafka, reports SERVING on
    grpc.health.v1, and stops cleanly on SIGTERM as a pod would be stopped."""
    command = tuple(render().container("procedures")["command"])
    port = free_port()
    env = service_env(stack.profile, "procedures", port, {**stack.auth_env, "MOTCUA_LOG_LEVEL": "INFO"})
    base = json.loads((bundle / "config.json").read_text())
    configure(bundle, base, command, env, host_network=True)
    container = f"motcua-{uuid.uuid4().hex[:12]}"
    runc = ["runc", "--root", str(tmp_path / "runc")]
    log = tmp_path / "procedures.log"
    with log.open("w") as out:
        process = subprocess.Popen([*runc, "run", "--bundle", str(bundle), container],
                                   env=tool_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=120, wait_for_ready=True)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, log.read_text()
        subprocess.run([*runc, "kill", container, "TERM"], env=tool_env(), check=True, timeout=30)
        assert process.wait(timeout=60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            subprocess.run([*runc, "kill", container, "KILL"], env=tool_env(), timeout=30)
            process.wait(timeout=30)
        (bundle / "config.json").write_text(json.dumps(base))
