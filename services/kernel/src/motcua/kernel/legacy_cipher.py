"""Reading an event store that one store-wide key encrypted, after per-subject sealing
(``subject_keys``) took its place.

Events written before the change stay as written (the log is immutable and its audit hash
chain covers the stored bytes): each is an AES-GCM ciphertext under the store-wide key
(eventsourcing's ``AESCipher``). Events written after it are stored unencrypted, their
personal fields sealed under their subject's key. This cipher tells them apart by the
AES-GCM tag, which a stored plaintext passes with probability 2^-128: a ciphertext whose tag
checks under the old key is decrypted, anything else is read as it is. New events are
written as they are.

Set ``CIPHER_TOPIC`` to this class and ``CIPHER_KEY`` to the old store-wide key (base64) for
as long as the log holds events it encrypted.
"""

from __future__ import annotations

from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import Cipher
from eventsourcing.utils import Environment


class LegacyStoreCipher(Cipher):
    def __init__(self, environment: Environment) -> None:
        self._legacy = AESCipher(environment)

    def encrypt(self, plaintext: bytes) -> bytes:
        return plaintext

    def decrypt(self, ciphertext: bytes) -> bytes:
        try:
            return self._legacy.decrypt(ciphertext)
        except ValueError:  # not the old key's ciphertext: an event written after the change
            return ciphertext
