"""SoftHSM2 tokens for tests, made by the project's own files (mk/hsm.mk unpacks SoftHSM2 from
Debian's packages; motcua.signing.devtoken initialises a token and generates keys in it)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from pkcs11 import KeyType

from motcua.devstack import repo_root
from motcua.signing.devtoken import DevToken, make_dev_token
from motcua.signing.domain import KeyOwnership

SOFTHSM_TOOLS = Path(".local/tools/softhsm")


def softhsm_tools() -> Path:
    """SoftHSM2 unpacked under .local/tools (fetched from Debian's archive the first time)."""
    root = repo_root()
    subprocess.run(["make", "-s", "softhsm-tools"], cwd=root, check=True, capture_output=True)
    return root / SOFTHSM_TOOLS


def dev_token(directory: Path, keys: Mapping[str, tuple[KeyType, str, KeyOwnership]] | None = None,
              label: str = "motcua-test", pin: str = "2468") -> DevToken:
    """A fresh token in ``directory`` holding ``keys`` (by default the province's RSA-2048 and
    P-256 seals), certified by the development PKI of ``directory/pki``."""
    return make_dev_token(softhsm_tools(), directory, keys, label=label, pin=pin)
