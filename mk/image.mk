# The platform's OCI image, built without Docker: a Debian bookworm root filesystem made with
# mmdebstrap, the locked virtual environment, an OCI archive made with umoci. Included by the
# Makefile:  make image
#
#   image-tools  mmdebstrap, umoci, skopeo and runc from Debian's archive: the .debs fetched with
#                `apt-get download` and unpacked under .local/tools/image (the system is left as
#                it is). Needs apt (a Debian host); returns at once when already there.
#   image        .local/image/motcua-<version>.oci.tar; prints its size and manifest digest.
#                Runs as root (mmdebstrap's root mode, chroot). tests/image runs it when built.

UV ?= uv
IMAGE_TOOLS := .local/tools/image
IMAGE_DEBS := mmdebstrap umoci skopeo runc libgpgme11 libassuan0
IMAGE_TOOLS_STAMP := $(IMAGE_TOOLS)/.installed-$(subst $(eval) ,-,$(IMAGE_DEBS))
IMAGE_OUT := .local/image

.PHONY: image image-tools

image-tools: $(IMAGE_TOOLS_STAMP) ## mmdebstrap, umoci, skopeo, runc unpacked from Debian's .debs into .local/tools/image

$(IMAGE_TOOLS_STAMP):
	@rm -rf $(IMAGE_TOOLS) .local/cache/image-debs && mkdir -p $(IMAGE_TOOLS) .local/cache/image-debs
	cd .local/cache/image-debs && apt-get download -qq $(IMAGE_DEBS)
	for deb in .local/cache/image-debs/*.deb; do dpkg-deb -x $$deb $(IMAGE_TOOLS) || exit 1; done
	@touch $@

image: setup $(IMAGE_TOOLS_STAMP) ## the platform's OCI image (.local/image/motcua-<version>.oci.tar), without Docker
	@if [ "$$(id -u)" != 0 ]; then echo "image: mmdebstrap's root mode and chroot need root" >&2; exit 1; fi
	UV=$(UV) bash infra/image/build.sh $(IMAGE_TOOLS) $(IMAGE_OUT)

.PHONY: dev-images
# The local cluster's PostgreSQL and Kafka (tests and make run start their own servers, not these).
dev-images: setup $(IMAGE_TOOLS_STAMP) ## the development PostgreSQL and Kafka images (.local/image/{postgresql,kafka}-*.oci.tar)
	@if [ "$$(id -u)" != 0 ]; then echo "dev-images: mmdebstrap's root mode and chroot need root" >&2; exit 1; fi
	bash infra/image/build-deps.sh $(IMAGE_TOOLS) $(IMAGE_OUT) \
	  "$$($(UV) run python -c 'from motcua.devstack.kafka_broker import kafka_libs; print(kafka_libs())')"
