"""The chart's one message-size limit (config.maxMessageBytes): the same MOTCUA_MAX_MESSAGE_BYTES
for the gateway and every gRPC service, as their own parsers read it."""

from __future__ import annotations

import pytest

from motcua.gateway.config import GatewaySettings
from motcua.kernel.config import DEFAULT_MAX_MESSAGE_BYTES, Settings
from tests.charts.rendering import GRPC_SERVICES, needs_helm, render, render_error

pytestmark = needs_helm


def test_every_service_and_the_gateway_get_the_default_limit() -> None:
    rendered = render()
    assert GatewaySettings.from_env(rendered.environment("gateway")).max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES
    for service in GRPC_SERVICES:
        assert Settings.from_env(rendered.environment(service)).max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES


def test_one_value_sets_the_limit_everywhere() -> None:
    rendered = render({"config": {"maxMessageBytes": 33554432}})
    assert GatewaySettings.from_env(rendered.environment("gateway")).max_message_bytes == 33554432
    for service in GRPC_SERVICES:
        assert Settings.from_env(rendered.environment(service)).max_message_bytes == 33554432


@pytest.mark.parametrize("value", [1024, "16MiB"])
def test_the_values_schema_rejects_a_bad_limit(value) -> None:
    error = render_error({"config": {"maxMessageBytes": value}})
    assert "values don't meet the specifications of the schema" in error
    assert "maxMessageBytes" in error
