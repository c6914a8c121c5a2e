"""A signed checkpoint of one service's hash chain, as the signing service records it.

Recorded in the signing service's own event log (so it is sealed by that log's chain, too),
one aggregate per head: a head delivered again finds its checkpoint recorded and is published
again as it was, never signed twice.
"""

from __future__ import annotations

import base64
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class AuditCheckpoint(Aggregate):
    @staticmethod
    def create_id(service: str, database: str, position: int, **_: object) -> UUID:
        return uuid5(NAMESPACE_URL, f"motcua:audit-checkpoint:{service}:{database}:{position}")

    @event("Signed")
    def __init__(self, service: str, database: str, position: int, digest_hex: str, sealed_count: int,
                 sealed_at: str, key_id: str, signature_base64: str, certificates_base64: list[str],
                 timestamp_token_base64: str, signed_at: str) -> None:
        self.service = service
        self.database = database
        self.position = position
        self.digest_hex = digest_hex
        self.sealed_count = sealed_count
        self.sealed_at = sealed_at
        self.key_id = key_id
        self.signature_base64 = signature_base64
        self.certificates_base64 = list(certificates_base64)
        self.timestamp_token_base64 = timestamp_token_base64
        self.signed_at = signed_at

    @classmethod
    def sign(cls, service: str, database: str, position: int, digest: bytes, sealed_count: int, sealed_at: str,
             key_id: str, signature: bytes, certificates: list[bytes], timestamp_token: bytes,
             signed_at: str) -> AuditCheckpoint:
        return cls(service=service, database=database, position=position, digest_hex=digest.hex(),
                   sealed_count=sealed_count, sealed_at=sealed_at, key_id=key_id, signature_base64=_b64(signature),
                   certificates_base64=[_b64(c) for c in certificates],
                   timestamp_token_base64=_b64(timestamp_token), signed_at=signed_at)

    @property
    def digest(self) -> bytes:
        return bytes.fromhex(self.digest_hex)

    @property
    def signature(self) -> bytes:
        return base64.b64decode(self.signature_base64)

    @property
    def certificates(self) -> list[bytes]:
        return [base64.b64decode(c) for c in self.certificates_base64]

    @property
    def timestamp_token(self) -> bytes:
        return base64.b64decode(self.timestamp_token_base64)
