"""PAdES signatures with pyHanko: sealing a PDF (B-B, or B-T with a timestamp authority)
and validating the signatures a PDF carries.

Key material is turned into pyHanko signers once, when the service starts; a request
only builds its signature dictionary (reason, location) and signs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any, TypedDict

import urllib3
from asn1crypto import cms, crl as asn1_crl, keys as asn1_keys, ocsp as asn1_ocsp, parser, tsp, x509 as asn1_x509
from cryptography import x509 as pyca_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import SigningError, as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers import ExternalSigner, PdfSignatureMetadata, PdfSigner, PdfTimeStamper, Signer, SimpleSigner
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError, set_tsp_headers
from pyhanko.sign.validation import EmbeddedPdfSignature, add_validation_info, validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from motcua.kernel.errors import DomainError, InvalidArgument

from .domain import PADES_B_B, PADES_B_LT, PADES_B_LTA, PADES_B_T
from .pki import KeyPair

log = logging.getLogger(__name__)

DIGEST = "sha256"
PDF_HEADER = b"%PDF-"
HEADER_WINDOW = 1024  # readers accept the header anywhere in the first 1024 bytes
# Room for a timestamp token (its certificates included) on top of the signature itself.
TIMESTAMP_RESERVE = 16384


class CertificateNotUsable(DomainError):
    """The key's certificate does not validate now (revoked, expired, or its chain or status
    cannot be established): no long-term signature can be made with it (FAILED_PRECONDITION)."""

    def __init__(self, key_id: str, detail: str) -> None:
        super().__init__(f"the certificate of signing key {key_id} cannot be validated: {detail}")


class TimestampUnavailable(Exception):
    """The configured timestamp authority could not be reached or refused the request."""


class PadesSignedAttributes:
    """Mixin for a pyHanko Signer: the signed attributes of a PAdES signature made from DER kept
    once per key. They are the content type, the message digest and the ESS
    signing-certificate-v2 (PAdES forbids a signing time), and only the digest changes between
    signatures; pyHanko builds all three afresh each time, and asn1crypto encodes what is built
    anew on every dump (pyHanko dumps them several times): half the CPU of a B-T signature went
    there. The certificate's attribute is kept per certificate. The bytes are those pyHanko
    makes, in its order. Anything else (CAdES attributes,
    another attribute spec, a signature that is not PAdES) is left to pyHanko."""

    signing_cert: asn1_x509.Certificate
    signed_attr_prov_spec: Any

    async def signed_attrs(self, data_digest: bytes, digest_algorithm: str, attr_settings: Any = None,
                           content_type: str = "data", use_pades: bool = False, timestamper: Any = None,
                           dry_run: bool = False, is_pdf_sig: bool = True) -> cms.CMSAttributes:
        if (use_pades and is_pdf_sig and self.signed_attr_prov_spec is None
                and getattr(attr_settings, "cades_signed_attrs", None) is None):
            return cms.CMSAttributes.load(parser.emit(0, 1, 17, b"".join((
                _attribute_der("content_type", content_type),
                _attribute_der("message_digest", data_digest),
                _signing_certificate_attribute(self.signing_cert.dump()),
            ))))
        attributes = await super().signed_attrs(  # type: ignore[misc]
            data_digest, digest_algorithm, attr_settings=attr_settings, content_type=content_type,
            use_pades=use_pades, timestamper=timestamper, dry_run=dry_run, is_pdf_sig=is_pdf_sig)
        # Parsed back from DER, the same attributes dump from their cached encoding.
        return cms.CMSAttributes.load(attributes.dump())



@functools.lru_cache(maxsize=1024)
def _signing_certificate_attribute(certificate_der: bytes) -> bytes:
    """The ESS signing-certificate-v2 attribute naming the certificate, once per certificate (a
    remote signer's signer object is made per request; the certificate is the same)."""
    certificate = asn1_x509.Certificate.load(certificate_der)
    return _attribute_der("signing_certificate_v2", as_signing_certificate_v2(certificate))


def _attribute_der(attribute_type: str, value: Any) -> bytes:
    return simple_cms_attribute(attribute_type, value).dump()


class _PreloadedKeySigner(PadesSignedAttributes, SimpleSigner):
    """pyHanko's SimpleSigner re-parses its private key on every signature; this one
    signs with the key object loaded at start."""

    def __init__(self, pair: KeyPair) -> None:
        assert pair.private_key is not None, "a key in a token signs through its PKCS#11 signer"
        der = pair.private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        super().__init__(
            signing_cert=_asn1(pair.certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in pair.chain]),
        )
        self._key = pair.private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        digest = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, PKCS1v15(), digest)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(digest))
        return super().sign_raw(data, digest_algorithm)


class PooledHttpTimeStamper(TimeStamper):
    """An RFC 3161 client over HTTP(S) keeping its connections to the timestamp authority open.
    pyHanko's (aiohttp) client opens a new session for each timestamp, and with it a TLS context
    that loads the system's CA bundle again: some 25 ms of every B-T signature went there, more
    than the signature itself. One pool, shared by the request threads (urllib3's pools are
    thread-safe); the request is a blocking POST, made on the signing call's own event loop."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        super().__init__()
        self.url = url
        self.timeout = timeout
        self._pool = urllib3.PoolManager(num_pools=4, maxsize=16, retries=False,
                                         timeout=urllib3.Timeout(total=timeout))

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            response = self._pool.request("POST", self.url, body=req.dump(), headers=set_tsp_headers({}))
        except urllib3.exceptions.HTTPError as e:
            raise TimestampRequestError(f"the timestamp authority did not answer: {e}") from e
        if response.status != 200 or response.headers.get("Content-Type") != "application/timestamp-reply":
            raise TimestampRequestError(f"the timestamp authority answered {response.status} "
                                        f"{response.headers.get('Content-Type')}, not a timestamp reply")
        return tsp.TimeStampResp.load(response.data)


class _TimedPdfSigner(PdfSigner):
    """Writes the signing time the caller chose (the one recorded in the event)."""

    def __init__(self, *args: Any, signing_time: dt.datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session


def _asn1(certificate: pyca_x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


@dataclass(frozen=True)
class SealingKey:
    """A signing key made ready for pyHanko, once."""

    pair: KeyPair
    signer: Signer
    bytes_reserved: int  # hex characters reserved in /Contents for the CMS signature

    @classmethod
    def of(cls, pair: KeyPair, timestamped: bool, signer: Signer | None = None) -> SealingKey:
        """``signer``: the key's own (a PKCS#11 token's); by default, one signing with the loaded
        private key."""
        certificates = (pair.certificate, *pair.chain)
        der_size = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in certificates)
        public_key = pair.certificate.public_key()
        signature_size = (public_key.key_size if isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey))
                          else 4096) // 8 + 16
        estimate = der_size + signature_size + 2048 + (TIMESTAMP_RESERVE if timestamped else 0)
        return cls(pair, signer or _PreloadedKeySigner(pair), bytes_reserved=2 * estimate)


def open_pdf(document: bytes, field: str = "document") -> PdfFileReader:
    """The document parsed far enough to know it is a PDF with pages; InvalidArgument otherwise."""
    if PDF_HEADER not in document[:HEADER_WINDOW]:
        raise InvalidArgument.field(field, "must be a PDF document (no %PDF- header)", "NOT_PDF")
    try:
        reader = PdfFileReader(BytesIO(document), strict=False)
        if reader.encrypted:
            raise InvalidArgument.field(field, "must not be an encrypted PDF", "ENCRYPTED_PDF")
        pages = reader.root["/Pages"]
        if int(pages["/Count"]) < 1:
            raise InvalidArgument.field(field, "must be a PDF document with at least one page", "NOT_PDF")
    except InvalidArgument:
        raise
    except Exception as e:  # noqa: BLE001 - any parse failure means the bytes are not a usable PDF
        raise InvalidArgument.field(field, f"must be a readable PDF document ({_brief(e)})", "NOT_PDF") from None
    return reader


def _brief(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def _new_field_name(reader: PdfFileReader) -> str:
    """``Signature<n>``, the first one the document does not use yet."""
    taken: set[str] = set()
    try:
        for field in reader.root["/AcroForm"]["/Fields"]:
            field = field.get_object()
            if "/T" in field:
                taken.add(str(field["/T"]))
    except Exception:  # noqa: BLE001 - no form yet, or an odd one: pyHanko will say what is wrong with it
        pass
    n = 1
    while f"Signature{n}" in taken:
        n += 1
    return f"Signature{n}"


@dataclass(frozen=True)
class Sealed:
    document: bytes
    timestamped: bool
    level: str = ""  # the PAdES baseline level made: B-B, B-T, B-LT or B-LTA

    def __post_init__(self) -> None:
        if not self.level:
            object.__setattr__(self, "level", PADES_B_T if self.timestamped else PADES_B_B)


class Sealer:
    """Signs PDFs with the keys loaded at start (PAdES B-B; B-T with a timestamp authority)."""

    def __init__(self, pairs: Iterable[KeyPair], tsa_url: str | None = None, tsa_timeout: float = 5.0,
                 signers: Mapping[str, Signer] | None = None, level: str = "",
                 trust_roots: Iterable[pyca_x509.Certificate] = ()) -> None:
        """``signers``: by key id, the signers of keys that are not loaded (in a PKCS#11 token).
        ``level``: B-LT embeds the validation data (certificates, OCSP responses, CRLs, fetched
        from the addresses the certificates give, up to ``trust_roots``) in the document
        security store; B-LTA adds a document timestamp over it. Both need a timestamp
        authority. By default B-T with one, else B-B."""
        self.timestamper: TimeStamper | None = PooledHttpTimeStamper(tsa_url, timeout=tsa_timeout) if tsa_url else None
        self.level = level or (PADES_B_T if self.timestamper else PADES_B_B)
        if self.level in (PADES_B_LT, PADES_B_LTA, PADES_B_T) and self.timestamper is None:
            raise ValueError(f"PAdES {self.level} needs a timestamp authority")
        self.trust_roots = [_asn1(c) for c in trust_roots]
        signers = signers or {}
        self.keys = {p.key_id: SealingKey.of(p, timestamped=self.timestamper is not None, signer=signers.get(p.key_id))
                     for p in pairs}

    def add(self, pair: KeyPair) -> None:
        """One more key (a development seal made while running); requests read ``keys`` meanwhile,
        so the dict is replaced, never changed in place."""
        self.keys = {**self.keys, pair.key_id: SealingKey.of(pair, timestamped=self.timestamper is not None)}

    def seal(self, document: bytes, key_id: str, reason: str, location: str, signing_time: dt.datetime,
             timestamp: bool = True) -> Sealed:
        """Signs ``document``; with ``timestamp`` and a timestamp authority, at PAdES B-T."""
        key = self.keys[key_id]
        timestamper = self.timestamper if timestamp else None
        reader = open_pdf(document)  # a clear INVALID_ARGUMENT before pyHanko gets to it
        long_term = timestamper is not None and self.level in (PADES_B_LT, PADES_B_LTA)
        if long_term and reader.embedded_regular_signatures:
            # A seal after an officer's signature: their signature's validation data goes in
            # the security store too, so the seal's document timestamp keeps both long-term.
            document = self._with_validation_data(reader)
            reader = open_pdf(document)
        meta = PdfSignatureMetadata(
            field_name=_new_field_name(reader),
            md_algorithm=DIGEST,
            subfilter=SigSeedSubFilter.PADES,
            reason=reason or None,
            location=location or None,
            embed_validation_info=long_term,
            validation_context=self._fetching_context() if long_term else None,
            use_pades_lta=long_term and self.level == PADES_B_LTA,
        )
        signer = _TimedPdfSigner(meta, key.signer, timestamper=timestamper, signing_time=signing_time)
        try:
            try:
                output = signer.sign_pdf(
                    IncrementalPdfFileWriter.from_reader(reader), bytes_reserved=key.bytes_reserved
                )
            except SigningError as e:
                if not str(e).startswith(_RESERVE_OVERFLOW):
                    raise
                # The signature (a timestamp token with a long chain, say) outgrew the space
                # reserved at start: once more, with the space pyHanko measures itself.
                log.warning("signature larger than reserved", extra={"key_id": key_id, "error": str(e)})
                output = signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(document), strict=False))
        except TimestampRequestError as e:
            raise TimestampUnavailable(str(e)) from e
        except SigningError as e:
            if long_term and isinstance(e.__cause__, (PathValidationError, PathBuildingError)):
                # B-LT embeds the proof that the certificate was good: there is none to embed.
                raise CertificateNotUsable(key_id, _brief(e.__cause__)) from None
            raise InvalidArgument.field("document", f"cannot be signed: {_brief(e)}", "UNSIGNABLE_PDF") from None
        except PdfError as e:
            raise InvalidArgument.field("document", f"cannot be signed: {_brief(e)}", "UNSIGNABLE_PDF") from None
        level = self.level if long_term else (PADES_B_T if timestamper is not None else PADES_B_B)
        return Sealed(output.getvalue(), timestamped=timestamper is not None, level=level)

    def _with_validation_data(self, reader: PdfFileReader) -> bytes:
        """The document with the certificates and revocation data of the signatures it holds
        added to its security store (one incremental update)."""
        output = BytesIO()
        for index in range(len(reader.embedded_regular_signatures)):
            try:
                # Each update is read again: the next signature's data goes on top of it.
                output = add_validation_info(reader.embedded_regular_signatures[index], self._fetching_context(),
                                             in_place=False)
            except (PathValidationError, PathBuildingError) as e:
                raise InvalidArgument.field("document", f"holds a signature that does not validate: {_brief(e)}",
                                            "SIGNATURE_NOT_VALID") from None
            reader = PdfFileReader(output, strict=False)
        return output.getvalue()

    def add_archive_timestamp(self, document: bytes) -> bytes:
        """Re-augments an archived (B-LTA) document: fresh validation data for its signatures and
        timestamps, and a new document timestamp over all of it, before the last one's
        certificate expires."""
        if self.timestamper is None:
            raise TimestampUnavailable("no timestamp authority is configured")
        reader = PdfFileReader(BytesIO(document), strict=False)
        try:
            output = PdfTimeStamper(self.timestamper).update_archival_timestamp_chain(
                reader, self._fetching_context(), in_place=False)
        except TimestampRequestError as e:
            raise TimestampUnavailable(str(e)) from e
        return output.getvalue()

    def _fetching_context(self) -> ValidationContext:
        # Per signature: a context caches what it fetched. Soft-fail: a certificate that names
        # no revocation service (a timestamp authority's, often) does not stop the signature.
        return ValidationContext(trust_roots=list(self.trust_roots), allow_fetching=True, revocation_mode="soft-fail")


_RESERVE_OVERFLOW = "Final ByteRange payload larger than expected"


def last_timestamp_expiry(document: bytes) -> dt.datetime | None:
    """When the certificate of the document's last document timestamp expires; None without one."""
    stamps = PdfFileReader(BytesIO(document), strict=False).embedded_timestamp_signatures
    if not stamps:
        return None
    expiry: dt.datetime = stamps[-1].signer_cert["tbs_certificate"]["validity"]["not_after"].native
    return expiry


# --- signatures made elsewhere (remote signing) ------------------------------------------------


@dataclass(frozen=True)
class PreparedSignature:
    """A document made ready for a signature computed elsewhere: the PDF with its signature
    field and the space reserved for the CMS, and what the signer's key signs."""

    prepared_pdf: bytes
    data_to_sign: bytes  # DER of the CMS signed attributes (they hold the document's digest)
    document_digest: bytes
    reserved_region: tuple[int, int]


class SignatureMismatch(Exception):
    """The signature value does not verify with the signer's certificate over the data to sign."""


class _ExternalPadesSigner(PadesSignedAttributes, ExternalSigner):
    """The signer's side is elsewhere; the signed attributes it signs are made as ours are."""


def _external_signer(certificate: pyca_x509.Certificate, chain: Iterable[pyca_x509.Certificate],
                     signature_value: bytes | None = None) -> ExternalSigner:
    signing_cert, registry = _signer_certificates(tuple(c.public_bytes(serialization.Encoding.DER)
                                                        for c in (certificate, *chain)))
    return _ExternalPadesSigner(
        signing_cert=signing_cert,
        cert_registry=registry,
        signature_value=signature_value if signature_value is not None else bytes(512),
    )


@functools.lru_cache(maxsize=1024)
def _signer_certificates(ders: tuple[bytes, ...]) -> tuple[asn1_x509.Certificate, SimpleCertificateStore]:
    """An officer's certificate and its chain as pyHanko takes them, made once per officer (each
    request makes its own signer object; pyHanko only reads these while signing)."""
    certificate, *chain = (asn1_x509.Certificate.load(der) for der in ders)
    return certificate, SimpleCertificateStore.from_certs(chain)


def _reserve(certificate: pyca_x509.Certificate, chain: Iterable[pyca_x509.Certificate]) -> int:
    der_size = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in (certificate, *chain))
    return 2 * (der_size + 512 + 2048 + TIMESTAMP_RESERVE)


def prepare_external_signature(document: bytes, certificate: pyca_x509.Certificate,
                               chain: tuple[pyca_x509.Certificate, ...], reason: str,
                               signing_time: dt.datetime) -> PreparedSignature:
    """pyHanko's interrupted signing, first half: the signature field and its placeholder
    are written, and the signed attributes to be signed by the signer's own key are built."""
    reader = open_pdf(document)
    meta = PdfSignatureMetadata(field_name=_new_field_name(reader), md_algorithm=DIGEST,
                                subfilter=SigSeedSubFilter.PADES, reason=reason or None)
    external = _external_signer(certificate, chain)
    signer = _TimedPdfSigner(meta, external, signing_time=signing_time)

    async def prepare() -> PreparedSignature:
        digest, _, output = await signer.async_digest_doc_for_signing(
            IncrementalPdfFileWriter.from_reader(reader), bytes_reserved=_reserve(certificate, chain))
        attributes = await external.signed_attrs(digest.document_digest, DIGEST, use_pades=True)
        assert isinstance(output, BytesIO)
        return PreparedSignature(output.getvalue(), attributes.dump(), digest.document_digest,
                                 (digest.reserved_region_start, digest.reserved_region_end))

    try:
        return asyncio.run(prepare())
    except (PdfError, SigningError) as e:
        raise InvalidArgument.field("document", f"cannot be signed: {_brief(e)}", "UNSIGNABLE_PDF") from None


def check_signature_value(certificate: pyca_x509.Certificate, data_to_sign: bytes, signature_value: bytes) -> None:
    """SignatureMismatch unless ``signature_value`` is the certificate's key's SHA-256 signature
    of ``data_to_sign`` (ECDSA, or RSA PKCS#1 v1.5)."""
    key = certificate.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature_value, data_to_sign, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature_value, data_to_sign, PKCS1v15(), hashes.SHA256())
        else:
            raise SignatureMismatch("the signer's key is neither RSA nor EC")
    except (InvalidSignature, ValueError) as e:
        raise SignatureMismatch(str(e) or "the signature does not verify") from None


class ExternalSignatureEmbedder:
    """pyHanko's interrupted signing, second half: the signature made elsewhere goes into a CMS
    (with a signature timestamp when there is a timestamp authority: PAdES B-T), and the CMS
    into the prepared document's placeholder."""

    def __init__(self, timestamper: TimeStamper | None) -> None:
        self.timestamper = timestamper

    def embed(self, prepared: PreparedSignature, certificate: pyca_x509.Certificate,
              chain: tuple[pyca_x509.Certificate, ...], signature_value: bytes) -> Sealed:
        check_signature_value(certificate, prepared.data_to_sign, signature_value)
        external = _external_signer(certificate, chain, signature_value)

        async def finish() -> bytes:
            signature = await external.async_sign_prescribed_attributes(
                DIGEST, signed_attrs=cms.CMSAttributes.load(prepared.data_to_sign), timestamper=self.timestamper)
            output = BytesIO(prepared.prepared_pdf)
            await PdfTBSDocument.async_finish_signing(
                output, PreparedByteRangeDigest(prepared.document_digest, *prepared.reserved_region), signature)
            return output.getvalue()

        try:
            return Sealed(asyncio.run(finish()), timestamped=self.timestamper is not None)
        except TimestampRequestError as e:
            raise TimestampUnavailable(str(e)) from e


# --- validation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureReport:
    """What validating one signature found."""

    field_name: str
    signer_subject: str  # RFC 4514, UTF-8 as in the certificate
    signer_common_name: str
    issuer: str
    certificate_serial: str  # hex
    certificate_sha256: str  # hex
    signing_time: dt.datetime | None  # from the timestamp token when trusted, else as claimed
    timestamped: bool  # a valid and trusted signature timestamp (B-T)
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the cryptographic signature checks out
    trusted: bool  # the certificate chains to a configured trust root and was usable
    revoked: bool
    covers_whole_document: bool
    modification_level: str  # none | lta_updates | form_filling | annotations | other | unknown
    problem: str = ""  # why validation could not be completed, when it could not
    revocation_status: str = "unknown"  # good | revoked | unknown
    revocation_source: str = "none"  # embedded_ocsp | embedded_crl | online | none
    pades_level: str = ""  # the baseline level the document holds for it: B-B, B-T, B-LT, B-LTA
    certificate_expired: bool = False  # the certificate had expired at the (proven or claimed) signing time

    @property
    def integrity_ok(self) -> bool:
        return self.intact and self.valid

    @property
    def outcome(self) -> str:
        """valid | invalid | indeterminate, in the sense of ETSI EN 319 102-1."""
        if (self.problem or not self.integrity_ok or self.revoked or self.certificate_expired
                or self.modification_level == "other"):
            return "invalid"
        if not self.trusted:
            return "indeterminate"
        return "valid"


_MODIFICATION_LEVELS = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "lta_updates",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}


class Verifier:
    """Validates the signatures of a PDF against trust roots fixed at start."""

    def __init__(self, trust_roots: Iterable[pyca_x509.Certificate], online: bool = False) -> None:
        """``online``: a signature whose document embeds no revocation data for its certificate
        is checked against the OCSP responder or CRL its certificate names."""
        self.trust_roots = [_asn1(c) for c in trust_roots]
        self.online = online

    def _context(self, online: bool) -> ValidationContext:
        # Per document: a context caches what it learns. Without fetching, revocation information
        # is used when embedded, and its absence is tolerated (soft-fail).
        return ValidationContext(trust_roots=list(self.trust_roots), allow_fetching=online, revocation_mode="soft-fail")

    def verify(self, document: bytes) -> list[SignatureReport]:
        reader = open_pdf(document)
        try:
            signatures = reader.embedded_regular_signatures
            document_timestamps = len(reader.embedded_timestamp_signatures)
            revocation = _EmbeddedRevocation.of(reader)
        except Exception as e:  # noqa: BLE001 - a broken AcroForm is the document's problem
            raise InvalidArgument.field(
                "document", f"has unreadable signature fields ({_brief(e)})", "NOT_PDF"
            ) from None
        return [self._report(signature, revocation, document_timestamps) for signature in signatures]

    def _report(self, embedded: EmbeddedPdfSignature, revocation: _EmbeddedRevocation,
                document_timestamps: int) -> SignatureReport:
        try:
            certificate = embedded.signer_cert
        except Exception as e:  # noqa: BLE001
            return _unreadable(embedded, e)
        status_source = revocation.status_of(certificate)
        online = self.online and status_source is None
        try:
            status = validate_pdf_signature(embedded, signer_validation_context=self._context(online))
        except Exception as e:  # noqa: BLE001 - reported on this signature, the others still count
            log.info("signature not validated", extra={"field": _field(embedded), "error": _brief(e)})
            return _unreadable(embedded, e, certificate)
        report = _from_status(embedded, status)
        if status_source is not None:
            revocation_status, source = status_source
        elif online and (status.revoked or status.trusted):
            revocation_status, source = ("revoked" if status.revoked else "good"), "online"
        else:
            revocation_status, source = "unknown", "none"
        level = PADES_B_T if report.timestamped else PADES_B_B
        if report.timestamped and status_source is not None:
            level = PADES_B_LTA if document_timestamps else PADES_B_LT
        not_after = certificate["tbs_certificate"]["validity"]["not_after"].native
        expired = report.signing_time is not None and report.signing_time > not_after
        return dataclasses.replace(report, revocation_status=revocation_status, revocation_source=source,
                                   revoked=report.revoked or revocation_status == "revoked", pades_level=level,
                                   certificate_expired=expired)


@dataclass(frozen=True)
class _EmbeddedRevocation:
    """The revocation data a document's security store holds: OCSP responses and CRLs."""

    ocsp: dict[int, str]  # certificate serial -> good | revoked | unknown
    crls: tuple[asn1_crl.CertificateList, ...]

    @classmethod
    def of(cls, reader: PdfFileReader) -> _EmbeddedRevocation:
        if "/DSS" not in reader.root:
            return cls({}, ())
        dss = DocumentSecurityStore.read_dss(reader)
        statuses: dict[int, str] = {}
        for ref in dss.ocsps:
            response = asn1_ocsp.OCSPResponse.load(ref.get_object().data)
            if response["response_status"].native != "successful":
                continue
            for single in response.basic_ocsp_response["tbs_response_data"]["responses"]:
                statuses[single["cert_id"]["serial_number"].native] = single["cert_status"].name
        crls = tuple(asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls)
        return cls(statuses, crls)

    def status_of(self, certificate: asn1_x509.Certificate) -> tuple[str, str] | None:
        serial = certificate.serial_number
        if serial in self.ocsp:
            return self.ocsp[serial], "embedded_ocsp"
        for crl in self.crls:
            if crl.issuer == certificate.issuer:
                revoked = any(entry["user_certificate"].native == serial for entry in crl["tbs_cert_list"]
                              ["revoked_certificates"] or ())
                return ("revoked" if revoked else "good"), "embedded_crl"
        return None


def _field(embedded: EmbeddedPdfSignature) -> str:
    try:
        return str(embedded.field_name or "")
    except Exception:  # noqa: BLE001
        return ""


class _CertificateFacts(TypedDict):
    signer_subject: str
    signer_common_name: str
    issuer: str
    certificate_serial: str
    certificate_sha256: str


def _certificate_facts(certificate: asn1_x509.Certificate) -> _CertificateFacts:
    pyca = pyca_x509.load_der_x509_certificate(certificate.dump())
    common_names = pyca.subject.get_attributes_for_oid(pyca_x509.oid.NameOID.COMMON_NAME)
    return {
        "signer_subject": pyca.subject.rfc4514_string(),
        "signer_common_name": str(common_names[0].value) if common_names else "",
        "issuer": pyca.issuer.rfc4514_string(),
        "certificate_serial": format(pyca.serial_number, "x"),
        "certificate_sha256": certificate.sha256.hex(),
    }


def _from_status(embedded: EmbeddedPdfSignature, status: PdfSignatureStatus) -> SignatureReport:
    timestamp = status.timestamp_validity
    timestamped = timestamp is not None and timestamp.valid and timestamp.intact and timestamp.trusted
    signing_time = timestamp.timestamp if timestamp is not None and timestamped else status.signer_reported_dt
    level = status.modification_level
    return SignatureReport(
        field_name=_field(embedded),
        **_certificate_facts(status.signing_cert),
        signing_time=signing_time,
        timestamped=timestamped,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        revoked=status.revoked,
        covers_whole_document=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        modification_level=_MODIFICATION_LEVELS.get(level, "unknown") if level is not None else "unknown",
    )


def _unreadable(
    embedded: EmbeddedPdfSignature, error: Exception, certificate: asn1_x509.Certificate | None = None
) -> SignatureReport:
    facts = (
        _certificate_facts(certificate)
        if certificate is not None
        else _CertificateFacts(signer_subject="", signer_common_name="", issuer="", certificate_serial="",
                               certificate_sha256="")
    )
    return SignatureReport(
        field_name=_field(embedded), **facts, signing_time=None, timestamped=False, intact=False, valid=False,
        trusted=False, revoked=False, covers_whole_document=False, modification_level="unknown",
        problem=_brief(error),
    )


# --- a one-page PDF, for the start-up self-test ----------------------------------------------


def minimal_pdf() -> bytes:
    """A valid one-page PDF (empty page), written by pyHanko."""
    writer = PdfFileWriter()
    page = PageObject(contents=writer.add_object(generic.StreamObject(stream_data=b"")),
                      media_box=[0, 0, 595, 842])
    writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
