#!/bin/bash
# Starts the project's single-node Kubernetes (make k8s-up): etcd (Debian), the control plane and
# kube-proxy built by make k8s-bins, containerd + runc + the CNI bridge plugins (Debian), the
# kubelet, CoreDNS; imports the pause, CoreDNS and project images. Everything runs in the network
# namespace motcua-k8s; data, logs and pid files under .local/k8s. Idempotent: a cluster already
# up is left as it is. Prints how long the start took.
set -euo pipefail
source "$(dirname "$0")/env.sh"
started=$(date +%s%N)
mkdir -p "$data"/{run,log,etcd,kubelet,containerd/root,containerd/state,cni/net.d,cni/networks,config}

pidfile() { echo "$data/run/$1.pid"; }
running() { local p; p=$(cat "$(pidfile "$1")" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }
# start <name> <command...>: in the cluster's network namespace, in a session of its own so it
# outlives make, its output in .local/k8s/log/<name>.log.
start() {
  local name=$1; shift
  if running "$name"; then return; fi
  # nsenter and setsid each exec the next: $! is the component's own pid.
  nsenter --net="/run/netns/$netns" -- setsid "$@" >>"$data/log/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}
# wait_for <what> <seconds> <command...>
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then echo "k8s-up: $what not ready after ${seconds}s; see $data/log" >&2; exit 1; fi
    sleep 1
  done
}
kubectl() { in_netns "$bins/kubectl" --kubeconfig "$data/pki/admin.kubeconfig" "$@"; }

echo "k8s-up: network namespace $netns, node $node_name at $node_ip"
if [ ! -e "/run/netns/$netns" ]; then
  ip netns add "$netns"
fi
in_netns ip link set lo up
if ! in_netns ip link show "$node_bridge" >/dev/null 2>&1; then
  in_netns ip link add "$node_bridge" type bridge
  in_netns ip addr add "$node_ip/32" dev "$node_bridge"
fi
in_netns ip link set "$node_bridge" up
# A route for the Service range, so that the node's own processes (the API server calling a
# webhook, a probe) reach ClusterIPs too: kube-proxy's OUTPUT rules rewrite them to a pod.
in_netns ip route replace "$service_cidr" dev "$node_bridge" src "$node_ip"
# Per namespace: forwarding for the pods, bridged pod traffic through iptables for Services.
in_netns sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1

bash "$root/infra/k8s/pki.sh"
pki="$data/pki"

echo "k8s-up: etcd"
start etcd etcd --name "$node_name" --data-dir "$data/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster "$node_name=http://127.0.0.1:2380" --log-level warn
wait_for etcd 60 in_netns etcdctl --endpoints http://127.0.0.1:2379 endpoint health

echo "k8s-up: kube-apiserver"
start kube-apiserver "$bins/kube-apiserver" --advertise-address "$node_ip" --bind-address "$node_ip" \
  --secure-port 6443 --etcd-servers http://127.0.0.1:2379 \
  --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
  --service-account-issuer "https://kubernetes.default.svc.$cluster_domain" \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range "$service_cidr" --authorization-mode Node,RBAC \
  --enable-admission-plugins NodeRestriction --allow-privileged=true --profiling=false
wait_for kube-apiserver 120 kubectl get --raw /readyz

echo "k8s-up: kube-controller-manager, kube-scheduler"
start kube-controller-manager "$bins/kube-controller-manager" --kubeconfig "$pki/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$pki/controller-manager.kubeconfig" --authorization-kubeconfig "$pki/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" --root-ca-file "$pki/ca.crt" \
  --service-account-private-key-file "$pki/sa.key" --service-cluster-ip-range "$service_cidr" \
  --allocate-node-cidrs=true --cluster-cidr "$pod_cidr" --node-cidr-mask-size 24
start kube-scheduler "$bins/kube-scheduler" --kubeconfig "$pki/scheduler.kubeconfig" \
  --authentication-kubeconfig "$pki/scheduler.kubeconfig" --authorization-kubeconfig "$pki/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false

echo "k8s-up: containerd"
cat >"$data/config/containerd.toml" <<TOML
version = 2
root = "$data/containerd/root"
state = "$data/containerd/state"
[grpc]
  address = "$containerd_sock"
[ttrpc]
  address = "$containerd_sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/motcua/pause:3.10"
  # root here lacks CAP_SYS_RESOURCE: runc cannot set the kubelet's negative oom_score_adj.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$data/cni/net.d"
TOML
cat >"$data/cni/net.d/10-motcua.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "motcua",
  "plugins": [
    {"type": "bridge", "bridge": "motcua-cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$data/cni/networks",
              "ranges": [[{"subnet": "$node_pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
start containerd containerd --config "$data/config/containerd.toml"
wait_for containerd 60 ctr --address "$containerd_sock" version

echo "k8s-up: images"
bash "$root/infra/k8s/images.sh" "$root/.local/tools/image"
# import <archive> <name>: the archive's tag under <name>, unless containerd has that very image
# already (same manifest digest: a rebuilt image of the same tag is imported again).
import() {
  local archive=$1 name=$2 tag digest
  read -r tag digest < <(tar -xOf "$archive" ./index.json | python3 -c 'import json,sys; m = json.load(sys.stdin)["manifests"][0]; print(m["annotations"]["org.opencontainers.image.ref.name"], m["digest"])')
  if ctr --address "$containerd_sock" -n k8s.io images ls "name==$name:$tag" 2>/dev/null | grep -q "$digest"; then return; fi
  ctr --address "$containerd_sock" -n k8s.io images import --base-name "$name" --digests "$archive" >/dev/null
  ctr --address "$containerd_sock" -n k8s.io images ls -q "name==$name:$tag" | grep -q . \
    || { echo "k8s-up: importing $archive did not give $name:$tag" >&2; exit 1; }
  echo "k8s-up: imported $name:$tag"
}
import "$root/.local/image/pause-3.10.oci.tar" localhost/motcua/pause
import "$root/.local/image/coredns-1.12.4.oci.tar" localhost/motcua/coredns
# The project's image (make image) and the development PostgreSQL and Kafka (make dev-images).
for archive in "$root"/.local/image/motcua-*.oci.tar; do
  [ -f "$archive" ] && import "$archive" ghcr.io/motcua/motcua
done
for dependency in postgresql kafka; do
  for archive in "$root/.local/image/$dependency"-*.oci.tar; do
    [ -f "$archive" ] && import "$archive" "localhost/motcua/$dependency"
  done
done

echo "k8s-up: kubelet, kube-proxy"
cp "$pki/ca.crt" "$data/config/ca.crt"
cat >"$data/config/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$containerd_sock
# cgroup v1 here, without systemd.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$dns_service_ip]
clusterDomain: $cluster_domain
resolvConf: $data/config/resolv.conf
# The machine's disk is shared: evict only when it is really full, and never collect the
# locally imported images (nothing could pull them again).
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
# Pods resolve only cluster names (no DNS outside this machine is reachable).
echo "nameserver $dns_service_ip" >"$data/config/resolv.conf"
# The kubelet sets these host-wide sysctls to the values it expects (protectKernelDefaults
# false); their values before the first start are kept so that make k8s-down puts them back.
if [ ! -f "$data/sysctl-before" ]; then
  for key in vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
    kernel.keys.root_maxkeys kernel.keys.root_maxbytes; do
    echo "$key=$(sysctl -n "$key")"
  done >"$data/sysctl-before"
fi
start kubelet "$bins/kubelet" --config "$data/config/kubelet.yaml" --kubeconfig "$pki/kubelet.kubeconfig" \
  --root-dir "$data/kubelet" --node-ip "$node_ip" --hostname-override "$node_name"
cat >"$data/config/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $pki/kube-proxy.kubeconfig}
hostnameOverride: $node_name
mode: iptables
clusterCIDR: $pod_cidr
nodePortAddresses: [$node_ip/32]
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
# Leave the host-wide conntrack table size and timeouts as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
oomScoreAdj: 0
YAML
start kube-proxy "$bins/kube-proxy" --config "$data/config/kube-proxy.yaml"
wait_for "node $node_name" 120 kubectl wait --for=condition=Ready "node/$node_name" --timeout=1s

echo "k8s-up: CoreDNS"
sed -e "s/@DNS_SERVICE_IP@/$dns_service_ip/" -e "s/@CLUSTER_DOMAIN@/$cluster_domain/" \
  "$root/infra/k8s/manifests/coredns.yaml" | kubectl apply --server-side -f - >/dev/null
wait_for CoreDNS 180 kubectl -n kube-system rollout status deployment/coredns --timeout=1s

elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
echo "k8s-up: cluster ready in $((elapsed / 1000)).$(printf %03d $((elapsed % 1000)))s (kubectl: infra/k8s/kubectl.sh)"
