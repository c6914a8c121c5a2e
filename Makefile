# motcua — one-command local platform and test suite.
#   make run    install what is needed, start PostgreSQL, Kafka and every service
#   make stop   stop them
#   make test   the whole test suite on its own stack (ports apart from `make run`)
#   make bench  benchmarks with baselines; prints a table and writes JSON
#   make fuzz   the REST API under schemathesis, 5,000 generated requests
#   make faults 10,000 dossier commands while Kafka, PostgreSQL and each service are killed

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
include mk/python.mk
include mk/image.mk
include mk/dss.mk
include mk/hsm.mk
include mk/k8s.mk

.PHONY: test
# The images (the platform's, about a minute; the development PostgreSQL and Kafka) are built and
# run by tests/image whenever make test runs as root, which mmdebstrap's root mode and runc need;
# elsewhere those tests say why they cannot run.
TEST_IMAGE := $(if $(filter 0,$(shell id -u)),image dev-images)
test: setup lint-python lint-imports lint-protos breaking-protos check-charts gateway-browser dss typescript-client $(TEST_IMAGE) ## run the test suite (starts and stops its own PostgreSQL and Kafka)
	$(UV) run pytest $(PYTEST_ARGS)

.PHONY: lint-imports
lint-imports: setup ## check that each service's layers import downwards only (the [tool.importlinter] contracts in pyproject.toml)
	$(UV) run lint-imports

# Sizes of the long runs (make test runs the same tests smaller: 500 cases, 300 commands).
FUZZ_CASES ?= 5000
FAULT_COMMANDS ?= 10000

.PHONY: fuzz
fuzz: setup ## fuzz the REST API with schemathesis: 5,000 generated requests, a token of each role (FUZZ_CASES=<n>)
	MOTCUA_FUZZ_CASES=$(FUZZ_CASES) $(UV) run pytest tests/fuzz -s $(PYTEST_ARGS)

.PHONY: faults
faults: setup ## the fault suite at scale: 10,000 dossier commands through kills and restarts (FAULT_COMMANDS=<n>)
	MOTCUA_FAULT_COMMANDS=$(FAULT_COMMANDS) $(UV) run pytest tests/faults -m faults -s $(PYTEST_ARGS)

.PHONY: bench
bench: setup ## benchmarks beside their baselines (pgbench, eventsourcing's default path)
	$(UV) run python -m tests.perf.bench $(BENCH_ARGS)
