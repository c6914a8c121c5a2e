"""Signing keys held in a PKCS#11 token (an HSM; SoftHSM2 in development and tests).

The private keys never enter the process: each is a handle in a logged-in session and
signs through pyHanko's PKCS#11 signer. What identifies a key is its label in the token,
which is the key id; its certificate chain (``<key id>.crt.pem``) and its declaration
(``<key id>.owner.json``) are public and sit in the keys directory, as for keys in files.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, ObjectClass
from pkcs11.util.ec import encode_ec_public_key
from pkcs11.util.rsa import encode_rsa_public_key
from pyhanko.sign.pkcs11 import PKCS11Signer

from .pades import PadesSignedAttributes
from .pki import KEY_ID, KeyMaterialError, KeyPair


@dataclass(frozen=True)
class Pkcs11Settings:
    """Where the token is: the vendor's PKCS#11 module, the token (by label, or by slot), and
    the user PIN (from a Secret)."""

    module: Path
    token_label: str
    pin: str
    slot: int | None = None

    def __repr__(self) -> str:  # the PIN stays out of logs and tracebacks
        return f"Pkcs11Settings(module={self.module!s}, token_label={self.token_label!r}, slot={self.slot})"


class _SerialisedPkcs11Signer(PadesSignedAttributes, PKCS11Signer):
    """One session serves every request thread; PKCS#11 allows one operation at a time per
    session, so signatures take turns. Each request runs its own event loop in its own thread,
    so the token is called directly rather than through another thread."""

    def __init__(self, *args: Any, lock: threading.Lock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = lock
        with lock:
            self._load_objects()  # the key handle, found once, before requests share the signer

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return await super().async_sign_raw(data, digest_algorithm, dry_run=True)
        assert self._key_handle is not None
        spec = self._select_pkcs11_signing_params(digest_algorithm, sign_kwargs=self.sign_kwargs(data))
        if spec.pre_sign_transform is not None:
            data = spec.pre_sign_transform(data)
        with self._lock:
            signature = self._key_handle.sign(data, **spec.sign_kwargs)
        if spec.post_sign_transform is not None:
            signature = spec.post_sign_transform(signature)
        return signature


class Token:
    """A logged-in session on the token, open while the service runs."""

    def __init__(self, settings: Pkcs11Settings) -> None:
        self.settings = settings
        try:
            library = pkcs11.lib(str(settings.module))
            if settings.slot is not None:
                slots = [s for s in library.get_slots(token_present=True) if s.slot_id == settings.slot]
                if not slots:
                    raise KeyMaterialError(f"no token in PKCS#11 slot {settings.slot} of {settings.module}")
                token = slots[0].get_token()
                if settings.token_label and token.label != settings.token_label:
                    raise KeyMaterialError(f"the token in slot {settings.slot} is {token.label!r}, "
                                           f"not {settings.token_label!r}")
            else:
                token = library.get_token(token_label=settings.token_label)
            self.session = token.open(user_pin=settings.pin)
        except KeyMaterialError:
            raise
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as e:
            # The PIN never appears: python-pkcs11's errors name the return code only.
            raise KeyMaterialError(f"cannot open PKCS#11 token {settings.token_label or settings.slot!r} with "
                                   f"{settings.module}: {type(e).__name__} {e}") from e
        self.lock = threading.Lock()

    def key_labels(self) -> set[str]:
        with self.lock:
            return {k.label for k in self.session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
                    if isinstance(k, pkcs11.PrivateKey)}

    def close(self) -> None:
        with self.lock:
            self.session.close()


def load_token_keys(token: Token, keys_dir: Path) -> tuple[dict[str, KeyPair], dict[str, PKCS11Signer]]:
    """Every key of the keys directory (``<key id>.crt.pem``), its private key the token's
    object labelled ``<key id>``: the key pairs (without private keys) and their signers.
    A private key file in the directory fails the start: with a token, keys are not files."""
    if not keys_dir.is_dir():
        raise KeyMaterialError(f"no keys directory {keys_dir}")
    files = sorted(keys_dir.glob("*.key.pem"))
    if files:
        raise KeyMaterialError(f"{files[0]}: with a PKCS#11 token the private keys stay in the token; remove the "
                               "key files from the keys directory")
    in_token = token.key_labels()
    pairs: dict[str, KeyPair] = {}
    signers: dict[str, PKCS11Signer] = {}
    for cert_file in sorted(keys_dir.glob("*.crt.pem")):
        key_id = cert_file.name.removesuffix(".crt.pem")
        if not KEY_ID.match(key_id):
            raise KeyMaterialError(f"{cert_file}: a key id is lowercase letters, digits and '-'")
        if key_id not in in_token:
            raise KeyMaterialError(f"{cert_file}: the token {token.settings.token_label!r} has no private key "
                                   f"labelled {key_id!r}")
        try:
            certificate, *chain = x509.load_pem_x509_certificates(cert_file.read_bytes())
        except (OSError, ValueError) as e:
            raise KeyMaterialError(f"cannot load the certificates of signing key {key_id!r}: {e}") from e
        pair = KeyPair(key_id, None, certificate, tuple(chain))
        signer = _SerialisedPkcs11Signer(
            token.session,
            key_label=key_id,
            signing_cert=_asn1(certificate),
            ca_chain=[_asn1(c) for c in chain],
            other_certs_to_pull=(),
            # Tokens (SoftHSM2 among them) often offer plain ECDSA only, not ECDSA with a hash:
            # the digest is computed here and the token signs it.
            use_raw_mechanism=isinstance(certificate.public_key(), ec.EllipticCurvePublicKey),
            lock=token.lock,
        )
        _check_matches(token, key_id, certificate)
        pairs[key_id] = pair
        signers[key_id] = signer
    return pairs, signers


def _check_matches(token: Token, key_id: str, certificate: x509.Certificate) -> None:
    """The certificate is the one of the token's key (their public keys are the same). A token
    keeping no public key object leaves it to the start's self-test signature."""
    with token.lock:
        try:
            public = token.session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=key_id)
            assert isinstance(public, pkcs11.PublicKey)
        except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
            return
        der = (encode_ec_public_key(public) if public.key_type == pkcs11.KeyType.EC
               else encode_rsa_public_key(public))
    expected = certificate.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo if public.key_type == pkcs11.KeyType.EC
        else serialization.PublicFormat.PKCS1,
    )
    if der != expected:
        raise KeyMaterialError(f"the certificate of signing key {key_id!r} is not the one of the token's key")


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
