"""PAdES B-T seals through PKCS#11, for the benchmark: the signing service's Sealer with keys
generated in a SoftHSM2 token (RSA-2048 and ECDSA P-256) and a timestamp authority on the
loopback interface; one thread seals the same one-page PDF over and over.

    make bench BENCH_ARGS="--only signing"

Figures per key: ms per document (mean, p50, p99) and signatures per second on one core
(one thread: the token's session takes one operation at a time). Targets (issue 16): at most
20 ms per document and at least 50 signatures/s per core. One more row: remote signing's
overhead without the human (the document prepared for the officer's device, then their
signature checked and embedded with its timestamp; the device's ECDSA P-256 signature is made
in software here, as the device would).
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from motcua.signing import pki
from motcua.signing.devtoken import EC_SEAL, RSA_SEAL
from motcua.signing.hsm import Pkcs11Settings, Token, load_token_keys
from motcua.signing.pades import ExternalSignatureEmbedder, Sealer, prepare_external_signature
from tests.signing.pdfs import vietnamese_pdf
from tests.signing.tsa import LocalTsa
from tests.support.hsm import dev_token

TARGETS = {"pades_b_t_ms": 20, "signatures_per_s": 50}
KEYS = {RSA_SEAL: "RSA-2048", EC_SEAL: "ECDSA P-256"}


def run_signing(seconds: float, step: Callable[[str], None]) -> dict:
    with tempfile.TemporaryDirectory(prefix="motcua-bench-signing-") as tmp:
        directory = Path(tmp)
        step("signing: a SoftHSM2 token with an RSA-2048 and a P-256 seal; a local TSA")
        token = dev_token(directory, pin="2468")
        ca_key = serialization.load_pem_private_key((directory / "pki" / pki.ROOT_CA_KEY).read_bytes(), None)
        assert isinstance(ca_key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
        ca_cert = x509.load_pem_x509_certificate(token.root_certificate.read_bytes())
        session = Token(Pkcs11Settings(module=token.module, token_label=token.token_label, pin=token.pin))
        pairs, signers = load_token_keys(session, token.keys_dir)
        document = vietnamese_pdf()
        results = {}
        with LocalTsa(ca_key, ca_cert) as tsa:
            sealer = Sealer(pairs.values(), tsa_url=tsa.url, signers=signers)
            for key_id, label in KEYS.items():
                step(f"signing: PAdES B-T through PKCS#11 with {label}, {seconds:g} s")
                now = dt.datetime.now(dt.UTC).replace(microsecond=0)
                sealer.seal(document, key_id, "", "", now)  # warm-up
                def seal(key_id: str = key_id, now: dt.datetime = now) -> object:
                    return sealer.seal(document, key_id, "Trả kết quả", "Thanh Hóa", now)
                results[label] = _timed(seconds, seal)
            step(f"signing: remote signing's overhead (prepare, then check and embed with a timestamp), {seconds:g} s")
            device_key = ec.generate_private_key(ec.SECP256R1())
            officer = pki.certify_public_key(ca_key, ca_cert, device_key.public_key(), "Trần Văn Đức",
                                             pki.DEV_ORGANIZATION)
            embedder = ExternalSignatureEmbedder(sealer.timestamper)

            def remote() -> None:
                prepared = prepare_external_signature(document, officer, (ca_cert,), "Ký duyệt",
                                                      dt.datetime.now(dt.UTC).replace(microsecond=0))
                value = device_key.sign(prepared.data_to_sign, ec.ECDSA(hashes.SHA256()))
                embedder.embed(prepared, officer, (ca_cert,), value)

            remote()  # warm-up
            results["remote (P-256)"] = _timed(seconds, remote)
        session.close()
        return results


def _timed(seconds: float, sign: Callable[[], object]) -> dict:
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        sign()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "documents": len(times),
        "ms_mean": statistics.fmean(times),
        "ms_p50": times[len(times) // 2],
        "ms_p99": times[min(len(times) - 1, int(len(times) * 0.99))],
        "signatures_per_s": len(times) / (sum(times) / 1000),
    }


def print_signing(results: dict) -> None:
    print()
    print("PAdES B-T through PKCS#11 (SoftHSM2), local TSA, one thread; remote: the service's share:")
    print(f"{'key':<14}{'docs':>7}{'ms/doc mean':>13}{'p50':>8}{'p99':>8}{'sig/s':>9}   target")
    for label, r in results.items():
        ok = r["ms_mean"] <= TARGETS["pades_b_t_ms"] and r["signatures_per_s"] >= TARGETS["signatures_per_s"]
        print(f"{label:<14}{r['documents']:>7}{r['ms_mean']:>13.1f}{r['ms_p50']:>8.1f}{r['ms_p99']:>8.1f}"
              f"{r['signatures_per_s']:>9.1f}   <= {TARGETS['pades_b_t_ms']} ms, >= {TARGETS['signatures_per_s']}/s: "
              f"{'ok' if ok else 'BELOW TARGET'}")
