"""The e-mail as written on the wire (pure: no server): a long Vietnamese subject in RFC 2047
encoded words of at most 75 characters on folded lines, the Message-ID on one line, every
line within the limits, and a mail client reading back what was rendered."""

from __future__ import annotations

import email
import email.policy
import re
import uuid

from motcua.notifications.adapters.base import Outgoing
from motcua.notifications.adapters.email import SmtpSettings, build_message, wire_bytes

SUBJECT = "Thông báo kết quả giải quyết hồ sơ đăng ký hộ kinh doanh H56.22-261207-0001 của Ông Nguyễn Văn Ân"
BODY = "Kính gửi Ông/Bà,\n" + "Hồ sơ đã có kết quả, mời Ông/Bà đến nhận tại Bộ phận Một cửa. " * 20 + "\nTrân trọng."


def test_long_vietnamese_headers_are_encoded_words_and_read_back_as_written():
    settings = SmtpSettings(host="x", sender="mot-cua@hanam.gov.vn", sender_name="Bộ phận Một cửa")
    mail = build_message(settings, Outgoing(notification_id=uuid.uuid4(), address="an@example.vn", subject=SUBJECT,
                                            body=BODY, template_key="k", template_version=1))
    wire = wire_bytes(settings, mail)
    assert wire.isascii()
    lines = wire.split(b"\r\n")
    # Only the Message-ID and the boundary parameter, never folded inside, go past 78.
    assert [line[:20] for line in lines if len(line) > 78 and not line.startswith(b"Message-ID: ")
            and b"boundary=" not in line] == []
    assert all(len(word) <= 75 for word in re.findall(rb"=\?utf-8\?[bq]\?[^?]*\?=", wire))
    assert sum(1 for line in lines if line.startswith(b"MIME-Version:")) == 1
    (message_id,) = [line for line in lines if line.startswith(b"Message-ID: <")]  # not folded

    received = email.message_from_bytes(wire, policy=email.policy.default)
    assert received["Subject"] == SUBJECT
    assert received["From"].addresses[0].display_name == settings.sender_name
    assert received["From"].addresses[0].addr_spec == "mot-cua@hanam.gov.vn"
    assert received["Message-ID"] == message_id.decode().removeprefix("Message-ID: ") == mail.message_id
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == BODY
    assert "Trân trọng." in received.get_body(("html",)).get_content()
