"""The PAdES signed attributes the signers make from DER kept once per certificate are, byte for
byte, those pyHanko builds itself, for RSA and ECDSA keys with Vietnamese names; what is not a
PAdES signature is left to pyHanko. Pure logic: no service."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from motcua.signing import pki
from motcua.signing.pades import Sealer

DIGEST = hashlib.sha256(b"Giay khai sinh").digest()


@pytest.fixture(scope="module", params=["rsa", "ecdsa"])
def signer(request):
    ca_key, ca_cert = pki.create_root_ca("CA thử nghiệm Thanh Hóa", "Sở Thông tin và Truyền thông")
    key = ec.generate_private_key(ec.SECP256R1()) if request.param == "ecdsa" else None
    key, cert = pki.issue_signing_certificate(ca_key, ca_cert, "Ủy ban nhân dân xã Quảng Phú", "UBND xã Quảng Phú",
                                              key=key)
    pair = pki.KeyPair("xa-quang-phu", key, cert, (ca_cert,))
    return Sealer([pair]).keys["xa-quang-phu"].signer


def attributes(signer, base: bool, **kwargs) -> bytes:
    method = SimpleSigner.signed_attrs if base else type(signer).signed_attrs
    return asyncio.run(method(signer, DIGEST, "sha256", **kwargs)).dump()


def test_pades_attributes_are_pyhanko_s_own_bytes(signer):
    settings = PdfCMSSignedAttributes()
    made = attributes(signer, base=False, attr_settings=settings, use_pades=True)
    assert made == attributes(signer, base=True, attr_settings=settings, use_pades=True)
    # Kept once per key, the digest alone changes.
    other = hashlib.sha256(b"Giay chung tu").digest()
    again = asyncio.run(type(signer).signed_attrs(signer, other, "sha256", use_pades=True)).dump()
    assert again == asyncio.run(SimpleSigner.signed_attrs(signer, other, "sha256", use_pades=True)).dump()
    assert again != made


def test_what_is_not_pades_is_pyhanko_s(signer):
    # A CMS signature that is not PAdES carries a signing time and the algorithm protection.
    made = attributes(signer, base=False, use_pades=False)
    assert made != attributes(signer, base=False, use_pades=True)
    assert b"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x34" in made  # id-aa-CMSAlgorithmProtection
