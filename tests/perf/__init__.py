"""Benchmarks (`make bench`): not collected by pytest, never part of `make test`."""
