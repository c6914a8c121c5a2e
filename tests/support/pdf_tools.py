"""poppler's and NSS's commands (pdfsig, pdftotext, certutil) as ``make dss`` unpacks them from
Debian's .debs into .local/tools/pdf: the tests never depend on what the machine has installed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PDF_TOOLS = REPO / ".local" / "tools" / "pdf"


def tool(name: str) -> tuple[str, dict[str, str]]:
    """The command's path and an environment that finds the libraries it came with."""
    path = PDF_TOOLS / "usr" / "bin" / name
    if not path.is_file():
        pytest.fail(f"{path.relative_to(REPO)} is missing: run `make dss` (make test does)")
    libs = PDF_TOOLS / "usr" / "lib" / "x86_64-linux-gnu"
    return str(path), {**os.environ, "LD_LIBRARY_PATH": f"{libs}:{os.environ.get('LD_LIBRARY_PATH', '')}"}


def run(name: str, *args: str | Path, stdin: bytes | None = None) -> str:
    """The command's standard output (UTF-8); a failure names the command and what it said."""
    command, env = tool(name)
    result = subprocess.run([command, *map(str, args)], input=stdin, capture_output=True, env=env, timeout=120)
    out, err = result.stdout.decode("utf-8"), result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0, f"{name} {args}: {out}{err}"
    return out


def pdf_text(content: bytes) -> str:
    """A PDF's text as pdftotext reads it, in UTF-8."""
    return run("pdftotext", "-enc", "UTF-8", "-", "-", stdin=content)
