"""Pure parts of sending: phone numbers, addresses, backoff, rate limits, the life cycle."""

from __future__ import annotations

import email
import email.policy
import uuid
from datetime import UTC, datetime

import pytest

from motcua.kernel.errors import InvalidArgument, InvalidTransition
from motcua.kernel.text import unaccented
from motcua.notifications.adapters.base import Outgoing
from motcua.notifications.adapters.email import SmtpSettings, build_message
from motcua.notifications.delivery import RateLimiter, RetryPolicy
from motcua.notifications.domain import (
    BOUNCED,
    DELIVERED,
    EMAIL,
    QUEUED,
    SENDING,
    SENT,
    SMS,
    Notification,
    Template,
)
from motcua.notifications.phones import national_form, normalise_phone
from motcua.notifications.sending import normalise_address


@pytest.mark.parametrize(("raw", "e164"), [
    ("0912 345 678", "+84912345678"),
    ("0912.345.678", "+84912345678"),
    ("(091) 234-5678", "+84912345678"),
    ("84912345678", "+84912345678"),
    ("+84 912 345 678", "+84912345678"),
    ("+84 0912 345 678", "+84912345678"),
    ("0084912345678", "+84912345678"),
    ("01623456789", "+84323456789"),  # Viettel 0162 -> 032
    ("0123 456 7890", "+84834567890"),  # VinaPhone 0123 -> 083
    ("+84 1283456789", "+84783456789"),  # MobiFone 0128 -> 078
    ("0243 826 4000", "+842438264000"),  # Hà Nội fixed line
])
def test_vietnamese_numbers_are_written_in_e164_and_old_prefixes_mapped(raw, e164):
    assert normalise_phone(raw) == e164
    assert national_form(e164) == "0" + e164[3:]


@pytest.mark.parametrize("raw", ["", "0912 345 67", "091234567890", "+1 415 555 0100", "0112345678", "09l2345678",
                                 "0912345678; 0987654321"])
def test_other_numbers_are_refused_naming_the_field(raw):
    with pytest.raises(InvalidArgument) as failure:
        normalise_phone(raw, "phone")
    (violation,) = failure.value.violations
    assert (violation.field, violation.reason) == ("phone", "INVALID_PHONE_NUMBER")


def test_addresses_are_normalised_per_channel():
    assert normalise_address(SMS, "0987 654 321") == "+84987654321"
    assert normalise_address(EMAIL, " an@so.hanam.gov.vn ") == "an@so.hanam.gov.vn"
    for bad in ("an@", "an@localhost", "a b@x.vn", "an@x.vn, binh@x.vn"):
        with pytest.raises(InvalidArgument):
            normalise_address(EMAIL, bad)


def test_unaccented_keeps_case_and_spacing():
    assert unaccented("Hồ sơ ĐÃ tiếp nhận,  Đặng Thị Hà") == "Ho so DA tiep nhan,  Dang Thi Ha"


def test_backoff_grows_exponentially_with_full_jitter_and_honours_retry_after():
    policy = RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=10.0)
    assert [policy.delay(n, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]
    assert policy.delay(3, rand=lambda: 0.25) == 2.0
    assert policy.delay(1, retry_after=30, rand=lambda: 0.5) == 30


def test_the_rate_limiter_spaces_sends_beyond_the_burst():
    now = [0.0]
    limiter = RateLimiter(2.0, clock=lambda: now[0])
    assert [limiter.wait_time() for _ in range(2)] == [0.0, 0.0]
    assert limiter.wait_time() == pytest.approx(0.5)
    now[0] = 10.0
    assert limiter.wait_time() == 0.0
    assert RateLimiter(0).wait_time() == 0.0  # unlimited


def sms(address: str = "+84912345678") -> Notification:
    template = Template.write("thong_bao_thu", SMS, "", "Hồ sơ {{ma}}")
    return Notification.from_template(f"call:{uuid.uuid4()}", template.render({"ma": "X"}), None, address=address,
                                      parameters={"ma": "X"})


def test_the_life_cycle_goes_queued_sending_sent_delivered_and_receipts_repeat_harmlessly():
    n = sms()
    assert (n.state, n.is_pending, n.parameters) == (QUEUED, True, {"ma": "X"})
    assert n.start_attempt() == 1 and n.state == SENDING
    n.attempt_failed("HTTP 503", datetime.now(UTC))
    assert (n.state, n.last_error) == (QUEUED, "HTTP 503")
    assert n.start_attempt() == 2
    n.provider_accepted("esms", "abc")
    assert (n.state, n.provider_id, n.attempt_count) == (SENT, "abc", 2)
    assert n.report_delivery(True) is True and n.state == DELIVERED
    assert n.report_delivery(False, "late failure") is False and n.state == DELIVERED
    with pytest.raises(InvalidTransition):
        n.start_attempt()


def test_a_crashed_attempt_is_tried_again_and_a_refused_address_bounces():
    n = sms()
    n.start_attempt()
    assert n.is_pending  # "sending" when the sender died: the next leader tries again
    assert n.start_attempt() == 2
    n.give_up("eSMS 108: malformed phone number", bounced=True)
    assert (n.state, n.is_pending) == (BOUNCED, False)
    with pytest.raises(InvalidTransition):
        n.give_up("again")


def test_the_email_message_has_an_encoded_subject_and_text_and_html_parts():
    mail = build_message(SmtpSettings(host="x", sender="mot-cua@hanam.gov.vn"), Outgoing(
        notification_id=uuid.uuid4(), address="an@example.vn", subject="Kết quả hồ sơ <H56>",
        body="Dòng một\nDòng <hai>", template_key="k", template_version=1))
    wire = mail.data
    assert wire.isascii()
    assert b"Subject: =?utf-8?" in wire
    received = email.message_from_bytes(wire, policy=email.policy.default)  # as a mail client reads it
    assert received["Subject"] == "Kết quả hồ sơ <H56>"
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == "Dòng một\nDòng <hai>"
    assert received.get_body(("html",)).get_content().count("<p>") == 2
    assert "Dòng &lt;hai&gt;" in received.get_body(("html",)).get_content()
    assert received["Message-ID"].endswith("@hanam.gov.vn>")


def test_a_silent_provider_is_overdue_once_and_a_late_receipt_still_counts():
    n = sms()
    n.start_attempt()
    n.provider_accepted("esms", "abc", datetime.now(UTC))
    assert n.confirmation_overdue("900 s") is True
    assert (n.state, n.last_error) == (SENT, "not confirmed within 900 s")
    assert n.confirmation_overdue("900 s") is False
    assert n.report_delivery(True) is True and n.state == DELIVERED


def test_opting_out_skips_a_channel_but_only_redirects_a_statutory_notice():
    from motcua.notifications.domain import ZALO, ContactPoints

    contacts = ContactPoints(account_id=uuid.uuid4(), email="an@example.vn", phone="+84912345678", zalo_phone="",
                             opted_out=[SMS])
    assert contacts.reachable([ZALO, SMS, EMAIL], statutory=False) == [EMAIL]
    assert contacts.reachable([ZALO, SMS, EMAIL], statutory=True) == [EMAIL]  # redirected to e-mail
    assert contacts.reachable([SMS], statutory=False) == []
    assert contacts.reachable([SMS], statutory=True) == [SMS]  # nothing else reaches them: never dropped
    assert contacts.change("an@example.vn", "+84912345678", "", [SMS]) is False
    assert contacts.change("an@example.vn", "+84912345678", "", [SMS, EMAIL]) is True
    assert contacts.reachable([SMS, EMAIL], statutory=False) == []


def test_quiet_hours_end_at_their_end_the_same_night_or_the_next_morning():
    from datetime import time, timedelta, timezone

    from motcua.notifications.domain import quiet_until

    vn = timezone(timedelta(hours=7))
    night = (time(21), time(7))
    assert quiet_until(datetime(2026, 1, 5, 22, 30, tzinfo=vn), *night, vn) == datetime(2026, 1, 6, 7, tzinfo=vn)
    assert quiet_until(datetime(2026, 1, 6, 5, 0, tzinfo=vn), *night, vn) == datetime(2026, 1, 6, 7, tzinfo=vn)
    assert quiet_until(datetime(2026, 1, 6, 7, 0, tzinfo=vn), *night, vn) is None
    assert quiet_until(datetime(2026, 1, 6, 12, 0, tzinfo=vn), *night, vn) is None
    # 15:00 UTC is 22:00 in Hà Nội.
    assert quiet_until(datetime(2026, 1, 5, 15, 0, tzinfo=UTC), *night, vn) == datetime(2026, 1, 6, 7, tzinfo=vn)
    assert quiet_until(datetime(2026, 1, 6, 12, 0, tzinfo=vn), time(12), time(13), vn) == \
        datetime(2026, 1, 6, 13, tzinfo=vn)
    assert quiet_until(datetime(2026, 1, 6, 12, 0, tzinfo=vn), time(0), time(0), vn) is None


def test_with_a_key_the_email_carries_a_dkim_signature_that_verifies():
    import base64

    import dkim  # type: ignore[import-untyped]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from motcua.notifications.adapters.email import wire_bytes

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings = SmtpSettings(host="x", sender="mot-cua@hanam.gov.vn", dkim_domain="hanam.gov.vn",
                            dkim_selector="motcua2026", dkim_key=pem)
    mail = build_message(settings, Outgoing(
        notification_id=uuid.uuid4(), address="an@example.vn", subject="Hồ sơ H56-0001 đã có kết quả",
        body="Kính gửi Ông/Bà,\nHồ sơ đã có kết quả.", template_key="k", template_version=1))
    data = wire_bytes(settings, mail)
    assert data.startswith(b"DKIM-Signature: ") and b"d=hanam.gov.vn" in data and b"s=motcua2026" in data

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"motcua2026._domainkey.hanam.gov.vn."
        return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    assert dkim.verify(data, dnsfunc=dns)
    tampered = data.replace(b"Subject: ", b"Subject: [gia mao] ", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)
    assert wire_bytes(SmtpSettings(host="x"), mail) == mail.data  # no key: no signature
