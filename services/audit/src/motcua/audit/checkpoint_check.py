"""Checks a service's signed checkpoints against its hash chain (docs/audit-chain.md,
"Signed checkpoints").

A checkpoint says, under the signing service's audit key, what the chain's digest was at a
position. The chain is recomputed from the records (``chain_check``); then each checkpoint must

* carry a valid signature: ECDSA P-256 with SHA-256 over ``signed_text`` by the key of its
  first certificate, whose SHA-256 (DER) is the checkpoint's key id, and, when trust roots are
  given, a certificate chain up to one of them (``bad signature`` otherwise);
* name a position the chain reaches (``missing``: records were cut from the end) and the very
  digest recomputed there (``rewritten``: the log was rewritten together with its chain).

Checkpoints are read from the service's own database and from witnesses' (other services'
databases), which keep every service's checkpoints.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from motcua.kernel.checkpoints import CHECKPOINTS_TABLE, signed_text

from .chain_check import Break, Outcome


@dataclass(frozen=True)
class Checkpoint:
    service: str
    database: str
    position: int
    digest: bytes
    key_id: str
    signature: bytes
    certificates: tuple[bytes, ...]  # DER, the key's first
    timestamp_token: bytes
    signed_at: str
    found_in: str  # the database it was read from

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "position": self.position, "database": self.database, "digest": self.digest.hex(),
            "key_id": self.key_id, "signature": _b64(self.signature),
            "certificates": [_b64(c) for c in self.certificates], "signed_at": self.signed_at,
            "found_in": self.found_in,
        }
        if self.timestamp_token:
            line["timestamp_token"] = _b64(self.timestamp_token)
        return line

    @classmethod
    def from_json(cls, service: str, line: dict[str, Any]) -> Checkpoint:
        return cls(service, line["database"], int(line["position"]), bytes.fromhex(line["digest"]),
                   line["key_id"], base64.b64decode(line["signature"], validate=True),
                   tuple(base64.b64decode(c, validate=True) for c in line["certificates"]),
                   base64.b64decode(line.get("timestamp_token", ""), validate=True),
                   line.get("signed_at", ""), line.get("found_in", ""))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def read(conn: psycopg.Connection[Any], service: str, database: str, found_in: str,
         schema: str = "public", after: int = 0, until: int | None = None) -> list[Checkpoint]:
    """The checkpoints of ``service``'s log in ``database`` kept in this database (none when it
    keeps no table of checkpoints)."""
    exists = conn.execute("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s",
                          (schema, CHECKPOINTS_TABLE)).fetchone()
    if exists is None:
        return []
    rows = conn.execute(
        f'SELECT position, digest, key_id, signature, certificates, timestamp_token, signed_at '
        f'FROM "{schema}".{CHECKPOINTS_TABLE} WHERE service = %s AND database = %s AND position > %s '
        'AND position <= %s ORDER BY position, key_id',
        (service, database, after, until if until is not None else 2**63 - 1)).fetchall()
    return [Checkpoint(service, database, position, bytes(digest), key_id, bytes(signature),
                       tuple(bytes(c) for c in certificates), bytes(token or b""),
                       signed_at.isoformat() if signed_at else "", found_in)
            for position, digest, key_id, signature, certificates, token, signed_at in rows]


def signature_problem(checkpoint: Checkpoint, roots: list[x509.Certificate] | None) -> str | None:
    """What is wrong with the checkpoint's signature, or None when it is valid."""
    try:
        chain = [x509.load_der_x509_certificate(der) for der in checkpoint.certificates]
    except ValueError as e:
        return f"its certificate does not parse: {e}"
    if not chain:
        return "it carries no certificate"
    if hashlib.sha256(checkpoint.certificates[0]).hexdigest() != checkpoint.key_id:
        return f"its key id {checkpoint.key_id[:16]}… is not its certificate's"
    key = chain[0].public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return "its certificate's key is not an ECDSA key"
    message = signed_text(checkpoint.service, checkpoint.database, checkpoint.position, checkpoint.digest)
    try:
        key.verify(checkpoint.signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return f"the signature does not verify with key {checkpoint.key_id[:16]}…"
    if roots is not None and not _chains_to(chain, roots):
        return f"key {checkpoint.key_id[:16]}…'s certificate does not chain to a trusted audit root"
    return timestamp_problem(checkpoint, roots) if checkpoint.timestamp_token else None


def timestamp_problem(checkpoint: Checkpoint, roots: list[x509.Certificate] | None) -> str | None:
    """What is wrong with the checkpoint's RFC 3161 timestamp token, or None: it must be a
    timestamp authority's intact signature over the SHA-256 of the checkpoint's signature, and,
    with trust roots, the authority's certificate must chain to one of them."""
    import asyncio

    from asn1crypto import cms, x509 as asn1_x509
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    try:
        signed_data = cms.ContentInfo.load(checkpoint.timestamp_token)["content"]
        context = None if roots is None else ValidationContext(trust_roots=[
            asn1_x509.Certificate.load(r.public_bytes(serialization.Encoding.DER)) for r in roots])
        status = asyncio.run(validate_tst_signed_data(
            signed_data, context, lambda algorithm: hashlib.new(algorithm, checkpoint.signature).digest()))
    except (ValueError, TypeError, KeyError, SignatureValidationError) as e:
        return f"its timestamp token is not a valid one over its signature: {e}"
    if not (status.get("intact") and status.get("valid")):
        return "its timestamp token's signature does not verify"
    if roots is not None and status.get("trust_problem_indic") is not None:
        return "its timestamp token's authority does not chain to a trusted root"
    return None


def _chains_to(chain: list[x509.Certificate], roots: list[x509.Certificate]) -> bool:
    """Each certificate issued by the next, the last by (or being) a trust root."""
    der_roots = {r.public_bytes(serialization.Encoding.DER) for r in roots}
    for certificate, issuer in zip(chain, [*chain[1:], None], strict=True):
        if certificate.public_bytes(serialization.Encoding.DER) in der_roots:
            return True
        candidates = [issuer] if issuer is not None else [r for r in roots if r.subject == certificate.issuer]
        if not any(_issued_by(certificate, c) for c in candidates):
            return False
    return False


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@dataclass(frozen=True)
class Summary:
    checked: int
    latest: int  # the greatest position checked
    keys: tuple[str, ...]
    sources: tuple[str, ...]
    trusted: bool  # checked against trust roots
    timestamped: int = 0  # of the checked, those with a valid RFC 3161 timestamp token


def check(outcome: Outcome, digests: dict[int, bytes], checkpoints: Iterable[Checkpoint],
          roots: list[x509.Certificate] | None) -> tuple[Summary, Break | None]:
    """Each checkpoint (in position order) against its signature and against ``digests``, the
    recomputed digests at the checkpoints' positions; the chain (``outcome``) must be intact."""
    checked = 0
    keys: dict[str, None] = {}
    sources: dict[str, None] = {}
    latest = 0
    timestamped = 0
    for checkpoint in sorted(checkpoints, key=lambda c: (c.position, c.found_in)):
        where = f"the checkpoint at position {checkpoint.position} kept in {checkpoint.found_in}"
        problem = signature_problem(checkpoint, roots)
        if problem is not None:
            return _summary(checked, latest, keys, sources, roots), Break(
                checkpoint.position, "bad signature", f"{where}: {problem}")
        recomputed = digests.get(checkpoint.position)
        if not recomputed:
            return _summary(checked, latest, keys, sources, roots), Break(
                checkpoint.position, "missing",
                f"{where} was signed, but the chain ends at position {outcome.head} or has no record there "
                "(records removed)")
        if recomputed != checkpoint.digest:
            return _summary(checked, latest, keys, sources, roots), Break(
                checkpoint.position, "rewritten",
                f"{where} signed digest {checkpoint.digest.hex()[:16]}…, the log gives {recomputed.hex()[:16]}… "
                "(the log was rewritten together with its chain)")
        checked += 1
        timestamped += bool(checkpoint.timestamp_token)
        latest = max(latest, checkpoint.position)
        keys[checkpoint.key_id] = None
        sources[checkpoint.found_in] = None
    return _summary(checked, latest, keys, sources, roots, timestamped), None


def _summary(checked: int, latest: int, keys: dict[str, None], sources: dict[str, None],
             roots: list[x509.Certificate] | None, timestamped: int = 0) -> Summary:
    return Summary(checked, latest, tuple(keys), tuple(sources), roots is not None, timestamped)


def report_line(service: str, summary: Summary) -> str:
    keys = ", ".join(k[:16] for k in summary.keys)
    trust = "" if summary.trusted else "; certificates not checked against a trust root (--trust)"
    stamped = f", {summary.timestamped} timestamped" if summary.timestamped else ""
    return (f"checkpoints {service}: {summary.checked} verified{stamped}, the latest at position {summary.latest}, "
            f"signed by {len(summary.keys)} key(s) ({keys}), kept in {', '.join(summary.sources)}{trust}")
