"""The signing service's own settings, read once from the environment at start.

Environment variables:

- `MOTCUA_SIGNING_DIR`: the service's files: dev PKI (`pki/`), signed documents (`documents/`).
  Default: `.local/run/signing` (relative to the working directory, as `make run` starts it).
- `MOTCUA_SIGNING_DEV_PKI`: create a development root CA and agency seal in `<dir>/pki` when
  missing. Default: `true`.
- `MOTCUA_SIGNING_KEYS_DIR`: signing keys: `<key id>.key.pem` + `<key id>.crt.pem` pairs. Default:
  `<dir>/pki/keys`.
- `MOTCUA_SIGNING_DEFAULT_KEY`: preferred among the caller's agency's keys when a request names
  none. Default: `agency-seal`.
- `MOTCUA_SIGNING_TRUST_ROOTS`: trust roots for verification: PEM files or directories, separated by
  `:`. Default: the dev root CA with the dev PKI, else none.
- `MOTCUA_SIGNING_DOCUMENTS_DIR`: where signed PDFs are stored. Default: `<dir>/documents`.
- `MOTCUA_SIGNING_TSA_URL`: RFC 3161 timestamp authority; when set, signatures are PAdES B-T.
  Default: unset: B-B.
- `MOTCUA_SIGNING_TSA_TIMEOUT`: seconds to wait for the timestamp authority. Default: `5`.
- `MOTCUA_SIGNING_AUDIT_KEY`: the audit key signing the chain checkpoints (`audit_key`): a PEM
  ECDSA P-256 key `<name>.key.pem`, its certificate chain beside it as `<name>.crt.pem`. Default:
  `<dir>/pki/audit/audit.key.pem`, issued by the dev root CA when missing with the dev PKI.
- `MOTCUA_SIGNING_DEV_AGENCIES`: with the dev PKI: a JSON list of agencies (`eid`, `name`, as
  identity's seed) whose names go on their development seals. Default: unset: seals named by the
  agency id.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from motcua.kernel.config import ConfigError, env_flag, env_number

from .pki import AGENCY_SEAL, KEY_ID

DEFAULT_DIR = Path(".local/run/signing")


@dataclass(frozen=True)
class SigningConfig:
    directory: Path
    dev_pki: bool
    keys_dir: Path
    default_key: str
    trust_roots: tuple[Path, ...]
    documents_dir: Path
    tsa_url: str | None
    tsa_timeout: float
    dev_agencies: Path | None = None
    audit_key: Path | None = None  # None: the default (audit_key.default_audit_key_path)

    @property
    def dev_pki_dir(self) -> Path:
        return self.directory / "pki"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SigningConfig:
        env = os.environ if environ is None else environ
        directory = Path(env.get("MOTCUA_SIGNING_DIR") or DEFAULT_DIR)
        dev_pki = env_flag(env, "MOTCUA_SIGNING_DEV_PKI", True)
        default_key = env.get("MOTCUA_SIGNING_DEFAULT_KEY") or AGENCY_SEAL
        if not KEY_ID.match(default_key):
            raise ConfigError(f"MOTCUA_SIGNING_DEFAULT_KEY must be a key id such as agency-seal, got {default_key!r}")
        roots_raw = env.get("MOTCUA_SIGNING_TRUST_ROOTS", "")
        if roots_raw:
            trust_roots = tuple(Path(p) for p in roots_raw.split(os.pathsep) if p)
        elif dev_pki:
            trust_roots = (directory / "pki" / "dev-root-ca.crt.pem",)
        else:
            trust_roots = ()
        tsa_url = env.get("MOTCUA_SIGNING_TSA_URL") or None
        if tsa_url and not tsa_url.startswith(("http://", "https://")):
            raise ConfigError(f"MOTCUA_SIGNING_TSA_URL must be an http(s) URL, got {tsa_url!r}")
        tsa_timeout = env_number(env, "MOTCUA_SIGNING_TSA_TIMEOUT", 5.0, float, minimum=0.0)
        return cls(
            directory=directory,
            dev_pki=dev_pki,
            keys_dir=Path(env.get("MOTCUA_SIGNING_KEYS_DIR") or directory / "pki" / "keys"),
            default_key=default_key,
            trust_roots=trust_roots,
            documents_dir=Path(env.get("MOTCUA_SIGNING_DOCUMENTS_DIR") or directory / "documents"),
            tsa_url=tsa_url,
            tsa_timeout=tsa_timeout,
            dev_agencies=Path(env["MOTCUA_SIGNING_DEV_AGENCIES"]) if env.get("MOTCUA_SIGNING_DEV_AGENCIES") else None,
            audit_key=Path(env["MOTCUA_SIGNING_AUDIT_KEY"]) if env.get("MOTCUA_SIGNING_AUDIT_KEY") else None,
        )
