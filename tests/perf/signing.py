"""PAdES B-T seals through PKCS#11, for the benchmark: the signing service's Sealer with keys
generated in a SoftHSM2 token (RSA-2048 and ECDSA P-256) and a timestamp authority on the
loopback interface, in a process of its own (it is another party: the CPU figure is the
signer's, the TSA's is shown apart); one thread seals the same one-page PDF over and over.

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
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from motcua.signing import pki
from motcua.signing.devtoken import EC_SEAL, RSA_SEAL
from motcua.signing.hsm import Pkcs11Settings, Token, load_token_keys
from motcua.signing.pades import ExternalSignatureEmbedder, Sealer, prepare_external_signature
from tests.perf.stack import _cpu_seconds
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
        with TsaProcess(ca_key, ca_cert) as tsa:
            sealer = Sealer(pairs.values(), tsa_url=tsa.url, signers=signers)
            for key_id, label in KEYS.items():
                step(f"signing: PAdES B-T through PKCS#11 with {label}, {seconds:g} s")
                now = dt.datetime.now(dt.UTC).replace(microsecond=0)
                sealer.seal(document, key_id, "", "", now)  # warm-up
                def seal(key_id: str = key_id, now: dt.datetime = now) -> object:
                    return sealer.seal(document, key_id, "Trả kết quả", "Thanh Hóa", now)
                results[label] = _timed(seconds, seal, tsa.pid)
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
            results["remote (P-256)"] = _timed(seconds, remote, tsa.pid)
        session.close()
        return results


class TsaProcess:
    """tests.signing.tsa's LocalTsa run in a child process, reached over HTTP on loopback."""

    def __init__(self, ca_key, ca_cert: x509.Certificate) -> None:
        self._pems = (ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()),
                      ca_cert.public_bytes(serialization.Encoding.PEM))

    def __enter__(self) -> TsaProcess:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited threads
        self._control, child = context.Pipe()
        self._process = context.Process(target=_serve_tsa, args=(*self._pems, child), name="bench-tsa", daemon=True)
        self._process.start()
        if not self._control.poll(60):
            self._process.kill()
            raise RuntimeError("the timestamp authority's process did not start")
        self.url: str = self._control.recv()
        self.pid: int = self._process.pid or 0
        return self

    def __exit__(self, *exc: object) -> None:
        self._control.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _serve_tsa(ca_key_pem: bytes, ca_cert_pem: bytes, control: Connection) -> None:
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    with LocalTsa(ca_key, x509.load_pem_x509_certificate(ca_cert_pem)) as tsa:
        control.send(tsa.url)
        control.recv()  # until the benchmark is done


def _timed(seconds: float, sign: Callable[[], object], tsa_pid: int) -> dict:
    times: list[float] = []
    # CPU from /proc/<pid>/stat: this process's is the signer's (SoftHSM2 is a library in it).
    cpu_before, tsa_before = _cpu_seconds(os.getpid()), _cpu_seconds(tsa_pid)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        sign()
        times.append((time.perf_counter() - started) * 1000)
    cpu, tsa_cpu = _cpu_seconds(os.getpid()) - cpu_before, _cpu_seconds(tsa_pid) - tsa_before
    times.sort()
    return {
        "documents": len(times),
        "cpu_ms": cpu * 1000 / len(times),
        "tsa_cpu_ms": tsa_cpu * 1000 / len(times),
        "ms_mean": statistics.fmean(times),
        "ms_p50": times[len(times) // 2],
        "ms_p99": times[min(len(times) - 1, int(len(times) * 0.99))],
        "signatures_per_s": len(times) / (sum(times) / 1000),
    }


def print_signing(results: dict) -> None:
    """Besides the wall-clock figures, the signer's CPU per document and what it allows on one
    core (1000 / CPU ms): on a loaded machine the wall clock also counts the waits for a core."""
    print()
    print("PAdES B-T through PKCS#11 (SoftHSM2), local TSA in its own process, one thread; remote: the service's "
          "share; CPU ms per document: the signer's, then the TSA's:")
    print(f"{'key':<14}{'docs':>7}{'ms/doc mean':>13}{'p50':>8}{'p99':>8}{'sig/s':>8}{'CPU ms':>8}{'TSA CPU':>9}"
          f"{'sig/s/core':>12}   target <= {TARGETS['pades_b_t_ms']} ms, >= {TARGETS['signatures_per_s']}/s: "
          "wall, CPU")
    for label, r in results.items():
        wall_ok = r["ms_mean"] <= TARGETS["pades_b_t_ms"] and r["signatures_per_s"] >= TARGETS["signatures_per_s"]
        per_core = 1000 / r["cpu_ms"] if r["cpu_ms"] else 0.0
        cpu_ok = r["cpu_ms"] <= TARGETS["pades_b_t_ms"] and per_core >= TARGETS["signatures_per_s"]
        print(f"{label:<14}{r['documents']:>7}{r['ms_mean']:>13.1f}{r['ms_p50']:>8.1f}{r['ms_p99']:>8.1f}"
              f"{r['signatures_per_s']:>8.1f}{r['cpu_ms']:>8.1f}{r['tsa_cpu_ms']:>9.1f}{per_core:>12.1f}   "
              f"{'ok' if wall_ok else 'BELOW TARGET'}, {'ok' if cpu_ok else 'BELOW TARGET'}")
