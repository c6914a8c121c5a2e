"""The development PKI in-process: made once, reused, safe when several starts race, and never
written over someone's own key."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509

from motcua.signing import pki
from motcua.signing.config import SigningConfig


def test_made_once_then_reused(tmp_path):
    first = pki.ensure_dev_pki(tmp_path / "pki")
    files = {p.name: p.read_bytes() for p in (tmp_path / "pki").rglob("*.pem")}
    second = pki.ensure_dev_pki(tmp_path / "pki")
    assert (first.created, second.created) == (True, False)
    assert {p.name: p.read_bytes() for p in (tmp_path / "pki").rglob("*.pem")} == files
    assert set(files) == {"dev-root-ca.crt.pem", "dev-root-ca.key.pem", "agency-seal.crt.pem", "agency-seal.key.pem"}

    (pair,) = pki.load_key_pairs(first.keys_dir).values()
    assert pair.key_id == "agency-seal"
    names = pair.certificate.subject
    assert names.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "Ủy ban nhân dân tỉnh Thanh Hóa"
    assert names.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == "Ủy ban nhân dân tỉnh Thanh Hóa"
    (root,) = pki.load_certificates([first.root_certificate])
    assert pair.chain == (root,)
    usage = pair.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign


def test_concurrent_first_starts_make_one_pki(tmp_path):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: pki.ensure_dev_pki(tmp_path / "pki"), range(4)))
    assert sorted(r.created for r in results) == [False, False, False, True]
    pki.load_key_pairs(tmp_path / "pki" / "keys")  # the key and its certificate belong together


def test_a_half_made_pki_is_made_again(tmp_path):
    pki.ensure_dev_pki(tmp_path / "pki")
    (tmp_path / "pki" / "dev-root-ca.crt.pem").unlink()  # as if the process died before the last write
    assert pki.ensure_dev_pki(tmp_path / "pki").created
    (root,) = pki.load_certificates([tmp_path / "pki" / "dev-root-ca.crt.pem"])
    (pair,) = pki.load_key_pairs(tmp_path / "pki" / "keys").values()
    assert pair.certificate.issuer == root.subject


def test_someones_own_agency_seal_is_never_overwritten(tmp_path):
    ca_key, ca_cert = pki.create_root_ca("CA riêng", "Sở Thông tin và Truyền thông")
    key, cert = pki.issue_signing_certificate(ca_key, ca_cert, "Văn phòng UBND tỉnh", "UBND tỉnh")
    pki.write_key_pair(tmp_path / "pki" / "keys", "agency-seal", key, [cert, ca_cert])
    before = (tmp_path / "pki" / "keys" / "agency-seal.key.pem").read_bytes()
    with pytest.raises(pki.KeyMaterialError, match="MOTCUA_SIGNING_DEV_PKI=false"):
        pki.ensure_dev_pki(tmp_path / "pki")
    assert (tmp_path / "pki" / "keys" / "agency-seal.key.pem").read_bytes() == before


def test_a_certificate_that_is_not_the_keys_is_refused(tmp_path):
    ca_key, ca_cert = pki.create_root_ca("CA thử", "Thử")
    key, _ = pki.issue_signing_certificate(ca_key, ca_cert, "Một", "Thử")
    _, other = pki.issue_signing_certificate(ca_key, ca_cert, "Hai", "Thử")
    pki.write_key_pair(tmp_path, "mismatched", key, [other, ca_cert])
    with pytest.raises(pki.KeyMaterialError, match="mismatched"):
        pki.load_key_pairs(tmp_path)


def test_configuration_defaults_follow_the_signing_directory(tmp_path):
    config = SigningConfig.from_env({"MOTCUA_SIGNING_DIR": str(tmp_path)})
    assert config.keys_dir == tmp_path / "pki" / "keys"
    assert config.trust_roots == (tmp_path / "pki" / "dev-root-ca.crt.pem",)
    assert config.documents_dir == tmp_path / "documents"
    assert (config.default_key, config.tsa_url) == ("agency-seal", None)
    own = SigningConfig.from_env({"MOTCUA_SIGNING_DIR": str(tmp_path), "MOTCUA_SIGNING_DEV_PKI": "false"})
    assert own.trust_roots == ()


def test_every_key_needs_its_declaration_of_owner_and_purposes(tmp_path):
    made = pki.ensure_dev_pki(tmp_path / "pki")
    assert pki.load_ownerships(made.keys_dir, ["agency-seal"]) == {"agency-seal": pki.PROVINCE_SEAL}
    ca_key, ca_cert = pki.create_root_ca("CA thử nghiệm", "Tổ chức thử nghiệm")
    key, cert = pki.issue_signing_certificate(ca_key, ca_cert, "Con dấu không khai báo", "Tổ chức thử nghiệm")
    pki.write_key_pair(made.keys_dir, "khong-khai-bao", key, [cert, ca_cert])
    with pytest.raises(pki.KeyMaterialError, match="khong-khai-bao.owner.json"):
        pki.load_ownerships(made.keys_dir, pki.load_key_pairs(made.keys_dir))
    for declared, problem in (
        (
            {
                "agency_id": "000.00.00.H56",
                "holder_account_id": "3f0c1f8e-8d7e-4a57-9a51-6a3f1d2b7c10",
                "purposes": ["certified_copy"],
            },
            "exactly one",
        ),
        ({"agency_id": "000.00.00.H56", "purposes": ["everything"]}, "unknown purposes"),
        ({"agency_id": "000.00.00.H56", "purposes": []}, "purposes"),
        ({"agency_id": "Tỉnh Thanh Hóa", "purposes": ["certified_copy"]}, "agency identifier"),
    ):
        (made.keys_dir / "khong-khai-bao.owner.json").write_text(json.dumps(declared), encoding="utf-8")
        with pytest.raises(pki.KeyMaterialError, match=problem):
            pki.load_ownerships(made.keys_dir, ["khong-khai-bao"])


def test_a_development_pki_made_before_keys_had_owners_gets_the_province_seal_declared(tmp_path):
    made = pki.ensure_dev_pki(tmp_path / "pki")
    (made.keys_dir / "agency-seal.owner.json").unlink()
    pki.ensure_dev_pki(tmp_path / "pki")
    assert pki.read_ownership(made.keys_dir, "agency-seal") == pki.PROVINCE_SEAL


def test_an_agencys_development_seal_is_issued_once_even_when_asked_at_once(tmp_path):
    made = pki.ensure_dev_pki(tmp_path / "pki")
    with ThreadPoolExecutor(max_workers=4) as pool:
        seals = list(
            pool.map(
                lambda _: pki.ensure_dev_agency_seal(
                    made.directory, "000.21.30.H56", "Ủy ban nhân dân phường Hạc Thành"
                ),
                range(4),
            )
        )
    assert len({pair.fingerprint for pair, _ in seals}) == 1
    pair, ownership = seals[0]
    assert pair.key_id == "seal-000-21-30-h56"
    assert (ownership.agency_id, ownership.purposes) == ("000.21.30.H56",
                                                         ("dossier_result", "certified_copy", "dossier_form"))
    assert (
        pair.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        == "Ủy ban nhân dân phường Hạc Thành"
    )
    assert set(pki.load_ownerships(made.keys_dir, pki.load_key_pairs(made.keys_dir))) == {"agency-seal", pair.key_id}
