#!/bin/bash
# mmdebstrap's customize hook (runs as root on the finished Debian tree): the locked virtual
# environment, the docs page's assets and the non-root user go in; the build's tools and the
# package managers go out.
#   customize.sh <rootfs> <staging folder made by build.sh>
set -euo pipefail
rootfs=$1
staging=$2
venv=/opt/motcua

install -d "$rootfs/opt/build"
cp -a "$staging/wheels" "$staging/requirements.txt" "$staging/uv" "$rootfs/opt/build/"
# The builder's own CA bundle and proxy, when it has them, reach PyPI from inside the tree too.
tls=()
if [ -n "${SSL_CERT_FILE:-}" ] && [ -f "$SSL_CERT_FILE" ]; then
  cp "$SSL_CERT_FILE" "$rootfs/opt/build/ca.pem" && tls=(SSL_CERT_FILE=/opt/build/ca.pem)
fi
for var in HTTPS_PROXY https_proxy HTTP_PROXY http_proxy NO_PROXY no_proxy UV_INDEX_URL UV_DEFAULT_INDEX; do
  [ -n "${!var:-}" ] && tls+=("$var=${!var}")
done
in_root() { chroot "$rootfs" env -i PATH=/usr/bin:/bin UV_CACHE_DIR=/opt/build/cache \
  UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1 "${tls[@]}" "$@"; }

# The image's own Python (Debian's 3.11), never a downloaded one.
in_root /opt/build/uv venv --quiet --python /usr/bin/python3.11 --no-python-downloads "$venv"
# The third-party packages exactly as uv.lock pins them (versions and hashes), then the
# project's own wheels; nothing is resolved here.
in_root /opt/build/uv pip install --quiet --python "$venv/bin/python" --link-mode copy \
  --no-deps --require-hashes -r /opt/build/requirements.txt
in_root /opt/build/uv pip install --quiet --python "$venv/bin/python" --link-mode copy \
  --no-deps $(cd "$rootfs" && printf '/%s ' opt/build/wheels/*.whl)
# uv notes when it installed a local wheel (uv_cache.json, for its own cache): the only file that
# would differ between two builds of the same commit. Removed, and from the RECORD too.
for record in "$rootfs$venv"/lib/python3.11/site-packages/*.dist-info/RECORD; do
  info=$(dirname "$record")
  if [ -f "$info/uv_cache.json" ]; then
    rm "$info/uv_cache.json"
    sed -i "\\#^$(basename "$info")/uv_cache.json,#d" "$record"
  fi
done
# The root filesystem is read-only in the chart: bytecode compiled now, checked by hash and
# not by mtime, so that the layer does not depend on when the files were written.
in_root "$venv/bin/python" -m compileall -q -j 0 --invalidation-mode unchecked-hash \
  "$venv/lib/python3.11/site-packages" >/dev/null
rm -rf "$rootfs/opt/build"

# Swagger UI, served by the gateway at /docs (MOTCUA_DOCS_DIR in the image's environment).
install -d "$rootfs$venv/share"
cp -a "$staging/swagger-ui-dist" "$rootfs$venv/share/swagger-ui-dist"

# The user the services run as (the chart's podSecurityContext runs as 10001 too).
echo "motcua:x:10001:10001:motcua:/nonexistent:/usr/sbin/nologin" >>"$rootfs/etc/passwd"
echo "motcua:x:10001:" >>"$rootfs/etc/group"
echo "motcua:*:::::::" >>"$rootfs/etc/shadow"

# No package manager left: apt and dpkg's programs go; dpkg's status file stays so that
# image scanners can still list the Debian packages inside.
rm -rf "$rootfs/var/log/apt"
chroot "$rootfs" dpkg --purge --force-remove-essential --force-depends apt >/dev/null
rm -f "$rootfs"/usr/bin/dpkg* "$rootfs"/usr/sbin/dpkg* "$rootfs"/usr/sbin/update-alternatives \
  "$rootfs"/usr/bin/update-alternatives
# (mmdebstrap's own cleanup empties apt's lists and cache, and removes its files in /etc/apt.)
rm -rf "$rootfs"/var/cache/debconf/*-old \
  "$rootfs"/var/log/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
