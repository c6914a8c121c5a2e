#!/bin/bash
# Builds the platform's OCI image without Docker: one image holds every service, the chart
# runs `python -m motcua.<service>` in it. Run by `make image` (mk/image.mk), which installs the
# tools first and generates the stubs.
#   build.sh <tools prefix> <output folder>
# Writes <output folder>/motcua-<version>.oci.tar and prints its size and manifest digest.
set -euo pipefail
tools=$(realpath "$1")
out=$(realpath -m "$2")
root=$(pwd)
uv=${UV:-uv}
export PATH="$tools/usr/bin:$tools/usr/sbin:$PATH"
export LD_LIBRARY_PATH="$tools/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
# Every timestamp the tools write (tar entries, the image's config and history) is this one,
# the last commit's: the same commit and the same Debian packages give the same layer.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
suite=bookworm
mirror=${MOTCUA_IMAGE_MIRROR:-http://deb.debian.org/debian}
security=${MOTCUA_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# The services' packages, and deploy for the `helm test` walk-through (audit is a command-line
# tool run beside the stack, not in it).
packages=(contracts kernel clock identity procedures dossiers signing notifications gateway deploy)

staging="$out/staging"
rm -rf "$staging" && mkdir -p "$staging/wheels"

echo "image: wheels of the project's packages and the locked requirements"
for p in "${packages[@]}"; do
  "$uv" build --quiet --wheel --package "motcua-$p" --out-dir "$staging/wheels"
done
"$uv" export --quiet --frozen --no-dev --no-emit-workspace --no-header --format requirements-txt \
  $(printf -- '--package motcua-%s ' "${packages[@]}") >"$staging/requirements.txt"
cp "$(command -v "$uv")" "$staging/uv"
ui=services/gateway/ui/node_modules/swagger-ui-dist
[ -f "$ui/index.html" ] || { echo "image: $ui is missing (make gateway-ui)" >&2; exit 1; }
cp -a "$ui" "$staging/swagger-ui-dist"

echo "image: Debian $suite root filesystem (mmdebstrap)"
# minbase and only the runtime packages: Python 3.11 (Debian's), CA certificates. The forms'
# font (Crimson Text) comes from PyPI with the lock, so no Debian fonts are needed.
mmdebstrap --quiet --mode=root --variant=minbase --format=tar \
  --include=python3.11,ca-certificates \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook="\"$root/infra/image/customize.sh\" \"\$1\" \"$staging\"" \
  "$suite" "$staging/rootfs.tar" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main"

echo "image: OCI layout (umoci)"
layout="$staging/oci"
tag=$version
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci raw add-layer --image "$layout:$tag" --history.created "$created" \
  --history.created_by "mmdebstrap $suite minbase + the locked virtual environment" "$staging/rootfs.tar"
umoci config --image "$layout:$tag" --created "$created" --history.created "$created" \
  --history.created_by "motcua image config" \
  --os linux --architecture amd64 \
  --config.user 10001:10001 --config.workingdir / \
  --config.env PATH=/opt/motcua/bin:/usr/local/bin:/usr/bin:/bin \
  --config.env VIRTUAL_ENV=/opt/motcua \
  --config.env LANG=C.UTF-8 \
  --config.env PYTHONUNBUFFERED=1 \
  --config.env PYTHONDONTWRITEBYTECODE=1 \
  --config.env MOTCUA_DESCRIPTOR_SET=/opt/motcua/share/motcua/descriptor_set.binpb \
  --config.env MOTCUA_DOCS_DIR=/opt/motcua/share/swagger-ui-dist \
  --config.cmd python --config.cmd -m --config.cmd motcua.gateway \
  --config.label "org.opencontainers.image.title=motcua" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$(git rev-parse HEAD)" \
  --config.label "org.opencontainers.image.created=$created"
umoci gc --layout "$layout"

archive="$out/motcua-$version.oci.tar"
# An oci-archive is the layout as a tar: entries sorted, owned by root, dated SOURCE_DATE_EPOCH.
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  -C "$layout" -cf "$archive.tmp" . && mv "$archive.tmp" "$archive"
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$layout/index.json")
shown=${archive#"$root/"}
echo "image: $shown"
echo "image: size $(du -h "$archive" | cut -f1) ($(stat -c %s "$archive") bytes), manifest $digest, tag $tag"
echo "image: skopeo inspect oci-archive:$shown:$tag"
