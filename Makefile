# motcua — one-command local platform and test suite.
#   make run    install what is needed, start PostgreSQL, Kafka and every service
#   make stop   stop them
#   make test   the whole test suite on its own stack (ports apart from `make run`)
#   make bench  benchmarks with baselines; prints a table and writes JSON

SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS := .local/tools
UV := $(or $(shell command -v uv 2>/dev/null),$(TOOLS)/bin/uv)
export UV_PYTHON := 3.11

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^[^:]*:([a-z-]+):.*## /\1\t/' | sort | column -t -s $$'\t'

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

.PHONY: setup
setup: $(UV) ## install dependencies (locked), generate the gRPC stubs, install the docs page's assets
	$(UV) sync --frozen --quiet
	@$(MAKE) --no-print-directory gen gateway-ui

include mk/protos.mk
include mk/gateway.mk
include mk/stack.mk
include mk/charts.mk

.PHONY: test
test: setup lint-protos breaking-protos check-charts gateway-browser ## run the test suite (starts and stops its own PostgreSQL and Kafka)
	$(UV) run pytest $(PYTEST_ARGS)

.PHONY: bench
bench: setup ## benchmarks beside their baselines (pgbench, eventsourcing's default path)
	$(UV) run python -m tests.perf.bench $(BENCH_ARGS)
