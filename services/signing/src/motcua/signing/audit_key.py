"""The audit key: signs the checkpoints of every service's hash chain (``checkpoint_signer``).

It is the signing service's own key, separate from the seals: ECDSA P-256, a PEM private key
file (``MOTCUA_SIGNING_AUDIT_KEY``) with its certificate chain beside it (``<name>.crt.pem``
for ``<name>.key.pem``: the key's certificate first). With the development PKI, a missing
audit key is issued by the development root CA, in ``<dir>/pki/audit/``.

Rotation: point ``MOTCUA_SIGNING_AUDIT_KEY`` at a new key and restart. Every checkpoint
carries its key id and its certificate chain, so checkpoints signed by an older key stay
verifiable without it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .pki import (
    DEV_ORGANIZATION,
    ROOT_CA_CERT,
    ROOT_CA_KEY,
    KeyMaterialError,
    _locked,
    _write,
    issue_signing_certificate,
)

DEV_AUDIT_KEY_NAME = "Khóa kiểm toán phát triển motcua"  # the audit key's certificate, in development
AUDIT_DIR = "audit"
KEY_SUFFIX = ".key.pem"
CERT_SUFFIX = ".crt.pem"


@dataclass(frozen=True)
class AuditKey:
    key: ec.EllipticCurvePrivateKey
    certificates: tuple[x509.Certificate, ...]  # the key's first, then its chain

    @property
    def key_id(self) -> str:
        """Lowercase hex SHA-256 of the key's certificate (DER)."""
        return hashlib.sha256(self.certificates[0].public_bytes(serialization.Encoding.DER)).hexdigest()

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))

    def certificates_der(self) -> list[bytes]:
        return [c.public_bytes(serialization.Encoding.DER) for c in self.certificates]


def certificate_path(key_path: Path) -> Path:
    name = key_path.name
    base = name[: -len(KEY_SUFFIX)] if name.endswith(KEY_SUFFIX) else key_path.stem
    return key_path.with_name(base + CERT_SUFFIX)


def default_audit_key_path(pki_dir: Path) -> Path:
    return pki_dir / AUDIT_DIR / f"audit{KEY_SUFFIX}"


def ensure_dev_audit_key(pki_dir: Path, key_path: Path) -> None:
    """Issues an audit key at ``key_path`` from the development root CA when there is none."""
    with _locked(pki_dir):
        if key_path.exists():
            return
        try:
            ca_key = serialization.load_pem_private_key((pki_dir / ROOT_CA_KEY).read_bytes(), password=None)
            ca_cert = x509.load_pem_x509_certificate((pki_dir / ROOT_CA_CERT).read_bytes())
        except (OSError, ValueError) as e:
            raise KeyMaterialError(f"cannot issue a development audit key: no development CA in {pki_dir}: {e}") from e
        key = ec.generate_private_key(ec.SECP256R1())
        _, cert = issue_signing_certificate(ca_key, ca_cert, DEV_AUDIT_KEY_NAME, DEV_ORGANIZATION,  # type: ignore[arg-type]
                                            key=key)
        key_path.parent.mkdir(parents=True, exist_ok=True)
        _write(certificate_path(key_path), b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in (cert, ca_cert)))
        _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()), private=True)


def load_audit_key(key_path: Path) -> AuditKey:
    cert_path = certificate_path(key_path)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        certificates = x509.load_pem_x509_certificates(cert_path.read_bytes())
    except (OSError, ValueError, TypeError) as e:
        raise KeyMaterialError(f"cannot load the audit key {key_path} with {cert_path.name}: {e}") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyMaterialError(f"{key_path}: an audit key is ECDSA P-256")
    if certificates[0].public_key() != key.public_key():
        raise KeyMaterialError(f"{cert_path}: the first certificate is not the one of {key_path.name}")
    return AuditKey(key, tuple(certificates))
