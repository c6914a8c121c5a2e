#!/bin/bash
# The cluster's own images, built locally like the project's (umoci, no registry): the pod
# sandbox's pause and CoreDNS, each one static binary in one layer. OCI archives under
# .local/image, made again only when the binary changed.
#   images.sh <image tools prefix>
set -euo pipefail
source "$(dirname "$0")/env.sh"
tools=$(realpath "$1")
export PATH="$tools/usr/bin:$tools/usr/sbin:$PATH"
export LD_LIBRARY_PATH="$tools/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
out="$root/.local/image"
mkdir -p "$out"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

# image <name> <tag> <binary> <user> <entrypoint args...>
image() {
  local name=$1 tag=$2 binary=$3 user=$4; shift 4
  local archive="$out/$name-$tag.oci.tar" work="$out/staging-$name"
  if [ -f "$archive" ] && [ "$archive" -nt "$binary" ]; then return; fi
  rm -rf "$work" && mkdir -p "$work/rootfs"
  install -m 0755 "$binary" "$work/rootfs/$(basename "$binary")"
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -C "$work/rootfs" -cf "$work/layer.tar" .
  umoci init --layout "$work/oci"
  umoci new --image "$work/oci:$tag"
  umoci raw add-layer --image "$work/oci:$tag" --history.created "$created" \
    --history.created_by "$(basename "$binary") built by make k8s-bins" "$work/layer.tar"
  local entry=() arg
  for arg in "$@"; do entry+=(--config.entrypoint "$arg"); done
  umoci config --image "$work/oci:$tag" --created "$created" --history.created "$created" \
    --history.created_by "motcua local cluster image" --os linux --architecture amd64 \
    --config.user "$user" "${entry[@]}"
  umoci gc --layout "$work/oci"
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -C "$work/oci" -cf "$archive.tmp" . && mv "$archive.tmp" "$archive"
  rm -rf "$work"
  echo "k8s images: ${archive#"$root/"} ($(du -h "$archive" | cut -f1))"
}

image pause 3.10 "$bins/pause" 65535:65535 /pause
image coredns 1.12.4 "$bins/coredns" 0:0 /coredns
