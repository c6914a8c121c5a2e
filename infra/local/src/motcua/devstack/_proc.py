"""Small process helpers shared by PostgreSQL, Kafka and the services."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

# Children spawned by this process, so they get reaped (a zombie still "exists" for kill(0)).
_children: dict[int, subprocess.Popen] = {}
# Data dirs this process already started once: the test profile wipes only on the first start,
# so stop() + start() inside one test run keeps the data (a test restarts Kafka and expects it).
_claimed: set[Path] = set()


def spawn(cmd: list[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
          new_session: bool = True) -> subprocess.Popen:
    """Start a child logging to log_path.

    In its own session (the default) it outlives the caller; otherwise it dies with the caller.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if not new_session and (setpriv := shutil.which("setpriv")):
        # SIGKILL the child when its parent dies, however it dies, so an aborted test run
        # leaves no service behind holding locks or consuming topics. (Not preexec_fn: forking
        # a process that runs gRPC threads can abort the child.)
        cmd = [setpriv, "--pdeathsig", "KILL", "--", *cmd]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, cwd=cwd, start_new_session=new_session,
        )
    _children[proc.pid] = proc
    return proc


def pid_alive(pid: int) -> bool:
    if (proc := _children.get(pid)) is not None:
        if proc.poll() is None:
            return True
        del _children[pid]  # reaped: from now on the pid may belong to someone else
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_pid(pid_file: Path, must_contain: str) -> int | None:
    """The pid in pid_file if that process is alive and its command line contains must_contain."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if not pid_alive(pid):
        return None
    try:  # guard against pid reuse after a reboot or a crash
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return pid if must_contain in cmdline else None


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def stop_pid(pid: int, timeout: float, sig: int = signal.SIGTERM) -> None:
    """Send sig, wait up to timeout for the exit, then SIGKILL."""
    for s, wait in ((sig, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, s)
        except ProcessLookupError:
            break
        if wait_gone(pid, wait):
            break


def claim_first_start(data_dir: Path) -> bool:
    """True the first time this process starts something in data_dir."""
    first = data_dir not in _claimed
    _claimed.add(data_dir)
    return first


@contextlib.contextmanager
def locked(lock_path: Path):
    """Serialize start/stop across processes (e.g. pytest-xdist workers all starting the test
    stack)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def wipe(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(log is empty)"
    except OSError:
        return f"(no log at {path})"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1 (for services started by tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unprivileged() -> list[str] | None:
    """When root: a command prefix under which PostgreSQL (which refuses root) runs.

    A user namespace of its own without a mapping: inside it the process is the overflow user
    (`nobody`), so PostgreSQL starts, while the kernel still checks its file access as root's,
    the owner of the project's folders. Unlike switching to the real `nobody`, this needs no
    chown and works in a private folder (e.g. under a 0700 `mktemp -d`)."""
    if os.geteuid() != 0:
        return None
    return ["unshare", "--user"]
