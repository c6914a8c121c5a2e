"""The one message-size limit, MOTCUA_MAX_MESSAGE_BYTES, as the kernel and the gateway read it."""

from __future__ import annotations

import pytest

from motcua.gateway.config import GatewaySettings
from motcua.kernel.config import DEFAULT_MAX_MESSAGE_BYTES, ConfigError, Settings
from motcua.kernel.grpc_client import message_size_options

BASE_ENV = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "5432", "POSTGRES_USER": "motcua", "MOTCUA_SERVICE": "a"}


def test_the_default_fits_a_10_mib_attachment_as_base64_json():
    assert DEFAULT_MAX_MESSAGE_BYTES >= 4 * -(-10 * 1024 * 1024 // 3) + 64 * 1024
    assert Settings.from_env(BASE_ENV).max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES
    assert GatewaySettings.from_env({}).max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES


def test_services_and_the_gateway_read_the_same_setting():
    env = {"MOTCUA_MAX_MESSAGE_BYTES": "33554432"}
    assert Settings.from_env({**BASE_ENV, **env}).max_message_bytes == 33554432
    assert GatewaySettings.from_env(env).max_message_bytes == 33554432
    assert dict(message_size_options(33554432)) == {"grpc.max_send_message_length": 33554432,
                                                     "grpc.max_receive_message_length": 33554432}


@pytest.mark.parametrize(("value", "message"), [("lots", "MOTCUA_MAX_MESSAGE_BYTES must be an integer"),
                                                ("1024", "MOTCUA_MAX_MESSAGE_BYTES must be at least 65536")])
def test_a_bad_limit_is_refused_by_name(value, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({**BASE_ENV, "MOTCUA_MAX_MESSAGE_BYTES": value})
    with pytest.raises(ConfigError, match=message):
        GatewaySettings.from_env({"MOTCUA_MAX_MESSAGE_BYTES": value})


def test_the_gateways_old_body_limit_is_refused_rather_than_ignored():
    with pytest.raises(ConfigError, match="MOTCUA_MAX_BODY_BYTES is replaced by MOTCUA_MAX_MESSAGE_BYTES"):
        GatewaySettings.from_env({"MOTCUA_MAX_BODY_BYTES": "4194304"})
