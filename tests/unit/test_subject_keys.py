"""Sealing personal fields under a data subject's key, and wrapping that key by a key-encryption
key: pure functions, no database (kernel.subject_keys)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from motcua.kernel.config import ConfigError
from motcua.kernel.subject_keys import (
    MASKED,
    SEALED,
    KeyEncryptionKeys,
    PersonalData,
    PersonalField,
    _BoundedCache,
    seal,
    unseal,
    unwrap_key,
    wrap_key,
)

NAME = "Nguyễn Thị Hồng Nhung"


class Keys:
    """Data keys in a dict: ``erase`` forgets one."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}

    def key_for_writing(self, subject_id: str, used_by: tuple[Any, int] | None = None) -> bytes:
        return self.keys.setdefault(subject_id, os.urandom(32))

    def key_for_reading(self, subject_id: str) -> bytes | None:
        return self.keys.get(subject_id)


def personal(keys: Keys) -> PersonalData:
    return PersonalData({"t": [PersonalField("applicant", ("full_name", "phone"))]}, keys)


def test_a_sealed_field_opens_with_its_key_and_context_only():
    key = os.urandom(32)
    sealed = seal(key, {"full_name": NAME}, "id:1:applicant")
    assert NAME not in sealed and unseal(key, sealed, "id:1:applicant") == {"full_name": NAME}
    with pytest.raises(InvalidTag):
        unseal(os.urandom(32), sealed, "id:1:applicant")
    with pytest.raises(InvalidTag):  # moved to another event
        unseal(key, sealed, "id:2:applicant")


def test_the_state_keeps_clear_fields_and_seals_personal_ones_then_masks_them_once_erased():
    keys = Keys()
    state = {"applicant": {"kind": "citizen", "subject_id": "person:x", "full_name": NAME, "phone": "0912345678"},
             "channel": "desk"}
    personal(keys).seal_state("t", "id", 1, state)
    stored = repr(state)
    assert NAME not in stored and "0912345678" not in stored
    assert state["applicant"]["kind"] == "citizen" and SEALED in state["applicant"]

    opened = {"applicant": dict(state["applicant"])}
    personal(keys).unseal_state("t", "id", 1, opened)
    assert opened["applicant"] == {"kind": "citizen", "subject_id": "person:x", "full_name": NAME,
                                   "phone": "0912345678"}

    del keys.keys["person:x"]
    masked = {"applicant": dict(state["applicant"])}
    personal(keys).unseal_state("t", "id", 1, masked)
    assert masked["applicant"] == {"kind": "citizen", "subject_id": "person:x", "full_name": MASKED,
                                   "phone": MASKED}


def test_a_plaintext_state_from_before_sealing_reads_as_it_was():
    old = {"applicant": {"kind": "citizen", "full_name": NAME}}
    personal(Keys()).unseal_state("t", "id", 1, old)
    assert old == {"applicant": {"kind": "citizen", "full_name": NAME}}


def test_a_key_wrapped_by_an_older_kek_unwraps_while_new_ones_use_the_current():
    old = KeyEncryptionKeys("k1", {"k1": os.urandom(32)})
    data_key = os.urandom(32)
    kek_id, wrapped = wrap_key(old, "account:a", data_key)
    rotated = KeyEncryptionKeys("k2", {"k1": old.keys["k1"], "k2": os.urandom(32)})
    assert unwrap_key(rotated, "account:a", kek_id, wrapped) == data_key
    assert wrap_key(rotated, "account:a", data_key)[0] == "k2"
    with pytest.raises(ConfigError):  # bound to its subject
        unwrap_key(rotated, "account:b", kek_id, wrapped)
    with pytest.raises(ConfigError):
        unwrap_key(KeyEncryptionKeys("k2", {"k2": rotated.keys["k2"]}), "account:a", kek_id, wrapped)


def test_keks_from_a_directory_take_the_last_by_name_unless_told(tmp_path):
    with pytest.raises(ConfigError):
        KeyEncryptionKeys.from_directory(tmp_path)
    generated = KeyEncryptionKeys.from_directory(tmp_path, generate=True)
    assert generated.current_id == "k1"
    (tmp_path / "k2.key").write_text((tmp_path / "k1.key").read_text())
    assert KeyEncryptionKeys.from_directory(tmp_path).current_id == "k2"
    assert KeyEncryptionKeys.from_directory(tmp_path, "k1").current_id == "k1"
    with pytest.raises(ConfigError):
        KeyEncryptionKeys.from_directory(tmp_path, "k9")


def test_the_cache_is_bounded_and_forgets_old_entries():
    now = [0.0]
    cache = _BoundedCache(2, 60.0, clock=lambda: now[0])
    for subject in ("a", "b", "c"):
        cache.put(subject, subject.encode())
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") == b"c"
    now[0] = 61.0
    assert cache.get("c") is None


def test_a_files_bytes_open_with_their_key_where_they_are_kept_only():
    from motcua.kernel.subject_keys import seal_bytes, unseal_bytes

    key, content = os.urandom(32), b"%PDF-1.7 " + NAME.encode()
    sealed = seal_bytes(key, content, "abc.tag")
    assert NAME.encode() not in sealed and unseal_bytes(key, sealed, "abc.tag") == content
    with pytest.raises(InvalidTag):
        unseal_bytes(key, sealed, "abc.other")
