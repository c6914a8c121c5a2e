"""Which key a signature uses, and who may use it: the signing service's rules, pure."""

from __future__ import annotations

import pytest

from motcua.kernel.context import Actor
from motcua.kernel.errors import PermissionDenied
from motcua.signing.authority import choose_key
from motcua.signing.domain import KeyOwnership, NoSigningKey, UnknownSigningKey

PROVINCE, COMMUNE = "000.00.00.H56", "000.21.30.H56"
HOLDER = "3f0c1f8e-8d7e-4a57-9a51-6a3f1d2b7c10"
SEAL = ("dossier_result", "certified_copy")
KEYS = {
    "agency-seal": KeyOwnership(agency_id=PROVINCE, purposes=SEAL),
    "province-copies": KeyOwnership(agency_id=PROVINCE, purposes=("certified_copy",)),
    "seal-000-21-30-h56": KeyOwnership(agency_id=COMMUNE, purposes=SEAL),
    "ha-ca-nhan": KeyOwnership(holder_account_id=HOLDER, purposes=("personal_approval", "certified_copy")),
}
PROVINCE_LEADER = Actor(subject="a1", agency_id=PROVINCE, roles=("leader",))
COMMUNE_DESK = Actor(subject="a2", agency_id=COMMUNE, roles=("desk_officer",))
HOLDER_ACTOR = Actor(subject=HOLDER, agency_id=COMMUNE, roles=("specialist",))
COMMUNE_ADMIN = Actor(subject="a3", agency_id=COMMUNE, roles=("administrator",))


def refusal(call) -> str:
    with pytest.raises(PermissionDenied) as refused:
        call()
    return refused.value.error_reason


def test_without_a_key_named_the_agencys_seal_signs_the_preferred_one_first():
    assert choose_key(PROVINCE_LEADER, KEYS, "certified_copy", preferred="agency-seal")[0] == "agency-seal"
    assert choose_key(PROVINCE_LEADER, KEYS, "certified_copy")[0] == "agency-seal"  # then by key id
    assert choose_key(COMMUNE_DESK, KEYS, "dossier_result", agency_id=COMMUNE)[0] == "seal-000-21-30-h56"


def test_a_persons_own_key_comes_first_unless_an_agency_is_named():
    assert choose_key(HOLDER_ACTOR, KEYS, "certified_copy")[0] == "ha-ca-nhan"
    assert choose_key(HOLDER_ACTOR, KEYS, "certified_copy", agency_id=COMMUNE)[0] == "seal-000-21-30-h56"


def test_another_agencys_key_or_another_persons_key_is_not_owned_whatever_the_role():
    for actor in (COMMUNE_DESK, COMMUNE_ADMIN):
        assert (
            refusal(lambda actor=actor: choose_key(actor, KEYS, "certified_copy", key_id="agency-seal"))
            == "KEY_NOT_OWNED"
        )
    assert refusal(lambda: choose_key(COMMUNE_DESK, KEYS, "personal_approval", key_id="ha-ca-nhan")) == "KEY_NOT_OWNED"
    assert refusal(lambda: choose_key(COMMUNE_DESK, KEYS, "certified_copy", agency_id=PROVINCE)) == "AGENCY_SCOPE"
    # A person's own key is not their agency's seal.
    assert refusal(lambda: choose_key(HOLDER_ACTOR, KEYS, "certified_copy", key_id="ha-ca-nhan", agency_id=COMMUNE)) \
        == "KEY_NOT_OWNED"


def test_a_purpose_the_key_does_not_allow():
    assert refusal(lambda: choose_key(PROVINCE_LEADER, KEYS, "dossier_result", key_id="province-copies")) \
        == "PURPOSE_NOT_ALLOWED"


def test_no_key_for_the_purpose_names_the_agency_and_purpose():
    with pytest.raises(NoSigningKey, match=f"{COMMUNE}.*PERSONAL_APPROVAL"):
        choose_key(COMMUNE_DESK, KEYS, "personal_approval")
    with pytest.raises(UnknownSigningKey):
        choose_key(PROVINCE_LEADER, KEYS, "certified_copy", key_id="khong-co")


def test_an_issuer_makes_the_agencys_seal_only_when_it_has_none():
    issued = []

    def issue(agency: str, purpose: str):
        issued.append((agency, purpose))
        return "seal-000-22-40-h56", KeyOwnership(agency_id=agency, purposes=SEAL)

    other = Actor(subject="a4", agency_id="000.22.40.H56", roles=("desk_officer",))
    assert choose_key(other, KEYS, "certified_copy", issue=issue)[0] == "seal-000-22-40-h56"
    assert choose_key(COMMUNE_DESK, KEYS, "certified_copy", issue=issue)[0] == "seal-000-21-30-h56"
    assert issued == [("000.22.40.H56", "certified_copy")]
