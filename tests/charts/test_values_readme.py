"""VALUES.md is what the @param comments of values.yaml give, and every @param names a key."""

from __future__ import annotations

import pytest

from tests.charts.values_readme import README, VALUES, render


def test_the_values_reference_is_up_to_date() -> None:
    assert README.read_text() == render(VALUES.read_text())


def test_a_changed_description_shows_as_drift() -> None:
    text = VALUES.read_text().replace("## @param kafka.securityProtocol MOTCUA_KAFKA_SECURITY_PROTOCOL",
                                      "## @param kafka.securityProtocol Giao thức MOTCUA_KAFKA_SECURITY_PROTOCOL")
    assert "Giao thức MOTCUA_KAFKA_SECURITY_PROTOCOL" in render(text)
    assert render(text) != README.read_text()


def test_a_param_naming_no_key_is_refused() -> None:
    with pytest.raises(SystemExit, match="kafka.nothing"):
        render("## @section Kafka\nkafka:\n  ## @param kafka.nothing A key that is not there\n  bootstrapServers: ''\n")
