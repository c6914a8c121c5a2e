"""Templates and notifications without servers: rendering, checks, versions, dates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from motcua.kernel.config import ConfigError, Settings
from motcua.kernel.errors import InvalidArgument, InvalidTransition
from motcua.notifications.config import NotificationSettings
from motcua.notifications.domain import (
    DEFAULT_TEMPLATES,
    DELIVERED,
    IN_APP,
    QUEUED,
    SMS,
    MissingParameters,
    Notification,
    Template,
    check_template_text,
    format_date,
    format_time,
    placeholders,
    render,
)

VN = timezone(timedelta(hours=7))


def violations(error: InvalidArgument) -> dict[str, str]:
    found: dict[str, str] = {}
    for v in error.violations:
        found[v.field] = (found[v.field] + " | " if v.field in found else "") + v.description
    return found


def test_render_fills_every_placeholder_and_inserts_values_verbatim():
    text = "Hồ sơ {{dossier_code}} đã được tiếp nhận. Ngày hẹn trả kết quả: {{ appointed_date }}."
    assert placeholders(text) == ["dossier_code", "appointed_date"]
    assert (
        render(text, {"dossier_code": "000.00.12.H56-260105-0001", "appointed_date": "12/01/2026", "unused": "x"})
        == "Hồ sơ 000.00.12.H56-260105-0001 đã được tiếp nhận. Ngày hẹn trả kết quả: 12/01/2026."
    )
    # A value is never read as a placeholder; an empty value is a value.
    assert render("{{a}}-{{b}}", {"a": "{{b}}", "b": ""}) == "{{b}}-"


def test_render_names_every_missing_placeholder_once_in_order():
    with pytest.raises(MissingParameters) as failure:
        render(
            "Kính gửi {{ho_ten}}: hồ sơ {{dossier_code}}, {{ho_ten}}, hẹn {{appointed_date}}",
            {"dossier_code": "X"},
            "thu_moi v3",
        )
    error = failure.value
    assert isinstance(error, InvalidArgument)
    assert error.missing == ["ho_ten", "appointed_date"]
    assert violations(error) == {"parameters": "no value for {{ho_ten}}, {{appointed_date}} of template thu_moi v3"}


def test_template_texts_are_checked_for_malformed_and_unknown_placeholders():
    with pytest.raises(InvalidArgument) as failure:
        check_template_text("dossier_received", "Hồ sơ {{Ma_Ho_So}}", "Kính gửi {{ho_ten}}, hồ sơ {{dossier_code}} }}")
    found = violations(failure.value)
    assert "'{{Ma_Ho_So}}' at character 7 is not a placeholder" in found["subject"]
    assert (
        "{{ho_ten}} unknown: dossier_received templates can use {{dossier_code}}, {{appointed_date}}" in found["body"]
    )
    assert "'}}' at character 45 does not open or close a placeholder" in found["body"]
    # Keys the service does not fill itself may use any placeholder.
    check_template_text("thu_moi_hop", "", "Kính gửi {{ho_ten}}")
    with pytest.raises(InvalidArgument) as blank:
        check_template_text("X", "", "  ")
    assert set(violations(blank.value)) == {"key", "body"}


def test_every_default_template_is_valid_and_vietnamese():
    for text in DEFAULT_TEMPLATES:
        check_template_text(text.key, text.subject, text.body)
    (received,) = [t for t in DEFAULT_TEMPLATES if (t.key, t.channel) == ("dossier_received", IN_APP)]
    template = Template.write(received.key, received.channel, received.subject, received.body)
    rendered = template.render(
        {
            "dossier_code": "000.00.12.H56-260105-0001",
            "appointed_date": "12/01/2026",
            "appointed_time": "",
            "received_date": "",
            "agency_id": "",
        }
    )
    assert rendered.body == "Hồ sơ 000.00.12.H56-260105-0001 đã được tiếp nhận. Ngày hẹn trả kết quả: 12/01/2026."
    assert rendered.template_version == 1


def test_a_revision_is_a_new_version_and_notifications_record_the_version_that_rendered_them():
    template = Template.write("nhac_hen", IN_APP, "", "Hồ sơ {{dossier_code}}: hẹn {{appointed_date}}")
    first = template.render({"dossier_code": "A", "appointed_date": "01/02/2026"})
    assert template.revise("", "Hồ sơ {{dossier_code}} có ngày hẹn {{appointed_date}}") is True
    assert template.revise("", "Hồ sơ {{dossier_code}} có ngày hẹn {{appointed_date}}") is False  # same text
    second = template.render({"dossier_code": "A", "appointed_date": "01/02/2026"})
    assert (first.template_version, second.template_version) == (1, 2)
    assert second.body == "Hồ sơ A có ngày hẹn 01/02/2026"
    account = uuid.uuid4()
    notification = Notification.from_template("event:1", second, account)
    assert (notification.template_id, notification.template_version) == (template.id, 2)
    assert notification.state == DELIVERED  # in-app: the inbox is the channel
    # The same cause and recipient always give the same notification id.
    assert Notification.from_template("event:1", second, account).id == notification.id
    assert Notification.from_template("event:2", second, account).id != notification.id


def test_reading_is_for_in_app_notifications_and_happens_once():
    account = uuid.uuid4()
    in_app = Template.write("tin_nhan", IN_APP, "", "Xin chào").render({})
    notification = Notification.from_template("request:1", in_app, account)
    at = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert notification.mark_read(at) is True
    assert notification.mark_read(at + timedelta(hours=1)) is False
    assert notification.read_time == at

    sms = Notification.from_template(
        "request:2", Template.write("tin_nhan", SMS, "", "Xin chào").render({}), None, address="0912345678"
    )
    assert sms.state == QUEUED
    with pytest.raises(InvalidTransition):
        sms.mark_read(at)
    with pytest.raises(InvalidArgument, match="recipient_account_id"):
        Notification.from_template("request:3", in_app, None, address="0912345678")


@pytest.mark.parametrize(
    ("moment", "day", "time"),
    [
        (datetime(2026, 1, 12, 17, 0, tzinfo=VN), "12/01/2026", "17:00"),
        # Half past midnight in Hà Nội is still the day before in UTC: the text shows Vietnam's
        # date.
        (datetime(2026, 1, 11, 17, 30, tzinfo=UTC), "12/01/2026", "00:30"),
        (datetime(2026, 12, 31, 16, 59, tzinfo=UTC), "31/12/2026", "23:59"),
    ],
)
def test_dates_are_written_dd_mm_yyyy_in_vietnam_time(moment, day, time):
    assert format_date(moment) == day
    assert format_time(moment) == time


def test_service_settings():
    base = Settings.from_env(
        {
            "MOTCUA_SERVICE": "notifications",
            "POSTGRES_HOST": "h",
            "POSTGRES_PORT": "1",
            "POSTGRES_USER": "u",
            "MOTCUA_GRPC_WORKERS": "40",
        }
    )
    settings = NotificationSettings.from_env(base, {})
    assert (settings.inbox_max_streams, settings.inbox_max_streams_per_account) == (20, 3)
    assert format_date(datetime(2026, 1, 11, 17, 30, tzinfo=UTC), settings.zone) == "12/01/2026"
    utc = NotificationSettings.from_env(base, {"MOTCUA_TIMEZONE": "UTC", "MOTCUA_INBOX_MAX_STREAMS": "3"})
    assert format_date(datetime(2026, 1, 11, 17, 30, tzinfo=UTC), utc.zone) == "11/01/2026"
    assert utc.inbox_max_streams == 3
    assert settings.template_cache_seconds == 5.0
    assert NotificationSettings.from_env(base, {"MOTCUA_NOTIFY_TEMPLATE_CACHE": "0"}).template_cache_seconds == 0.0
    for env, name in [
        ({"MOTCUA_TIMEZONE": "Mars/Base"}, "MOTCUA_TIMEZONE"),
        ({"MOTCUA_NOTIFY_TEMPLATE_CACHE": "-1"}, "MOTCUA_NOTIFY_TEMPLATE_CACHE"),
        ({"MOTCUA_INBOX_MAX_STREAMS": "0"}, "MOTCUA_INBOX_MAX_STREAMS"),
        ({"MOTCUA_INBOX_MAX_STREAMS_PER_ACCOUNT": "0"}, "MOTCUA_INBOX_MAX_STREAMS_PER_ACCOUNT"),
    ]:
        with pytest.raises(ConfigError, match=name):
            NotificationSettings.from_env(base, env)
