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
- `MOTCUA_SIGNING_PKCS11_MODULE`: the HSM vendor's PKCS#11 library (SoftHSM2's in development).
  When set, every key of `MOTCUA_SIGNING_KEYS_DIR` (`<key id>.crt.pem` + `<key id>.owner.json`,
  no key files) signs with the token's private key labelled `<key id>`. Default: unset: keys in
  PEM files (the development PKI's).
- `MOTCUA_SIGNING_PKCS11_TOKEN_LABEL`: the token's label. Required with the module unless a slot
  is given.
- `MOTCUA_SIGNING_PKCS11_SLOT`: the token's slot id (checked against the label when both are set).
- `MOTCUA_SIGNING_PKCS11_PIN`, or `MOTCUA_SIGNING_PKCS11_PIN_FILE` (a mounted Secret): the token's
  user PIN. One of them is required with the module.
- `MOTCUA_SIGNING_PADES_LEVEL`: `B-B`, `B-T`, `B-LT` (validation data embedded) or `B-LTA` (and a
  document timestamp); B-T and above need the timestamp authority. Default: B-T with one, else B-B.
- `MOTCUA_SIGNING_VERIFY_ONLINE`: VerifyDocument fetches the revocation status of a certificate the
  document holds none for (OCSP, CRL). Default: `false`.
- `MOTCUA_SIGNING_DEV_PKI_REVOCATION_URL`: with the dev PKI, the base URL its certificates name for
  their status (`<url>/ocsp`, `<url>/crl`). Default: unset: none named.
- `MOTCUA_SIGNING_ARCHIVE_MARGIN_DAYS`: archived B-LTA documents get a new document timestamp when
  the last one's certificate expires within this many days. Default: `30`.
- `MOTCUA_SIGNING_ARCHIVE_INTERVAL`: seconds between two looks at the archive. Default: `86400`.
- `MOTCUA_SIGNING_REMOTE_SIGNERS_DIR`: officers enrolled for remote signing (`<account id>.crt.pem`,
  `<account id>.device.json`; see remote.py). Default: `<dir>/remote-signers`.
- `MOTCUA_SIGNING_REQUEST_TTL`: seconds a remote signature request waits for the officer before it
  expires. Default: `900`.
- `MOTCUA_SIGNING_EXPIRY_INTERVAL`: seconds between two looks for pending requests past their
  expiry (recorded as expired, and published). Default: `30`.
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

from .domain import PADES_B_B, PADES_LEVELS
from .hsm import Pkcs11Settings
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
    pkcs11: Pkcs11Settings | None = None
    remote_signers_dir: Path | None = None
    request_ttl: float = 900.0
    expiry_interval: float = 30.0
    pades_level: str = ""
    verify_online: bool = False
    dev_pki_revocation_url: str = ""
    archive_margin_days: float = 30.0
    archive_interval: float = 86400.0

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
            pkcs11=_pkcs11_settings(env),
            remote_signers_dir=Path(env.get("MOTCUA_SIGNING_REMOTE_SIGNERS_DIR") or directory / "remote-signers"),
            request_ttl=env_number(env, "MOTCUA_SIGNING_REQUEST_TTL", 900.0, float, minimum=1.0),
            expiry_interval=env_number(env, "MOTCUA_SIGNING_EXPIRY_INTERVAL", 30.0, float, minimum=0.05),
            pades_level=_pades_level(env, tsa_url),
            verify_online=env_flag(env, "MOTCUA_SIGNING_VERIFY_ONLINE", False),
            dev_pki_revocation_url=env.get("MOTCUA_SIGNING_DEV_PKI_REVOCATION_URL", ""),
            archive_margin_days=env_number(env, "MOTCUA_SIGNING_ARCHIVE_MARGIN_DAYS", 30.0, float, minimum=0.0),
            archive_interval=env_number(env, "MOTCUA_SIGNING_ARCHIVE_INTERVAL", 86400.0, float, minimum=1.0),
        )


def _pades_level(env: Mapping[str, str], tsa_url: str | None) -> str:
    level = env.get("MOTCUA_SIGNING_PADES_LEVEL", "")
    if level and level not in PADES_LEVELS:
        raise ConfigError(f"MOTCUA_SIGNING_PADES_LEVEL must be one of {', '.join(PADES_LEVELS)}, got {level!r}")
    if level and level != PADES_B_B and not tsa_url:
        raise ConfigError(f"MOTCUA_SIGNING_PADES_LEVEL={level} needs a timestamp authority (MOTCUA_SIGNING_TSA_URL)")
    return level


def _pkcs11_settings(env: Mapping[str, str]) -> Pkcs11Settings | None:
    module = env.get("MOTCUA_SIGNING_PKCS11_MODULE")
    if not module:
        return None
    label = env.get("MOTCUA_SIGNING_PKCS11_TOKEN_LABEL", "")
    slot_raw = env.get("MOTCUA_SIGNING_PKCS11_SLOT", "")
    if slot_raw and not slot_raw.isdigit():
        raise ConfigError(f"MOTCUA_SIGNING_PKCS11_SLOT must be a slot number, got {slot_raw!r}")
    if not label and not slot_raw:
        raise ConfigError("MOTCUA_SIGNING_PKCS11_MODULE needs MOTCUA_SIGNING_PKCS11_TOKEN_LABEL or "
                          "MOTCUA_SIGNING_PKCS11_SLOT: which token holds the keys")
    pin = env.get("MOTCUA_SIGNING_PKCS11_PIN", "")
    pin_file = env.get("MOTCUA_SIGNING_PKCS11_PIN_FILE", "")
    if pin_file:
        try:
            pin = Path(pin_file).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"cannot read MOTCUA_SIGNING_PKCS11_PIN_FILE {pin_file}: {e.strerror}") from None
    if not pin:
        raise ConfigError("MOTCUA_SIGNING_PKCS11_MODULE needs the token's user PIN: MOTCUA_SIGNING_PKCS11_PIN or "
                          "MOTCUA_SIGNING_PKCS11_PIN_FILE")
    return Pkcs11Settings(module=Path(module), token_label=label, pin=pin, slot=int(slot_raw) if slot_raw else None)
