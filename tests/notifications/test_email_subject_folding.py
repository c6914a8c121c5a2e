"""A Vietnamese e-mail subject too long for one line arrives as it was rendered: Python's
e-mail policy, folding it into encoded words, drops the space where it breaks the line."""

from __future__ import annotations

import uuid
from email import message_from_bytes, policy

import pytest

from motcua.notifications.adapters.base import Outgoing
from motcua.notifications.adapters.email import SmtpSettings, build_message, wire_bytes

SETTINGS = SmtpSettings(host="x", sender="mot-cua@thanhhoa.gov.vn")


@pytest.mark.parametrize("subject", [
    "Yêu cầu ký số: Quyết định công nhận kết quả — hộ bà Đỗ Thị Hường.pdf",
    "Hồ sơ 000.00.12.H56-260105-0001 cần bổ sung giấy tờ: bản sao Giấy chứng nhận quyền sử dụng đất, "
    "bản vẽ sơ đồ thửa đất của ông Nguyễn Văn Bình",
    "Mật khẩu tài khoản Dịch vụ công đã được thay đổi",
    "Ho so 000.00.12.H56-260105-0001 da co ket qua",
])
def test_the_subject_reads_back_exactly_and_its_lines_stay_short(subject):
    mail = build_message(SETTINGS, Outgoing(uuid.uuid4(), "dan@example.vn", subject, "Nội dung", "k", 1))
    data = wire_bytes(SETTINGS, mail)
    lines = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"Subject: "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(b" "))
    assert all(line.isascii() and len(line) <= 78 for line in lines[start:end])
    assert message_from_bytes(data, policy=policy.default)["subject"] == subject
