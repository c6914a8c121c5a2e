# The Helm chart: helm lint --strict, helm template, and strict validation of every rendered
# object against the Kubernetes JSON schemas (kubernetes-validate, offline), once per value set
# in charts/motcua/ci/*-values.yaml. Included by the Makefile; works alone too:
#   make -f mk/charts.mk check-charts
#
#   helm          build the pinned helm CLI into .local/bin (Go module proxy)
#   check-charts  lint, render and validate the chart with each ci value set; renders are
#                 kept in .local/charts/. CHARTS_KUBE_VERSION=<x.y.z> to validate for another
#                 Kubernetes version. Custom resources (the chart's HTTPRoute, the CloudNativePG
#                 and Strimzi examples in infra/k8s/examples/) are validated against their
#                 projects' CRDs (crds).
#                 charts/motcua/VALUES.md must be what tests/charts/values_readme.py makes of
#                 the @param comments of values.yaml.
#   crds          those CRD files, into .local/crds/: the Gateway API's and CloudNativePG's as
#                 released in their Go modules (Go module proxy); Strimzi's generated from its
#                 API model by its own CRD generator (Maven Central, infra/strimzi/pom.xml)
#
# check-charts returns at once when nothing it reads changed.

UV ?= uv
GO ?= go
HELM_VERSION := v3.22.0
# What the release binaries are stamped with at build time (helm's Makefile): without it a
# `go install` build reports version "v3.22" and assumes Kubernetes 1.20 by default.
# 37 = the minor version of k8s.io/client-go (v0.37.0) in helm v3.22.0's go.mod.
HELM_KUBE_MINOR := 37
HELM_LDFLAGS := -s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	$(foreach pkg,chartutil lint/rules,-X helm.sh/helm/v3/pkg/$(pkg).k8sVersionMajor=1 \
	  -X helm.sh/helm/v3/pkg/$(pkg).k8sVersionMinor=$(HELM_KUBE_MINOR))
HELM := .local/bin/helm
HELM_STAMP := .local/bin/.helm-$(HELM_VERSION)

# The Kubernetes version charts are rendered for and validated against (the chart itself
# requires >= 1.27). tests/charts/kubeschema.py has the same default and reads this variable.
CHARTS_KUBE_VERSION ?= 1.31.0
export CHARTS_KUBE_VERSION

CHART := charts/motcua
CHART_CI_VALUES := $(wildcard $(CHART)/ci/*-values.yaml)
# The directories too: adding or removing a file changes their mtime.
CHART_INPUTS := $(shell find $(CHART) 2>/dev/null) tests/charts/kubeschema.py tests/charts/values_readme.py \
	mk/charts.mk uv.lock
CHARTS_OUT := .local/charts
CHARTS_STAMP := $(CHARTS_OUT)/.checked-$(CHARTS_KUBE_VERSION)

# The CRDs of the custom resources the chart and the examples render, from the projects' own
# Go modules (their released config/crd files; Apache-2.0): `go mod download` fetches and
# verifies them against the checksum database like any module.
GATEWAY_API_VERSION := v1.2.1
CNPG_VERSION := v1.25.1
CRDS_DIR := .local/crds
STRIMZI_POM := infra/strimzi/pom.xml
STRIMZI_LIBS := .local/cache/strimzi-crds/libs
STRIMZI_KINDS := kafka.Kafka nodepool.KafkaNodePool topic.KafkaTopic user.KafkaUser
CRDS_STAMP := $(CRDS_DIR)/.gateway-api-$(GATEWAY_API_VERSION)-cnpg-$(CNPG_VERSION)
CRD_FILES = $(wildcard $(CRDS_DIR)/*.yaml)
EXAMPLES := $(wildcard infra/k8s/examples/*.yaml)

.PHONY: helm check-charts crds

helm: $(HELM_STAMP) ## build the pinned helm CLI into .local/bin

$(HELM_STAMP):
	@mkdir -p $(dir $(HELM))
	GOBIN="$(CURDIR)/$(dir $(HELM))" $(GO) install -trimpath -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	@rm -f $(dir $(HELM)).helm-v* && touch $@

crds: $(CRDS_STAMP) ## fetch the CRDs of the Gateway API and CloudNativePG (Go module proxy) into .local/crds

$(CRDS_STAMP): $(STRIMZI_POM)
	@rm -rf $(CRDS_DIR) $(STRIMZI_LIBS) && mkdir -p $(CRDS_DIR)
	@gateway=$$(GOFLAGS=-mod=mod $(GO) mod download -json sigs.k8s.io/gateway-api@$(GATEWAY_API_VERSION) \
	  | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') && test -n "$$gateway" && \
	  cp $$gateway/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml $(CRDS_DIR)/
	@cnpg=$$(GOFLAGS=-mod=mod $(GO) mod download -json github.com/cloudnative-pg/cloudnative-pg@$(CNPG_VERSION) \
	  | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') && test -n "$$cnpg" && \
	  cp $$cnpg/config/crd/bases/postgresql.cnpg.io_clusters.yaml $(CRDS_DIR)/
	@mvn -q -B -Dstyle.color=never -f $(STRIMZI_POM) dependency:copy-dependencies -DincludeScope=runtime \
	  -DoutputDirectory=$(CURDIR)/$(STRIMZI_LIBS)
	@for kind in $(STRIMZI_KINDS); do \
	  java -cp '$(STRIMZI_LIBS)/*' io.strimzi.crdgenerator.CrdGenerator --yaml --api-versions v1beta2 \
	    --storage-version v1beta2 io.strimzi.api.kafka.model.$$kind=$(CRDS_DIR)/kafka.strimzi.io_$${kind#*.}.yaml \
	    2>/dev/null && test -s $(CRDS_DIR)/kafka.strimzi.io_$${kind#*.}.yaml || exit 1; \
	done
	@chmod u+w $(CRDS_DIR)/*.yaml && touch $@

check-charts: $(CHARTS_STAMP) ## lint the Helm chart, render it with each ci/ value set, validate every object

$(CHARTS_STAMP): $(HELM_STAMP) $(CRDS_STAMP) $(CHART_INPUTS) $(EXAMPLES)
	@rm -rf $(CHARTS_OUT) && mkdir -p $(CHARTS_OUT)
	@status=0; \
	for values in $(CHART_CI_VALUES); do \
	  out=$(CHARTS_OUT)/$$(basename $$values); \
	  echo "$$values: helm lint --strict, helm template, schema validation (Kubernetes $(CHARTS_KUBE_VERSION))"; \
	  $(HELM) lint --strict --quiet $(CHART) --values $$values --kube-version $(CHARTS_KUBE_VERSION) \
	    || { echo "$$values: helm lint failed"; status=1; continue; }; \
	  $(HELM) template motcua $(CHART) --namespace motcua --values $$values \
	    --kube-version $(CHARTS_KUBE_VERSION) > $$out \
	    || { echo "$$values: helm template failed"; status=1; continue; }; \
	  $(UV) run --frozen python -m tests.charts.kubeschema --kube-version $(CHARTS_KUBE_VERSION) \
	    $(addprefix --crd ,$(CRD_FILES)) --origin $$values $$out || status=1; \
	done; \
	$(UV) run --frozen python -m tests.charts.values_readme --check || status=1; \
	for example in $(EXAMPLES); do \
	  $(UV) run --frozen python -m tests.charts.kubeschema --kube-version $(CHARTS_KUBE_VERSION) \
	    $(addprefix --crd ,$(CRD_FILES)) $$example || status=1; \
	done; \
	exit $$status
	@touch $@
