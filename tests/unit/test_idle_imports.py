"""What a service process imports to start: libraries it needs only on rare calls stay out until
then (idle memory, tests/perf/bench.py's idle RSS)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from motcua.kernel.runtime import release_freed_memory


@pytest.mark.parametrize("service", ["procedures", "dossiers", "identity", "notifications", "signing"])
def test_starting_a_service_imports_neither_the_holiday_tables_nor_the_tracing_sdk(service):
    probe = (f"import sys, motcua.{service}.bootstrap; "
             "print(' '.join(m for m in ('holidays', 'opentelemetry.sdk.trace') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == []


def test_seeding_public_holidays_imports_the_tables_when_asked():
    from motcua.procedures.holiday_seed import public_holidays

    days_off, _ = public_holidays(2026)
    assert any(d["date"] == "2026-09-02" for d in days_off)  # Quốc khánh


def test_freed_memory_is_released_without_error():
    release_freed_memory()  # glibc's malloc_trim here; a no-op where there is none
