"""The dossiers service's own settings (beside the kernel's), read once at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from motcua.kernel.config import ConfigError, env_flag, env_number

MAX_OPEN_DRAFTS_SETTING = "MOTCUA_DOSSIERS_MAX_OPEN_DRAFTS"
MAX_ATTACHMENT_BYTES_SETTING = "MOTCUA_DOSSIERS_MAX_ATTACHMENT_BYTES_PER_DOSSIER"
MAX_APPLICANT_BYTES_SETTING = "MOTCUA_DOSSIERS_MAX_ATTACHMENT_BYTES_PER_APPLICANT"


@dataclass(frozen=True)
class DossiersConfig:
    # gRPC address of the signing service, which signs results (empty: results cannot be marked
    # ready).
    signing_addr: str = ""
    # gRPC addresses of identity and notifications, asked for what they hold about a person
    # when the person's data is exported or erased (empty: not asked; an export then says so).
    identity_addr: str = ""
    notifications_addr: str = ""
    # Seconds between two passes of the deadline watch.
    watch_interval: float = 30.0
    # Where attachments' bytes are kept (a blob store directory, created at the first upload).
    documents_dir: Path = Path(".local/run/dossiers/documents")
    # The citizens' status lookup, per source address: a bucket of this many calls, refilled
    # at this many calls per minute.
    lookup_burst: int = 10
    lookup_per_minute: float = 10.0
    # The HMAC key of the lookup throttle's rows (base64), generated there when missing: losing
    # it only resets the buckets. Replicas share buckets only when they share the key (a Secret).
    lookup_key_file: Path = Path(".local/run/dossiers/secrets/lookup-throttle.key")
    # The same key given in the environment (from a Secret shared by the replicas); wins over the
    # file.
    lookup_key: str = ""
    # What one applicant may hold, so that one account cannot fill the attachments' volume or
    # the register: open drafts per applicant account, attachment bytes per dossier and per
    # applicant account (over all their dossiers).
    max_open_drafts: int = 20
    max_attachment_bytes_per_dossier: int = 100 * 1024 * 1024
    max_attachment_bytes_per_applicant: int = 1024 * 1024 * 1024
    # Personal data (application/personal_data.py). The key-encryption keys wrapping each data
    # subject's key: ``<id>.key`` files (base64, 32 bytes) in this directory, from a Secret; the
    # current one is ``subject_kek_id`` or the last by name. Losing them loses every applicant's
    # personal data in the log: back them up (README).
    subject_keks_dir: Path = Path(".local/run/dossiers/secrets/subject-keks")
    subject_kek_id: str = ""
    # The deployment's key for pseudonyms of applicants without an account and for the blind
    # indexes of the register (HMAC, base64): changing it splits a person's dossiers over two
    # subjects. From the environment (a Secret) or else this file.
    personal_key: str = ""
    personal_key_file: Path = Path(".local/run/dossiers/secrets/personal-data.key")
    # Generate the keys above when missing: development only (MOTCUA_DOSSIERS_DEV_KEYS).
    dev_keys: bool = True
    # Seal applicants' personal fields in the log (MOTCUA_DOSSIERS_SEAL_PERSONAL_DATA). Off only
    # for the benchmark measuring what sealing costs, and only with development keys: a
    # deployment never writes personal data in the clear.
    seal_personal_data: bool = True
    # How long a finished dossier's personal data is kept before its applicant may be erased,
    # in years from the day it was finished: a default, and per procedure code.
    retention_years: int = 10
    retention_years_by_procedure: tuple[tuple[str, int], ...] = ()
    # The procedures (by code; `*`: every one) whose results the competent officer signs on
    # their own device (a confirmed signature request of the signing service) before the
    # agency seal is added: MarkResultReady without one is refused.
    officer_signed_procedures: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.seal_personal_data and not self.dev_keys:
            raise ConfigError("MOTCUA_DOSSIERS_SEAL_PERSONAL_DATA=false is for benchmarks with development keys "
                              "(MOTCUA_DOSSIERS_DEV_KEYS=true) only: a deployment seals personal data")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DossiersConfig:
        env = os.environ if environ is None else environ
        documents_dir = Path(env.get("MOTCUA_DOSSIERS_DOCUMENTS_DIR") or ".local/run/dossiers/documents")
        return cls(
            signing_addr=env.get("MOTCUA_SIGNING_ADDR", ""),
            identity_addr=env.get("MOTCUA_IDENTITY_ADDR", ""),
            notifications_addr=env.get("MOTCUA_NOTIFICATIONS_ADDR", ""),
            watch_interval=env_number(env, "MOTCUA_DEADLINE_WATCH_INTERVAL", 30.0, float, minimum=0.1),
            documents_dir=documents_dir,
            lookup_burst=env_number(env, "MOTCUA_DOSSIERS_LOOKUP_BURST", 10, int, minimum=1),
            lookup_per_minute=env_number(env, "MOTCUA_DOSSIERS_LOOKUP_PER_MINUTE", 10.0, float, minimum=0.01),
            lookup_key=env.get("MOTCUA_DOSSIERS_LOOKUP_KEY", "").strip(),
            lookup_key_file=Path(
                env.get("MOTCUA_DOSSIERS_LOOKUP_KEY_FILE") or documents_dir.parent / "secrets" / "lookup-throttle.key"
            ),
            # Not beside the documents: every replica (and process) of a deployment, whatever its
            # documents directory, must open the keys the others wrapped.
            subject_keks_dir=Path(env.get("MOTCUA_DOSSIERS_SUBJECT_KEKS_DIR") or cls.subject_keks_dir),
            subject_kek_id=env.get("MOTCUA_DOSSIERS_SUBJECT_KEK_ID", "").strip(),
            personal_key=env.get("MOTCUA_DOSSIERS_PERSONAL_KEY", "").strip(),
            personal_key_file=Path(env.get("MOTCUA_DOSSIERS_PERSONAL_KEY_FILE") or cls.personal_key_file),
            dev_keys=env_flag(env, "MOTCUA_DOSSIERS_DEV_KEYS", True),
            seal_personal_data=env_flag(env, "MOTCUA_DOSSIERS_SEAL_PERSONAL_DATA", True),
            retention_years=env_number(env, "MOTCUA_DOSSIERS_RETENTION_YEARS", 10, int, minimum=0),
            retention_years_by_procedure=retention_by_procedure(env.get("MOTCUA_DOSSIERS_RETENTION_BY_PROCEDURE", "")),
            officer_signed_procedures=frozenset(filter(None, (
                code.strip() for code in env.get("MOTCUA_DOSSIERS_OFFICER_SIGNED_PROCEDURES", "").split(",")))),
            max_open_drafts=env_number(env, MAX_OPEN_DRAFTS_SETTING, 20, int, minimum=1),
            max_attachment_bytes_per_dossier=env_number(
                env, MAX_ATTACHMENT_BYTES_SETTING, 100 * 1024 * 1024, int, minimum=1
            ),
            max_attachment_bytes_per_applicant=env_number(
                env, MAX_APPLICANT_BYTES_SETTING, 1024 * 1024 * 1024, int, minimum=1
            ),
        )


def retention_by_procedure(text: str) -> tuple[tuple[str, int], ...]:
    """``CODE=years,CODE=years`` (MOTCUA_DOSSIERS_RETENTION_BY_PROCEDURE) as pairs."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        code, _, years = item.rpartition("=")
        if not code.strip() or not years.strip().isdigit():
            raise ConfigError(f"MOTCUA_DOSSIERS_RETENTION_BY_PROCEDURE: {item!r} is not CODE=years")
        pairs.append((code.strip(), int(years)))
    return tuple(pairs)
