# The local stack (PostgreSQL, Kafka, every service) as plain processes: no Docker, no root.
# Data, logs and pid files live in .local/run/ and survive `make stop`. Included from the Makefile,
# which defines `setup`.

.PHONY: run stop status

run: setup ## Start PostgreSQL, Kafka and every service in the background (.local/run/)
	$(UV) run motcua-stack up

stop: ## Stop the services, Kafka and PostgreSQL started by `make run` (data is kept)
	$(UV) run motcua-stack down

status: ## Show what `make run` started and where it listens
	$(UV) run motcua-stack status
