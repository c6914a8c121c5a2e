"""The e-mail written directly as SMTP's bytes (pure: no server): whatever the text, a mail
client reads back the subject, sender and both parts exactly as rendered, every line ends in
CRLF within 78 characters (only the Message-ID and the boundary parameter go past), and a
line break in a text never starts a header of its own."""

from __future__ import annotations

import email
import uuid
from email import policy

import pytest

from motcua.notifications.adapters.base import Outgoing, PermanentFailure
from motcua.notifications.adapters.email import SmtpSettings, build_message, wire_bytes

TEXTS = [
    ("Hồ sơ 000.00.12.H56-260105-0001 đã có kết quả", "Kính gửi Ông/Bà,\nHồ sơ đã có kết quả.\nTrân trọng."),
    ("Ho so " + "H56-0001 da co ket qua " * 12, "a" * 500),  # a long ASCII subject, one long line
    ("Ạ" * 120, "\n\nDòng cuối có khoảng trắng  \n."),  # characters of 3 bytes; trailing blanks; a lone dot
    ("Thuế = 1.500.000 đồng; =?utf-8?b?gia?=", "=_motcua_ =3D =?utf-8?q?x?= \t tab"),  # what encoders quote
    ("Tiếng Việt tổ hợp: Hồ sơ", "Chữ tổ hợp: Hồ sơ, Nguyễn"),  # combining marks (NFD)
    ("x", ""),
]


@pytest.mark.parametrize(("subject", "body"), TEXTS)
@pytest.mark.parametrize("sender_name", ["Bộ phận Một cửa tỉnh Hà Nam",
                                         "Mot cua (UBND)"])
def test_the_message_reads_back_as_rendered_within_the_line_limits(subject, body, sender_name):
    settings = SmtpSettings(host="x", sender="mot-cua@hanam.gov.vn", sender_name=sender_name)
    mail = build_message(settings, Outgoing(uuid.uuid4(), "dan@example.vn", subject, body, "k", 1))
    wire = wire_bytes(settings, mail)
    assert wire.isascii()
    assert b"\n" not in wire.replace(b"\r\n", b"") and b"\r" not in wire.replace(b"\r\n", b"")
    assert [line[:30] for line in wire.split(b"\r\n") if len(line) > 78 and not line.startswith(b"Message-ID: ")
            and b"boundary=" not in line] == []

    received = email.message_from_bytes(wire, policy=policy.default)
    assert received["Subject"] == subject
    assert received["From"].addresses[0].display_name == sender_name
    assert received["From"].addresses[0].addr_spec == "mot-cua@hanam.gov.vn"
    assert received["To"] == "dan@example.vn"
    assert received["Message-ID"] == mail.message_id
    assert received.get_content_type() == "multipart/alternative"
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n") == body
    assert received.get_body(("html",)).get_content_type() == "text/html"
    assert [part.defects for part in received.walk()] == [[], [], []]


def test_a_line_break_in_the_subject_starts_no_header():
    settings = SmtpSettings(host="x")
    mail = build_message(settings, Outgoing(uuid.uuid4(), "dan@example.vn", "Kết quả\r\nBcc: ke-gian@example.vn",
                                            "Nội dung", "k", 1))
    received = email.message_from_bytes(mail.data, policy=policy.default)
    assert received["Bcc"] is None
    assert received["Subject"] == "Kết quả\r\nBcc: ke-gian@example.vn"


def test_an_address_with_a_line_break_is_refused_for_good():
    with pytest.raises(PermanentFailure):
        build_message(SmtpSettings(host="x"), Outgoing(uuid.uuid4(), "dan@example.vn\r\nBcc: x@example.vn",
                                                       "Kết quả", "Nội dung", "k", 1))
