"""Password hashes: argon2id with parameters no weaker than Keycloak's defaults.

Keycloak (24 and later) hashes with argon2id, memory 7168 KiB, 5 iterations, parallelism 1,
hash length 32 (its server configuration guide, provider `password-hashing`, `argon2`).
A hash made with weaker parameters than the configured ones is replaced at the next
successful login (``needs_rehash``).
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MINIMUM = (7168, 5, 1, 32)  # memory KiB, iterations, parallelism, hash length


@dataclass(frozen=True)
class HashParameters:
    memory_kib: int = 7168
    iterations: int = 5
    parallelism: int = 1
    hash_length: int = 32

    def weaker_than_minimum(self) -> str:
        """What falls below the minimum, or ''."""
        names = ("memory", "iterations", "hash length")
        values = (self.memory_kib, self.iterations, self.hash_length)
        minimum = (MINIMUM[0], MINIMUM[1], MINIMUM[3])
        return ", ".join(f"{n} {v} < {m}" for n, v, m in zip(names, values, minimum, strict=True) if v < m)


class Passwords:
    def __init__(self, parameters: HashParameters = HashParameters()) -> None:
        self._hasher = PasswordHasher(
            time_cost=parameters.iterations,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.parallelism,
            hash_len=parameters.hash_length,
            type=Type.ID,
        )
        # Checked against when the login is unknown, so that the answer takes as long.
        self._decoy = self._hasher.hash("no account has this password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def waste_time(self, password: str) -> None:
        self.verify(self._decoy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
