"""The keys tokens are signed with: PEM files in one folder, the newest signs, all verify.

Rotation is adding a key file whose name sorts last: it signs from then on, and the
older keys stay in the JWKS so the tokens they signed validate until they expire; an
old key is removed once its last token has expired.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySetSerialization

from motcua.kernel.config import ConfigError

CURVE = "P-256"  # ES256


class SigningKeys:
    def __init__(self, keys: list[ECKey]) -> None:
        if not keys:
            raise ConfigError("no token signing key")
        self.keys = keys

    @property
    def active(self) -> ECKey:
        return self.keys[-1]

    @staticmethod
    def key_id(key: ECKey) -> str:
        return key.thumbprint()  # RFC 7638: the same key always has the same id

    def jwks(self) -> KeySetSerialization:
        """The public keys, as served at /.well-known/jwks.json."""
        return {"keys": [
            {**key.as_dict(private=False), "kid": self.key_id(key), "use": "sig", "alg": "ES256"}
            for key in self.keys
        ]}

    @classmethod
    def load(cls, directory: Path, generate: bool) -> SigningKeys:
        files = sorted(directory.glob("*.pem")) if directory.is_dir() else []
        if not files:
            if not generate:
                raise ConfigError(f"no token signing key (*.pem) in {directory}; "
                                  "add one or set MOTCUA_IDENTITY_DEV_KEYS=true")
            files = [_generate(directory)]
        keys = []
        for path in files:
            try:
                key = ECKey.import_key(path.read_bytes())
            except (JoseError, ValueError) as e:
                raise ConfigError(f"{path} is not an EC private key in PEM: {e}") from e
            if key.curve_name != CURVE or not key.is_private:
                raise ConfigError(f"{path} must be a {CURVE} private key")
            keys.append(key)
        return cls(keys)


def _generate(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-es256.pem"
    key = ECKey.generate_key(CURVE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.as_pem(private=True))
    return path
