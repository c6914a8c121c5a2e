# The HTTP gateway's tooling beside Python: Swagger UI for /docs (npm), a headless Chromium for the
# test that renders /docs, and the OpenAPI document as a file. Included by the Makefile; works
# alone too:  make -f mk/gateway.mk gateway-ui gateway-browser
#
#   gateway-ui       npm ci in services/gateway/ui: swagger-ui-dist as locked in its
#                    package-lock.json (install scripts off, see its .npmrc); the gateway serves it
#                    at /docs. Returns at once when the lock file has not changed.
#   gateway-browser  Debian's chromium, when no chromium is on the PATH (apt-get: as root, or
#                    with sudo); tests/gateway/test_openapi_and_docs.py drives it headless.
#                    MOTCUA_CHROMIUM=<path> names another Chromium instead.
#   gateway-openapi  the OpenAPI document generated from the protos, validated, written to
#                    docs/api/openapi.json: the committed contract frontends generate clients
#                    from; tests/gateway/test_committed_openapi.py fails when it drifts from
#                    the protos (run this after changing them)

UV ?= uv
NPM ?= npm
GATEWAY_UI := services/gateway/ui
GATEWAY_UI_STAMP := $(GATEWAY_UI)/node_modules/.motcua-installed

#   typescript-client  examples/typescript: npm ci (from its package-lock.json, install scripts
#                    off), a typed client generated from docs/api/openapi.json by
#                    openapi-typescript, compiled with tsc; `npm run list-dossiers` there logs in
#                    and lists the citizen's dossiers against `make run`

.PHONY: gateway-ui gateway-browser gateway-openapi typescript-client

gateway-ui: $(GATEWAY_UI_STAMP) ## install Swagger UI (npm ci) for the gateway's /docs

$(GATEWAY_UI_STAMP): $(GATEWAY_UI)/package.json $(GATEWAY_UI)/package-lock.json $(GATEWAY_UI)/.npmrc
	cd $(GATEWAY_UI) && SCARF_ANALYTICS=false $(NPM) ci --loglevel=error
	@touch $@

gateway-browser: ## install Debian's chromium (headless browser of the /docs test) when missing
	@if [ -n "$$MOTCUA_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 \
	    || command -v chromium-browser >/dev/null 2>&1; then \
	  exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; \
	elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	else echo "gateway-browser: chromium is missing and installing it needs root (apt-get install chromium)" >&2; exit 1; \
	fi; \
	echo "gateway-browser: installing chromium (apt-get)"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null \
	  && command -v chromium

gateway-openapi: $(PROTOS_STAMP) ## write the OpenAPI document of the REST API to docs/api/openapi.json (commit it)
	$(UV) run python -m motcua.gateway.openapi --validate --out docs/api/openapi.json

TS_EXAMPLE := examples/typescript

typescript-client: ## generate the TypeScript client from docs/api/openapi.json and build the example (npm)
	cd $(TS_EXAMPLE) && $(NPM) ci --loglevel=error && $(NPM) run --silent build
