"""The e-mail's MIME boundary is chosen, not searched for: one starting "=_", which no
quoted-printable part can contain, so a text that imitates it still reads back part by part."""

from __future__ import annotations

import email
import uuid
from email import policy

from motcua.notifications.adapters.base import Outgoing
from motcua.notifications.adapters.email import SmtpSettings, build_message, wire_bytes


def test_a_text_imitating_the_boundary_reads_back_as_written():
    settings = SmtpSettings(host="127.0.0.1")
    body = "Kính gửi Ông/Bà Phạm Thị Thu,\n--=_motcua_\n=_motcua_0123456789abcdef0123456789abcdef--"
    mail = build_message(settings, Outgoing(notification_id=uuid.uuid4(), address="thu@example.vn",
                                            subject="Hồ sơ =_motcua_ đã có kết quả", body=body,
                                            template_key="ket_qua", template_version=1, parameters={}))
    boundary = mail.boundary
    assert boundary.startswith("=_")
    parsed = email.message_from_bytes(wire_bytes(settings, mail), policy=policy.default)
    plain, html = list(parsed.iter_parts())
    assert plain.get_content().replace("\r\n", "\n") == body
    assert "Phạm Thị Thu" in html.get_content()
    assert str(parsed["Subject"]) == "Hồ sơ =_motcua_ đã có kết quả"
