# The local cluster's names, addresses and folders, sourced by up.sh, down.sh and kubectl.sh.
# The whole cluster lives in a network namespace of its own: its addresses, iptables rules and
# sysctls never touch the host's network, and deleting the namespace removes them all.
root=${MOTCUA_ROOT:-$(pwd)}
bins="$root/.local/tools/k8s"
data="$root/.local/k8s"
netns=motcua-k8s
# The node's address: on an empty bridge with a /32 (this kernel has no `dummy` link type).
node_bridge=motcua-node0
node_ip=10.213.0.1
node_name=motcua-node
service_cidr=10.96.0.0/16
api_service_ip=10.96.0.1
dns_service_ip=10.96.0.10
pod_cidr=10.244.0.0/16
node_pod_cidr=10.244.0.0/24
cluster_domain=cluster.local
containerd_sock="$data/run/containerd.sock"
in_netns() { nsenter --net="/run/netns/$netns" -- "$@"; }
