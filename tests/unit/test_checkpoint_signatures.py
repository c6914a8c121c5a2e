"""The checkpoint's signed text and the offline checks of a checkpoint's signature: pure, with
keys and certificates made here."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from motcua.audit.chain_check import Outcome
from motcua.audit.checkpoint_check import Checkpoint, check, signature_problem
from motcua.kernel.checkpoints import signed_text
from motcua.signing.pki import create_root_ca, issue_signing_certificate

DIGEST = bytes(range(32))


def test_the_signed_text_is_the_documented_lines():
    assert signed_text("procedures", "motcua_procedures", 19, DIGEST) == (
        b"motcua-audit-checkpoint/1\nprocedures\nmotcua_procedures\n19\n"
        + DIGEST.hex().encode() + b"\n")


def _checkpoint(position: int = 19, digest: bytes = DIGEST):
    ca_key, ca_cert = create_root_ca("CA kiểm toán thử", "Tỉnh thử")
    key = ec.generate_private_key(ec.SECP256R1())
    _, cert = issue_signing_certificate(ca_key, ca_cert, "Khóa kiểm toán", "Tỉnh thử", key=key)
    ders = (cert.public_bytes(serialization.Encoding.DER), ca_cert.public_bytes(serialization.Encoding.DER))
    signature = key.sign(signed_text("procedures", "motcua_procedures", position, digest), ec.ECDSA(hashes.SHA256()))
    return Checkpoint("procedures", "motcua_procedures", position, digest, hashlib.sha256(ders[0]).hexdigest(),
                      signature, ders, b"", "", "motcua_identity"), ca_cert


def test_a_checkpoint_signed_by_its_certificates_key_verifies_and_chains_to_its_root():
    checkpoint, root = _checkpoint()
    assert signature_problem(checkpoint, None) is None
    assert signature_problem(checkpoint, [root]) is None


def test_a_checkpoint_of_another_digest_position_or_key_id_is_a_bad_signature():
    checkpoint, root = _checkpoint()
    assert "does not verify" in str(signature_problem(replace(checkpoint, digest=bytes(32)), [root]))
    assert "does not verify" in str(signature_problem(replace(checkpoint, position=20), [root]))
    assert "is not its certificate's" in str(signature_problem(replace(checkpoint, key_id="0" * 64), [root]))
    _, stranger = create_root_ca("CA lạ", "Nơi khác")
    assert "does not chain" in str(signature_problem(checkpoint, [stranger]))


def test_a_checkpoint_disagreeing_with_the_recomputed_digest_is_rewritten_and_beyond_the_chain_missing():
    checkpoint, root = _checkpoint()
    intact = Outcome(verified=19, head=19, unsealed=0, broken=None)
    summary, broken = check(intact, {19: DIGEST}, [checkpoint], [root])
    assert broken is None and summary.checked == 1 and summary.latest == 19
    _, broken = check(intact, {19: bytes(32)}, [checkpoint], [root])
    assert broken is not None and (broken.position, broken.kind) == (19, "rewritten")
    _, broken = check(Outcome(verified=10, head=10, unsealed=0, broken=None), {19: b""}, [checkpoint], [root])
    assert broken is not None and (broken.position, broken.kind) == (19, "missing")
