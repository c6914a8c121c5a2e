"""Composition root of the signing service.

At start, once: the development PKI is created if it is enabled and missing, every
signing key is loaded and made ready for pyHanko, the trust roots are read, and each
key signs and verifies a one-page PDF (a self-test that fails the start, not a
request). Requests then only sign or verify.

SignDocument, VerifyDocument (and VerifySignatures, the same verification) are served, and the
remote-signing RPCs (signature requests addressed to an officer, confirmed from their device).
The outbox relay publishes each request's life on `motcua.signing.events.v1`
(the notifications service tells the officer), and pending requests expire by themselves.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from motcua.kernel.blobstore import FilesystemBlobStore
from motcua.kernel.config import Settings
from motcua.kernel.grpc_server import serve
from motcua.kernel.relay import OutboxRelay
from motcua.kernel.runtime import Service
from motcua.signing.v1 import signing_service_pb2, signing_service_pb2_grpc

from .api import SigningServicer
from .application import SigningApplication
from .archives import ArchiveRenewal
from .audit_key import default_audit_key_path, ensure_dev_audit_key, load_audit_key
from .checkpoint_signer import CheckpointSigner
from .config import SigningConfig
from .expiry import RequestExpiry
from .hsm import Token, load_token_keys
from .outbox import integration_event
from .pades import Sealer, Verifier, minimal_pdf
from .pki import (
    KeyMaterialError,
    agency_names,
    ensure_dev_agency_seal,
    ensure_dev_pki,
    load_certificates,
    load_key_pairs,
    load_ownerships,
)
from .remote import RemoteSigners

__all__ = ["SigningApplication", "build"]

log = logging.getLogger(__name__)


def build(settings: Settings, config: SigningConfig | None = None) -> Service:
    config = config or SigningConfig.from_env()
    # pyHanko logs a warning with a traceback for every certificate it cannot chain to a
    # trust root; for this service that is an answer (in the report), not an incident.
    logging.getLogger("pyhanko.sign.validation").setLevel(logging.ERROR)
    if config.dev_pki:
        pki = ensure_dev_pki(config.dev_pki_dir, revocation_url=config.dev_pki_revocation_url)
        log.warning(
            "development PKI in use: not for production (MOTCUA_SIGNING_DEV_PKI=false to turn it off)",
            extra={"directory": str(pki.directory.resolve()), "newly_created": pki.created},
        )
    if config.pkcs11:
        # The token stays open (logged in) while the service runs; the process's end closes it.
        token = Token(config.pkcs11)
        pairs, signers = load_token_keys(token, config.keys_dir)
        log.info("signing keys in a PKCS#11 token", extra={"pkcs11": repr(config.pkcs11), "keys": sorted(pairs)})
    else:
        pairs, signers = load_key_pairs(config.keys_dir), {}
    if config.default_key not in pairs:
        raise KeyMaterialError(f"the default signing key {config.default_key!r} is not in {config.keys_dir}")
    ownerships = load_ownerships(config.keys_dir, pairs)
    names = agency_names(config.dev_agencies) if config.dev_pki else {}
    roots = load_certificates(list(config.trust_roots))
    if not roots:
        log.warning("no trust roots: every signature will be reported untrusted")
    if not config.tsa_url:
        log.info("no timestamp authority (MOTCUA_SIGNING_TSA_URL): signatures are PAdES B-B")
    sealer = Sealer(pairs.values(), tsa_url=config.tsa_url, tsa_timeout=config.tsa_timeout, signers=signers,
                    level=config.pades_level, trust_roots=roots)
    verifier = Verifier(roots, online=config.verify_online)
    _self_test(sealer, verifier)
    app = SigningApplication(
        settings,
        sealer=sealer,
        verifier=verifier,
        documents=FilesystemBlobStore(config.documents_dir, suffix=".pdf"),
        # Remote signing: documents prepared for an officer's signature wait here for it.
        prepared=FilesystemBlobStore(config.documents_dir / "prepared", suffix=".pdf"),
        remote=RemoteSigners(config.remote_signers_dir or config.directory / "remote-signers"),
        request_ttl=dt.timedelta(seconds=config.request_ttl),
        default_key=config.default_key,
        ownerships=ownerships,
        # Development only: an agency without a seal gets one from the development CA when
        # its officers first sign (production keys are all declared beforehand).
        dev_seals=((lambda agency_id: ensure_dev_agency_seal(config.dev_pki_dir, agency_id, names.get(agency_id, ""),
                                                             config.dev_pki_revocation_url))
                   if config.dev_pki and not config.pkcs11 and config.keys_dir == config.dev_pki_dir / "keys"
                   else None),
    )
    app.declare_keys({key_id: (pair.fingerprint, ownerships[key_id]) for key_id, pair in pairs.items()})
    log.info("signing keys loaded", extra={
        "keys": {key_id: {"certificate_sha256": key.pair.fingerprint, "owner": ownerships[key_id].owner,
                          "purposes": list(ownerships[key_id].purposes)} for key_id, key in sealer.keys.items()},
        "default_key": config.default_key, "trust_roots": len(roots), "timestamp_authority": config.tsa_url or "",
    })
    servicer = SigningServicer(app)
    # With a timestamp authority, archived B-LTA documents are renewed before their evidence
    # expires.
    workers: list[ArchiveRenewal | CheckpointSigner | RequestExpiry] = [RequestExpiry(app, config.expiry_interval)]
    if config.tsa_url:
        workers.append(ArchiveRenewal(app, dt.timedelta(days=config.archive_margin_days), config.archive_interval))
    audit_key_path = config.audit_key or default_audit_key_path(config.dev_pki_dir)
    if config.dev_pki:
        ensure_dev_audit_key(config.dev_pki_dir, audit_key_path)
    if config.audit_key is None and not audit_key_path.exists():
        log.warning("no audit key (MOTCUA_SIGNING_AUDIT_KEY): chain checkpoints are not signed")
    else:
        audit_key = load_audit_key(audit_key_path)
        workers.append(CheckpointSigner(app, audit_key, timestamper=sealer.timestamper))
        log.info("audit key loaded", extra={"audit_key_id": audit_key.key_id, "file": str(audit_key_path)})
    return Service(
        settings=settings,
        app=app,
        registrations=[serve(signing_service_pb2, signing_service_pb2_grpc, servicer)],
        relay=OutboxRelay(app, integration_event),
        workers=workers,
    )


def _self_test(sealer: Sealer, verifier: Verifier) -> None:
    """Each key signs a blank page (without a timestamp: the start must not depend on the
    timestamp authority) and the signature checks out, so a bad key fails the start. This
    also makes pyHanko parse every certificate once, before requests share them."""
    document = minimal_pdf()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for key_id in sealer.keys:
        started = time.perf_counter()
        (report,) = verifier.verify(sealer.seal(document, key_id, "", "", now, timestamp=False).document)
        if not report.integrity_ok:
            raise KeyMaterialError(f"signing key {key_id!r} makes signatures that do not verify")
        log.info("signing key self-test", extra={
            "key_id": key_id, "trusted": report.trusted, "ms": round((time.perf_counter() - started) * 1000, 1),
        })
