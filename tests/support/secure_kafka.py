"""A second test broker that only answers over TLS with SASL (SCRAM-SHA-512 and PLAIN), the way
a production cluster (Strimzi, a managed Kafka) is reached.

Its certificates come from a throwaway CA written next to its data; the SCRAM user is written
into the storage when it is formatted (KRaft has no ZooKeeper to hold credentials). It keeps a
PLAINTEXT listener on 127.0.0.1 only for its own readiness check and replication; the platform's
clients are given the SASL_SSL one.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import ipaddress
import subprocess
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from motcua.devstack import Kafka, Profile, free_port
from motcua.kernel.config import KafkaSettings

SCRAM_USER = "motcua-dossiers"
SCRAM_PASSWORD = "mật-khẩu-thử"  # non-ASCII on purpose: SCRAM normalises it (SASLprep)
PLAIN_USER = "motcua-plain"
PLAIN_PASSWORD = "plain-secret"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_pem(path: Path, *items: bytes) -> Path:
    path.write_bytes(b"".join(items))
    return path


def make_certificates(folder: Path) -> tuple[Path, Path]:
    """A CA and a broker certificate for 127.0.0.1 and localhost: (ca.pem, broker key + chain)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("motcua test CA")).issuer_name(_name("motcua test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("kafka")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_file = _write_pem(folder / "ca.pem", ca.public_bytes(pem))
    keystore = _write_pem(folder / "broker.pem",
                          key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
                          cert.public_bytes(pem), ca.public_bytes(pem))
    return ca_file, keystore


class SecureKafka(Kafka):
    def __init__(self, base: Profile):
        super().__init__(dataclasses.replace(base, root=base.root / "secure-kafka", kafka_port=free_port(),
                                             controller_port=free_port(), ephemeral=True))
        self.sasl_port = free_port()
        self.sasl_bootstrap = f"127.0.0.1:{self.sasl_port}"
        self.ca_file, self.keystore = make_certificates(self.dir.parent / "tls")

    def client_settings(self, mechanism: str = "SCRAM-SHA-512", username: str = SCRAM_USER,
                        password: str = SCRAM_PASSWORD, **extra) -> KafkaSettings:
        """How a service reaches this broker, as KafkaSettings.from_env would read it."""
        return KafkaSettings(bootstrap=self.sasl_bootstrap, security_protocol="SASL_SSL", sasl_mechanism=mechanism,
                             sasl_username=username, sasl_password=password, ssl_cafile=str(self.ca_file), **extra)

    @staticmethod
    def client_env(settings: KafkaSettings) -> dict[str, str]:
        """The same settings as a service process's environment."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap,
            "MOTCUA_KAFKA_SECURITY_PROTOCOL": settings.security_protocol,
            "MOTCUA_KAFKA_SASL_MECHANISM": settings.sasl_mechanism,
            "MOTCUA_KAFKA_SASL_USERNAME": settings.sasl_username,
            "MOTCUA_KAFKA_SASL_PASSWORD": settings.sasl_password,
            "MOTCUA_KAFKA_SSL_CAFILE": settings.ssl_cafile,
            "MOTCUA_KAFKA_REPLICATION_FACTOR": str(settings.replication_factor),
            "MOTCUA_KAFKA_MIN_INSYNC_REPLICAS": str(settings.min_insync_replicas),
        }

    def _format(self, libs: Path) -> None:
        # As the base class, with the SCRAM user written into the new storage.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        cmd = self._java(libs, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                         f"--config={self.config_path}",
                         f"--add-scram=SCRAM-SHA-512=[name={SCRAM_USER},password={SCRAM_PASSWORD}]")
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed: {' '.join(cmd)}\n{res.stdout}{res.stderr}")

    def _server_properties(self) -> str:
        p, c, s = self.profile.kafka_port, self.profile.controller_port, self.sasl_port
        scram_login = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        plain_login = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
                       f'user_{PLAIN_USER}="{PLAIN_PASSWORD}";')
        base = super()._server_properties()
        base = base.replace(f"listeners=PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}",
                            f"listeners=PLAINTEXT://127.0.0.1:{p},SASL_SSL://127.0.0.1:{s},CONTROLLER://127.0.0.1:{c}")
        base = base.replace(f"advertised.listeners=PLAINTEXT://127.0.0.1:{p}",
                            f"advertised.listeners=PLAINTEXT://127.0.0.1:{p},SASL_SSL://127.0.0.1:{s}")
        base = base.replace("listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT")
        return base + f"""\
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram_login}
listener.name.sasl_ssl.plain.sasl.jaas.config={plain_login}
ssl.keystore.type=PEM
ssl.keystore.location={self.keystore}
ssl.client.auth=none
"""
