# Python checked like the protos and the chart: ruff (imports, unused code, bugbear, pyupgrade,
# line length) and mypy (strict on the kernel, the clock and the dossiers' domain), both
# configured in pyproject.toml. Included by the Makefile; works alone too:
#   make -f mk/python.mk lint-python
#
#   lint-python  ruff check and mypy over services/, infra/ and tests/

UV ?= uv

.PHONY: lint-python

lint-python: ## lint and type-check the Python code (ruff, mypy)
	$(UV) run --frozen ruff check --quiet .
	$(UV) run --frozen mypy
