# Contracts: Python stubs generated from protos/ (never committed), buf lint and breaking.
# Included by the Makefile; works alone too:  make -f mk/protos.mk gen lint-protos
#
#   gen              stubs in protos/gen/python + protos/gen/descriptor_set.binpb
#   buf              build the pinned buf CLI into .local/bin (Go module proxy)
#   lint-protos      buf lint (STANDARD + COMMENTS, protovalidate rules) and buf format
#   breaking-protos  buf breaking (FILE) against main, or HEAD~1 on main;
#                    BREAKING_AGAINST=<git ref> to choose the base
#
# Every target returns at once when nothing changed.

UV ?= uv
GO ?= go
BUF_VERSION := v1.70.0
BUF := .local/bin/buf
BUF_STAMP := .local/bin/.buf-$(BUF_VERSION)

PROTO_FILES := $(shell find protos/motcua -name '*.proto' 2>/dev/null)
PROTOS_STAMP := protos/gen/.stamp
PROTOVALIDATE_PROTO := build/third_party/proto/buf/validate/validate.proto

.PHONY: gen buf lint-protos breaking-protos

gen: $(PROTOS_STAMP) ## generate the gRPC/protobuf stubs and descriptor set from protos/

# gen.py itself skips protoc when the content hash of its inputs is unchanged; the stamp's
# mtime lets make skip even starting Python.
$(PROTOS_STAMP): $(PROTO_FILES) infra/codegen/gen.py uv.lock
	$(UV) run python infra/codegen/gen.py
	@touch $@

# The third-party protos (build/) were wiped: let gen.py collect them again.
ifeq ($(wildcard $(PROTOVALIDATE_PROTO)),)
.PHONY: $(PROTOS_STAMP)
endif

buf: $(BUF_STAMP) ## build the pinned buf CLI into .local/bin

$(BUF_STAMP):
	@mkdir -p $(dir $(BUF))
	GOBIN="$(CURDIR)/$(dir $(BUF))" $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@rm -f $(dir $(BUF)).buf-v* && touch $@

lint-protos: $(BUF_STAMP) $(PROTOS_STAMP) ## lint the protos (buf lint, buf format)
	cd protos && ../$(BUF) lint
	cd protos && ../$(BUF) format --diff --exit-code --path motcua

breaking-protos: $(BUF_STAMP) $(PROTOS_STAMP) ## check the protos for breaking changes against main
	BUF=$(BUF) bash infra/codegen/breaking.sh
