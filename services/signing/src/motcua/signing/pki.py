"""Key material: the development PKI, and the signing keys a service loads at start.

Development PKI (``ensure_dev_pki``): a root CA and an agency seal certificate issued
by it, both named in Vietnamese, made with ``cryptography`` the first time a
directory is used and reused after that. Layout of that directory::

    dev-root-ca.crt.pem        the development root CA: the trust root in development
    dev-root-ca.key.pem        its private key (0600), to issue more development certificates
    keys/agency-seal.key.pem   the agency seal's private key (0600)
    keys/agency-seal.crt.pem   its certificate, then the certificates of its chain

A keys directory holds one pair per signing key: ``<key id>.key.pem`` (PKCS#8 or
traditional PEM, unencrypted) and ``<key id>.crt.pem`` (the signer's certificate
first, then its chain), and beside them ``<key id>.owner.json``, whose key it is and
what it may sign::

    {"agency_id": "000.00.00.H56", "purposes": ["dossier_result", "certified_copy"]}
    {"holder_account_id": "<the person's account id>", "purposes": ["personal_approval"]}

Every pair is loaded once, when the service starts; a key without its declaration fails
the start (nobody could be allowed to use it).

The development PKI's ``agency-seal`` is the province's seal (``000.00.00.H56``); the
seal of any other agency is issued by the development CA the first time an officer of
that agency asks for it (``ensure_dev_agency_seal``, key id ``seal-<agency id>``).

Nothing here is for production: a real agency seal lives in an HSM.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .domain import AGENCY_SEAL_PURPOSES, KeyOwnership

AGENCY_SEAL = "agency-seal"
KEY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

ROOT_CA_CERT = "dev-root-ca.crt.pem"
ROOT_CA_KEY = "dev-root-ca.key.pem"
KEYS_DIR = "keys"

# Names of the development PKI (the province of the examples in the domain notes).
DEV_ORGANIZATION = "Ủy ban nhân dân tỉnh Thanh Hóa"
DEV_ROOT_CA_NAME = "CA gốc phát triển motcua – tỉnh Thanh Hóa"  # at most 64 bytes
DEV_SEAL_NAME = "Ủy ban nhân dân tỉnh Thanh Hóa"
DEV_PROVINCE = "Thanh Hóa"
DEV_PROVINCE_AGENCY = "000.00.00.H56"  # whose seal ``agency-seal`` is
DEV_AGENCY_SEAL_NAME = "Con dấu phát triển – cơ quan {agency_id}"  # an agency the PKI has no name for
OWNER_SUFFIX = ".owner.json"

RSA_BITS = 3072
ROOT_VALIDITY = dt.timedelta(days=3650)
SEAL_VALIDITY = dt.timedelta(days=3 * 365)
CLOCK_SKEW = dt.timedelta(hours=1)  # certificates start slightly in the past

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class KeyMaterialError(RuntimeError):
    """Key material is missing, unreadable or inconsistent; the message says which file."""


def name(common_name: str, organization: str, province: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if province:
        attributes.append(x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, province))
    attributes += [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    return x509.Name(attributes)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def create_root_ca(common_name: str, organization: str, validity: dt.timedelta = ROOT_VALIDITY,
                   ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed root CA that may issue end-entity certificates only."""
    key = new_key()
    subject = name(common_name, organization)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_signing_certificate(ca_key: PrivateKey, ca_cert: x509.Certificate, common_name: str,
                              organization: str, province: str | None = None,
                              validity: dt.timedelta = SEAL_VALIDITY, key: PrivateKey | None = None,
                              revocation_url: str = "") -> tuple[PrivateKey, x509.Certificate]:
    """An end-entity certificate for document signatures (digital signature, non-repudiation),
    for ``key`` (by default a new RSA key)."""
    key = key or new_key()
    return key, certify_public_key(ca_key, ca_cert, key.public_key(), common_name, organization, province, validity,
                                   revocation_url=revocation_url)


def certify_public_key(ca_key: PrivateKey, ca_cert: x509.Certificate, public_key: PublicKey, common_name: str,
                       organization: str, province: str | None = None, validity: dt.timedelta = SEAL_VALIDITY,
                       revocation_url: str = "", not_before: dt.datetime | None = None) -> x509.Certificate:
    """The certificate of ``issue_signing_certificate`` for a key the caller holds elsewhere (in a
    PKCS#11 token, say): only its public half is needed. With ``revocation_url``, the
    certificate says where its status is: an OCSP responder at ``<url>/ocsp`` (authority
    information access) and the CA's CRL at ``<url>/crl`` (CRL distribution point)."""
    now = not_before + CLOCK_SKEW if not_before else dt.datetime.now(dt.UTC)
    return (
        with_revocation_pointers(x509.CertificateBuilder(), revocation_url)
        .subject_name(name(common_name, organization, province))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + validity, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signature=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def with_revocation_pointers(builder: x509.CertificateBuilder, revocation_url: str) -> x509.CertificateBuilder:
    """``builder`` with, given a ``revocation_url``, where the certificate's status is published:
    an OCSP responder at ``<url>/ocsp`` (authority information access) and the CA's CRL at
    ``<url>/crl`` (CRL distribution point)."""
    if not revocation_url:
        return builder
    base = revocation_url.rstrip("/")
    return builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
        x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{base}/ocsp"))]),
        critical=False).add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(f"{base}/crl")], relative_name=None, reasons=None,
            crl_issuer=None)]), critical=False)


def _key_usage(cert_sign: bool = False, signature: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature, content_commitment=signature, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
        encipher_only=False, decipher_only=False,
    )


def write_key_pair(keys_dir: Path, key_id: str, key: PrivateKey, chain: list[x509.Certificate]) -> None:
    """Writes ``<key_id>.key.pem`` (0600) and ``<key_id>.crt.pem`` (chain, signer first)."""
    if not KEY_ID.match(key_id):
        raise ValueError(f"bad key id {key_id!r}")
    keys_dir.mkdir(parents=True, exist_ok=True)
    _write(keys_dir / f"{key_id}.key.pem", _key_pem(key), private=True)
    _write(keys_dir / f"{key_id}.crt.pem", b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Atomically: a reader sees the whole file or none."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass(frozen=True)
class DevPki:
    directory: Path
    created: bool

    @property
    def root_certificate(self) -> Path:
        return self.directory / ROOT_CA_CERT

    @property
    def keys_dir(self) -> Path:
        return self.directory / KEYS_DIR


def ensure_dev_pki(directory: Path, revocation_url: str = "") -> DevPki:
    """The development PKI in ``directory``: created on first use, reused after.

    Safe when several processes start at once (a lock), and after a crash half-way
    (the root certificate, written last, marks a complete PKI).
    """
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    with _locked(directory):
        if (directory / ROOT_CA_CERT).is_file():
            _declare_dev_province_seal(directory)
            return DevPki(directory, created=False)
        seal_key_file = directory / KEYS_DIR / f"{AGENCY_SEAL}.key.pem"
        if seal_key_file.exists() and not (directory / ROOT_CA_KEY).exists():
            # Not a half-made development PKI (that one starts with the CA key): someone's own key.
            raise KeyMaterialError(f"{seal_key_file} exists without a development CA beside it; to use your own "
                                   "keys, set MOTCUA_SIGNING_DEV_PKI=false")
        ca_key, ca_cert = create_root_ca(DEV_ROOT_CA_NAME, DEV_ORGANIZATION)
        seal_key, seal_cert = issue_signing_certificate(ca_key, ca_cert, DEV_SEAL_NAME, DEV_ORGANIZATION,
                                                        province=DEV_PROVINCE, revocation_url=revocation_url)
        # In this order: the CA key marks a development PKI being made, the CA certificate a
        # finished one.
        _write(directory / ROOT_CA_KEY, _key_pem(ca_key), private=True)
        write_key_pair(directory / KEYS_DIR, AGENCY_SEAL, seal_key, [seal_cert, ca_cert])
        write_ownership(directory / KEYS_DIR, AGENCY_SEAL, PROVINCE_SEAL)
        _write(directory / ROOT_CA_CERT, ca_cert.public_bytes(serialization.Encoding.PEM))
        return DevPki(directory, created=True)


PROVINCE_SEAL = KeyOwnership(agency_id=DEV_PROVINCE_AGENCY, purposes=AGENCY_SEAL_PURPOSES)


def _declare_dev_province_seal(directory: Path) -> None:
    """A development PKI made before keys had owners: its seal is the province's."""
    keys = directory / KEYS_DIR
    if (keys / f"{AGENCY_SEAL}.key.pem").is_file() and not (keys / f"{AGENCY_SEAL}{OWNER_SUFFIX}").exists():
        write_ownership(keys, AGENCY_SEAL, PROVINCE_SEAL)


def dev_seal_key_id(agency_id: str) -> str:
    """``seal-000-00-10-h56`` for agency 000.00.10.H56: a key id (lowercase, digits, '-')."""
    return "seal-" + agency_id.lower().replace(".", "-")


def ensure_dev_agency_seal(directory: Path, agency_id: str, agency_name: str = "", revocation_url: str = "",
                           ) -> tuple[KeyPair, KeyOwnership]:
    """The development seal of ``agency_id``, issued by the development CA the first time
    (an EC P-256 key: quick to make while a request waits). Several processes asking at
    once make one (the PKI's lock)."""
    ownership = KeyOwnership(agency_id=agency_id, purposes=AGENCY_SEAL_PURPOSES)
    key_id = dev_seal_key_id(agency_id)
    keys = directory / KEYS_DIR
    with _locked(directory):
        if not (keys / f"{key_id}.crt.pem").is_file():  # written last
            ca_key = serialization.load_pem_private_key((directory / ROOT_CA_KEY).read_bytes(), password=None)
            ca_cert = x509.load_pem_x509_certificate((directory / ROOT_CA_CERT).read_bytes())
            seal_name = agency_name or DEV_AGENCY_SEAL_NAME.format(agency_id=agency_id)
            key, cert = issue_signing_certificate(ca_key, ca_cert, seal_name[:64], seal_name[:64],  # type: ignore[arg-type]
                                                  province=DEV_PROVINCE, key=ec.generate_private_key(ec.SECP256R1()),
                                                  revocation_url=revocation_url)
            write_ownership(keys, key_id, ownership)  # before the key: a loaded key always has its owner
            write_key_pair(keys, key_id, key, [cert, ca_cert])
        pair = _load_pair(keys, key_id)
    return pair, read_ownership(keys, key_id)


def agency_names(file: Path | None) -> dict[str, str]:
    """{agency id: name} from a JSON list of agencies (``eid``, ``name``: identity's seed
    format)."""
    if file is None:
        return {}
    try:
        agencies = json.loads(file.read_text(encoding="utf-8"))
        return {str(a["eid"]): str(a["name"]) for a in agencies}
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise KeyMaterialError(f"cannot read the agencies of the development seals from {file}: {e}") from e


def write_ownership(keys_dir: Path, key_id: str, ownership: KeyOwnership) -> None:
    """Writes ``<key_id>.owner.json``: whose the key is and its purposes."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    declared: dict[str, object] = ({"agency_id": ownership.agency_id} if ownership.agency_id
                                   else {"holder_account_id": ownership.holder_account_id})
    declared["purposes"] = list(ownership.purposes)
    _write(keys_dir / f"{key_id}{OWNER_SUFFIX}", json.dumps(declared, indent=2).encode() + b"\n")


def read_ownership(keys_dir: Path, key_id: str) -> KeyOwnership:
    file = keys_dir / f"{key_id}{OWNER_SUFFIX}"
    try:
        declared = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyMaterialError(
            f"signing key {key_id!r} has no {file.name} beside it in {keys_dir}: declare whose key it "
            'is and what it may sign, e.g. {"agency_id": "000.00.00.H56", "purposes": '
            '["dossier_result", "certified_copy"]}'
        ) from None
    except (OSError, ValueError) as e:
        raise KeyMaterialError(f"cannot read {file}: {e}") from e
    if not isinstance(declared, dict) or set(declared) - {"agency_id", "holder_account_id", "purposes"}:
        raise KeyMaterialError(f"{file}: an object with agency_id or holder_account_id, and purposes")
    purposes = declared.get("purposes")
    if not isinstance(purposes, list) or not all(isinstance(p, str) for p in purposes):
        raise KeyMaterialError(f"{file}: purposes must be a list of names")
    try:
        return KeyOwnership(agency_id=str(declared.get("agency_id") or ""),
                            holder_account_id=str(declared.get("holder_account_id") or ""), purposes=tuple(purposes))
    except ValueError as e:
        raise KeyMaterialError(f"{file}: {e}") from e


def load_ownerships(keys_dir: Path, key_ids: Iterable[str]) -> dict[str, KeyOwnership]:
    """The declaration of every key; a key without one fails (KeyMaterialError naming it)."""
    return {key_id: read_ownership(keys_dir, key_id) for key_id in key_ids}


@dataclass(frozen=True)
class KeyPair:
    """One signing key: the private key (None when it stays in a PKCS#11 token and is only used
    through it), the signer's certificate and its chain."""

    key_id: str
    private_key: PrivateKey | None
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # issuers of ``certificate``, nearest first

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER encoding, lowercase hex."""
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_key_pairs(keys_dir: Path) -> dict[str, KeyPair]:
    """Every ``<key id>.key.pem`` / ``<key id>.crt.pem`` pair in ``keys_dir``."""
    if not keys_dir.is_dir():
        raise KeyMaterialError(f"no keys directory {keys_dir}")
    pairs: dict[str, KeyPair] = {}
    for key_file in sorted(keys_dir.glob("*.key.pem")):
        key_id = key_file.name.removesuffix(".key.pem")
        if not KEY_ID.match(key_id):
            raise KeyMaterialError(f"{key_file}: a key id is lowercase letters, digits and '-'")
        pairs[key_id] = _load_pair(keys_dir, key_id)
    return pairs


def _load_pair(keys_dir: Path, key_id: str) -> KeyPair:
    key_file = keys_dir / f"{key_id}.key.pem"
    cert_file = keys_dir / f"{key_id}.crt.pem"
    try:
        private_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        certificates = x509.load_pem_x509_certificates(cert_file.read_bytes())
    except (OSError, ValueError, TypeError) as e:
        raise KeyMaterialError(f"cannot load signing key {key_id!r} from {keys_dir}: {e}") from e
    if not isinstance(private_key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyMaterialError(f"{key_file}: only RSA and EC keys are supported")
    certificate, *chain = certificates
    if certificate.public_key() != private_key.public_key():
        raise KeyMaterialError(f"{cert_file}: the first certificate is not the one of {key_file.name}")
    return KeyPair(key_id, private_key, certificate, tuple(chain))


def load_certificates(paths: list[Path]) -> list[x509.Certificate]:
    """PEM certificates from files, or from every ``*.pem`` / ``*.crt`` in directories (not
    ``*.key.pem``)."""
    certificates: list[x509.Certificate] = []
    for path in paths:
        if path.is_dir():
            files = sorted(f for f in [*path.glob("*.pem"), *path.glob("*.crt")] if not f.name.endswith(".key.pem"))
        else:
            files = [path]
        for file in files:
            try:
                certificates += x509.load_pem_x509_certificates(file.read_bytes())
            except (OSError, ValueError) as e:
                raise KeyMaterialError(f"cannot load trust roots from {file}: {e}") from e
    return certificates
