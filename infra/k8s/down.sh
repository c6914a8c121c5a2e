#!/bin/bash
# Stops the project's single-node Kubernetes (make k8s-down) and removes what it left outside
# .local/k8s: the pods' containers and network namespaces, the cluster's network namespace (with
# it its iptables chains and the sysctls set in it), the host-wide sysctls the kubelet set, the
# kubelet's cgroups, and the fixed paths containerd 1.6, the CNI library and the kubelet write
# (/run/containerd, /var/lib/cni, /var/lib/kubelet, /var/log/pods, /var/log/containers), and the
# cluster's state (etcd). Keeps the certificates and images (make k8s-up reuses them);
# `K8S_PURGE=1` removes .local/k8s too. Safe to run twice.
set -uo pipefail
source "$(dirname "$0")/env.sh"

pid_of() { cat "$data/run/$1.pid" 2>/dev/null; }
stop() {
  local name=$1 pid
  pid=$(pid_of "$name") || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$data/run/$name.pid"
}

echo "k8s-down: kubelet, kube-proxy"
stop kube-proxy
stop kubelet

# The pods' network namespaces, named by the veth ends in the cluster's namespace.
pod_netns=()
if [ -e "/run/netns/$netns" ]; then
  mapfile -t pod_netns < <(ip -n "$netns" -o link show type veth 2>/dev/null | grep -o 'link-netns [^ ]*' | cut -d' ' -f2 | sort -u)
fi

if [ -S "$containerd_sock" ] && ctr --address "$containerd_sock" version >/dev/null 2>&1; then
  echo "k8s-down: the pods' containers"
  ctr=(ctr --address "$containerd_sock" -n k8s.io)
  for task in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
    "${ctr[@]}" tasks kill -s SIGKILL "$task" >/dev/null 2>&1
  done
  for task in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
    for _ in $(seq 20); do "${ctr[@]}" tasks delete -f "$task" >/dev/null 2>&1 && break; sleep 0.5; done
  done
  for container in $("${ctr[@]}" containers ls -q 2>/dev/null); do
    "${ctr[@]}" containers rm "$container" >/dev/null 2>&1
  done
fi

echo "k8s-down: containerd, the control plane, etcd"
stop containerd
# The shims of this containerd (started with its socket as -address) outlive it.
for pid in $(pgrep -f -- "containerd-shim-runc-v2 .*-address $containerd_sock" 2>/dev/null); do kill -KILL "$pid"; done
stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd

echo "k8s-down: mounts, network namespaces, cgroups, fixed paths"
# Innermost first: volumes, container root filesystems, sandbox shm.
grep -oE " ($data|/run/containerd|/var/lib/kubelet)[^ ]*" /proc/mounts | sort -r | while read -r mount; do
  umount -l "$mount" 2>/dev/null
done
for ns in "${pod_netns[@]}"; do ip netns delete "$ns" 2>/dev/null; done
[ -e "/run/netns/$netns" ] && ip netns delete "$netns"
for hierarchy in /sys/fs/cgroup/*/; do
  [ -d "$hierarchy/kubepods" ] && find "$hierarchy/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null
done
# The host-wide sysctls the kubelet changed, as they were before the first start.
if [ -f "$data/sysctl-before" ]; then
  sysctl -qp "$data/sysctl-before" >/dev/null && rm -f "$data/sysctl-before"
fi
rm -rf /run/containerd /var/lib/cni /var/lib/kubelet /var/log/pods /var/log/containers
# The cluster's state goes too (etcd): the next make k8s-up starts a fresh cluster, with the
# certificates and the imported images kept.
rm -rf "$data/run" "$data/etcd" "$data/kubelet" "$data/containerd/state" "$data/cni/networks"
if [ "${K8S_PURGE:-0}" = 1 ]; then rm -rf "$data"; fi
echo "k8s-down: stopped"
