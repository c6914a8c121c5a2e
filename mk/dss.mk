# Validators this project did not write, for the signing tests. Included by the Makefile:  make dss
#
#   dss           .local/tools/dss/bin/validate-pdf: a small command on the EU's DSS libraries
#                 (infra/dss), built by Maven into .local/tools/dss with its own Maven repository
#                 there (offline once the pom's artifacts are in it); rebuilt only when
#                 infra/dss changes. Then the PDF tools below.
#   pdf-tools     poppler's pdfsig and pdftotext and NSS's certutil, from Debian's .debs fetched
#                 with `apt-get download` and unpacked under .local/tools/pdf (the system is left
#                 as it is): run them with LD_LIBRARY_PATH=.local/tools/pdf/usr/lib/x86_64-linux-gnu.

MVN ?= mvn
DSS_DIR := .local/tools/dss
DSS_BIN := $(DSS_DIR)/bin/validate-pdf
DSS_SOURCES := infra/dss/pom.xml infra/dss/validate-pdf $(shell find infra/dss/src -type f 2>/dev/null)
PDF_TOOLS := .local/tools/pdf
# libnss3 too: the system's may be older than the libnss3-tools of the same archive needs; and
# the one library of poppler's that a bookworm machine may lack (the rest are there).
PDF_DEBS := poppler-utils libpoppler126 libopenjp2-7 libnss3-tools libnss3
PDF_TOOLS_STAMP := $(PDF_TOOLS)/.installed-$(subst $(eval) ,-,$(PDF_DEBS))

.PHONY: dss pdf-tools

dss: $(DSS_BIN) $(PDF_TOOLS_STAMP) ## EU DSS's PDF signature validator (.local/tools/dss/bin/validate-pdf) and poppler's pdfsig

pdf-tools: $(PDF_TOOLS_STAMP) ## poppler's pdfsig/pdftotext and NSS's certutil unpacked from Debian's .debs into .local/tools/pdf

# The jar, its libraries (lib/) and the launcher. The pom's hash beside the Maven repository says
# whether every artifact is already there: then Maven runs offline.
$(DSS_BIN): $(DSS_SOURCES)
	@mkdir -p $(DSS_DIR)
	@offline=; if [ -d $(DSS_DIR)/m2 ] && sha256sum < infra/dss/pom.xml | cmp -s - $(DSS_DIR)/pom.sha256; then offline=-o; fi; \
	rm -rf $(DSS_DIR)/lib $(DSS_DIR)/bin; \
	echo "dss: building validate-pdf with Maven$${offline:+ (offline)}"; \
	$(MVN) -q -B -Dstyle.color=never $$offline -Dmaven.repo.local=$(abspath $(DSS_DIR))/m2 \
	  -Dmotcua.build.dir=$(abspath $(DSS_DIR))/build -f infra/dss/pom.xml \
	  package dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(abspath $(DSS_DIR))/lib
	cp $(DSS_DIR)/build/validate-pdf.jar $(DSS_DIR)/validate-pdf.jar
	@sha256sum < infra/dss/pom.xml > $(DSS_DIR)/pom.sha256
	install -D -m 755 infra/dss/validate-pdf $@

$(PDF_TOOLS_STAMP):
	@rm -rf $(PDF_TOOLS) .local/cache/pdf-debs && mkdir -p $(PDF_TOOLS) .local/cache/pdf-debs
	@# A machine that never ran apt-get update has no package lists to download from.
	cd .local/cache/pdf-debs && { apt-get download -qq $(PDF_DEBS) \
	  || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq; else sudo apt-get update -qq; fi \
	       && apt-get download -qq $(PDF_DEBS); }; }
	for deb in .local/cache/pdf-debs/*.deb; do dpkg-deb -x $$deb $(PDF_TOOLS) || exit 1; done
	@touch $@
