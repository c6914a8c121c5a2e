# SoftHSM2, the PKCS#11 token of development and tests, and a development token holding the
# signing keys. Included by the Makefile:  make dev-token
#
#   softhsm-tools  softhsm2 from Debian's archive: the .debs fetched with `apt-get download` and
#                  unpacked under .local/tools/softhsm (the system is left as it is; an HSM
#                  vendor's PKCS#11 module replaces it in production). Returns at once when there.
#   dev-token      a SoftHSM2 token in .local/run/signing/token (label motcua-dev, user PIN
#                  1234): an RSA-2048 and an ECDSA P-256 seal generated inside it (never
#                  extractable), their certificates issued by the development PKI. Prints the
#                  MOTCUA_SIGNING_PKCS11_* settings that make the signing service use it.

SOFTHSM_TOOLS := .local/tools/softhsm
SOFTHSM_DEBS := softhsm2 libsofthsm2 softhsm2-common
SOFTHSM_STAMP := $(SOFTHSM_TOOLS)/.installed-$(subst $(eval) ,-,$(SOFTHSM_DEBS))
DEV_TOKEN_DIR ?= .local/run/signing

.PHONY: softhsm-tools dev-token

softhsm-tools: $(SOFTHSM_STAMP) ## SoftHSM2 (a PKCS#11 token in files) unpacked from Debian's .debs into .local/tools/softhsm

$(SOFTHSM_STAMP):
	@rm -rf $(SOFTHSM_TOOLS) .local/cache/softhsm-debs && mkdir -p $(SOFTHSM_TOOLS) .local/cache/softhsm-debs
	cd .local/cache/softhsm-debs && apt-get download -qq $(SOFTHSM_DEBS)
	for deb in .local/cache/softhsm-debs/*.deb; do dpkg-deb -x $$deb $(SOFTHSM_TOOLS) || exit 1; done
	@touch $@

dev-token: setup $(SOFTHSM_STAMP) ## a SoftHSM2 token with the development seals (RSA-2048, P-256) for MOTCUA_SIGNING_PKCS11_*
	.venv/bin/python -m motcua.signing.devtoken --tools $(SOFTHSM_TOOLS) --dir $(DEV_TOKEN_DIR)
