"""The hash chain's canonical encoding and digest (kernel chain): the fixed vector of
docs/audit-chain.md, and that every field counts."""

from __future__ import annotations

from uuid import UUID

import pytest

from motcua.kernel.chain import GENESIS, encode_record, record_digest

ORIGINATOR = UUID("0b6f3a52-8c1e-4d4a-9f1e-2a7c5d9e8b31")
TOPIC = "motcua.procedures.domain:Procedure.Created"
STATE = '{"name":"Cấp đổi giấy phép lái xe","_meta":{"actor":"officer-1"}}'.encode()

# The vector published in docs/audit-chain.md (checked there with xxd and sha256sum).
ENCODING_HEX = (
    "0000000000000001"  # notification id 1
    "0b6f3a528c1e4d4a9f1e2a7c5d9e8b31"  # originator id
    "0000000000000001"  # originator version 1
    "0000002a"  # topic: 42 bytes
    "6d6f746375612e70726f636564757265732e646f6d61696e3a50726f6365647572652e43726561746564"
    "0000004a"  # state: 74 bytes
    "7b226e616d65223a2243e1baa57020c491e1bb9569206769e1baa579207068c3a970206cc3a169207865222c"
    "225f6d657461223a7b226163746f72223a226f6666696365722d31227d7d"
)
FIRST_DIGEST = "3f8d65a977d5ca05491a5163b8dafcecfab64c9f289829c0d1f21185130ed87f"
SECOND_DIGEST = "c34ac876a16adf21a965ffe12cf4e3a2b13edc19ddc70c9857802a1e948d1145"


def test_the_encoding_of_the_documented_record_is_byte_for_byte_the_documented_one():
    assert encode_record(1, ORIGINATOR, 1, TOPIC, STATE).hex() == ENCODING_HEX


def test_the_documented_chain_of_two_records_has_the_documented_digests():
    first = record_digest(GENESIS, 1, ORIGINATOR, 1, TOPIC, STATE)
    second = record_digest(first, 3, ORIGINATOR, 2, "motcua.procedures.domain:Procedure.Renamed", b"{}")
    assert (first.hex(), second.hex()) == (FIRST_DIGEST, SECOND_DIGEST)


def test_the_originator_id_as_uuid_or_as_its_16_bytes_seals_alike():
    assert record_digest(GENESIS, 1, ORIGINATOR, 1, TOPIC, STATE) == record_digest(
        GENESIS, 1, ORIGINATOR.bytes, 1, TOPIC, STATE
    )


@pytest.mark.parametrize("change", [
    {"notification_id": 2},
    {"originator_id": UUID("0b6f3a52-8c1e-4d4a-9f1e-2a7c5d9e8b32")},
    {"originator_version": 2},
    {"topic": "motcua.procedures.domain:Procedure.Renamed"},
    {"state": STATE.replace("lái".encode(), b"lai")},
    {"previous": b"\x01" * 32},
])
def test_every_field_and_the_previous_digest_change_the_digest(change):
    record = {"previous": GENESIS, "notification_id": 1, "originator_id": ORIGINATOR, "originator_version": 1,
              "topic": TOPIC, "state": STATE}
    assert record_digest(**(record | change)).hex() != FIRST_DIGEST


def test_a_length_prefix_keeps_topic_and_state_apart():
    # Moving a byte from the end of the topic to the start of the state changes the digest.
    assert record_digest(GENESIS, 1, ORIGINATOR, 1, "ab", b"c") != record_digest(GENESIS, 1, ORIGINATOR, 1, "a", b"bc")


def test_malformed_ids_and_digests_are_refused():
    with pytest.raises(ValueError):
        encode_record(1, b"short", 1, TOPIC, STATE)
    with pytest.raises(ValueError):
        record_digest(b"short", 1, ORIGINATOR, 1, TOPIC, STATE)
