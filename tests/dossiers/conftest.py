"""The ``office`` fixture: a fresh agency's office on the dossiers process of the test module's own
``processes`` fixture."""

from __future__ import annotations

import pytest

from tests.support.dossiers import fresh_agency

from .office import Office


@pytest.fixture
def office(processes) -> Office:
    return Office(processes["dossiers"], fresh_agency())
