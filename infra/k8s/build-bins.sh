#!/bin/bash
# Builds the local cluster's Kubernetes components and CoreDNS with plain `go build` from the Go
# module proxy (make k8s-bins). The module and build caches live under .local/cache/go, so a
# second run only links what changed; a binary already built for this go.mod is kept.
#   build-bins.sh <output folder>
set -euo pipefail
root=$(pwd)
out=$(realpath -m "$1")
export GOMODCACHE="$root/.local/cache/go/mod" GOCACHE="$root/.local/cache/go/build"
export GOFLAGS="-modcacherw -trimpath" CGO_ENABLED=0 GOTOOLCHAIN=local
mkdir -p "$out"

k8s_version=v1.34.3
coredns_version=v1.12.4
# The version the components report (kubectl version, the node's kubeletVersion): without these
# flags they say v0.0.0-master and version-skew checks fail.
build_date=$(date -u -d "@$(stat -c %Y infra/k8s/build/go.sum)" +%Y-%m-%dT%H:%M:%SZ)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=34"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
stamp="$out/.built-$k8s_version-coredns-$coredns_version-$(sha256sum infra/k8s/build/go.sum infra/k8s/build/coredns/go.sum | sha256sum | cut -c1-12)"
if [ -f "$stamp" ]; then echo "k8s-bins: $out is up to date"; exit 0; fi

for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  echo "k8s-bins: $cmd $k8s_version"
  (cd infra/k8s/build && nice -n 19 go build -ldflags "$ldflags" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd")
done
echo "k8s-bins: coredns $coredns_version"
(cd infra/k8s/build/coredns && nice -n 19 go build -ldflags "-s -w" -o "$out/coredns" github.com/coredns/coredns)
# pause: the sandbox container's process, from the same release's source (build/pause), static.
pause_src="$GOMODCACHE/k8s.io/kubernetes@$k8s_version/build/pause/linux/pause.c"
gcc -Os -static -Wall -DVERSION="$k8s_version-motcua" -o "$out/pause" "$pause_src"
strip "$out/pause"
rm -f "$out"/.built-* && touch "$stamp"
ls -l "$out"
