#!/bin/bash
# Builds the local cluster's Kubernetes components and CoreDNS with plain `go build` from the Go
# module proxy (make k8s-bins). The module and build caches are Go's own (GOMODCACHE, GOCACHE;
# about 9 GB), as for buf, so a new checkout on a machine that built them once links in a minute
# instead of compiling for six; a binary newer than its module's go.sum is kept, so a second run
# in the same checkout builds nothing.
#   build-bins.sh <output folder>
set -euo pipefail
out=$(realpath -m "$1")
export GOMODCACHE="${GOMODCACHE:-$(go env GOMODCACHE)}" GOCACHE="${GOCACHE:-$(go env GOCACHE)}"
export GOFLAGS="-modcacherw -trimpath" CGO_ENABLED=0 GOTOOLCHAIN=local
mkdir -p "$out"

k8s_version=v1.34.3
# The version the components report (kubectl version, the node's kubeletVersion): without these
# flags they say v0.0.0-master and version-skew checks fail.
build_date=$(git log -1 --format=%cI -- infra/k8s/build/go.sum 2>/dev/null || true)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=34"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${build_date:-1970-01-01T00:00:00Z}"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"

fresh() { [ -x "$out/$1" ] && [ "$out/$1" -nt "$2" ]; }

for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  fresh "$cmd" infra/k8s/build/go.sum && continue
  echo "k8s-bins: $cmd $k8s_version"
  (cd infra/k8s/build && nice -n 19 go build -ldflags "$ldflags" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd")
done
if ! fresh coredns infra/k8s/build/coredns/go.sum || [ infra/k8s/build/coredns/main.go -nt "$out/coredns" ]; then
  echo "k8s-bins: coredns (the local cluster's plugins)"
  (cd infra/k8s/build/coredns && nice -n 19 go build -ldflags "-s -w" -o "$out/coredns" .)
fi
# pause: the sandbox container's process, from the same release's source (build/pause), static.
if ! fresh pause infra/k8s/build/go.sum; then
  echo "k8s-bins: pause $k8s_version"
  gcc -Os -static -Wall -DVERSION="$k8s_version-motcua" -o "$out/pause" \
    "$GOMODCACHE/k8s.io/kubernetes@$k8s_version/build/pause/linux/pause.c"
  strip "$out/pause"
fi
ls -l "$out"
