#!/bin/bash
# The local cluster's certificates and kubeconfigs, made with openssl (one CA; a client
# certificate per component, named as the components' RBAC roles expect; the API server's
# serving certificate; the service-account signing key). Kept once made: make k8s-up reuses them.
#   pki.sh   (from the checkout's root; writes .local/k8s/pki)
set -euo pipefail
source "$(dirname "$0")/env.sh"
pki="$data/pki"
mkdir -p "$pki" && cd "$pki"
[ -f .complete ] && exit 0

days=3650
openssl genrsa -out ca.key 2048 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days $days -subj "/CN=motcua-local-ca" -out ca.crt

# cert <name> <subject> <extendedKeyUsage> [subjectAltName]
cert() {
  local name=$1 subject=$2 usage=$3 san=${4:-}
  openssl genrsa -out "$name.key" 2048 2>/dev/null
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days $days \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

cert apiserver "/CN=kube-apiserver" serverAuth \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$cluster_domain,DNS:localhost,IP:$api_service_ip,IP:$node_ip,IP:127.0.0.1"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=kubernetes-admin" clientAuth
cert controller-manager "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kube-proxy "/CN=system:kube-proxy" clientAuth
cert kubelet "/O=system:nodes/CN=system:node:$node_name" clientAuth
# The kubelet's own serving certificate, so the API server's logs/exec calls verify it.
cert kubelet-serving "/O=system:nodes/CN=system:node:$node_name" serverAuth "DNS:$node_name,IP:$node_ip"
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null

for who in admin controller-manager scheduler kube-proxy kubelet; do
  config="$who.kubeconfig"
  "$bins/kubectl" config set-cluster local --kubeconfig="$config" --certificate-authority=ca.crt \
    --embed-certs=true --server="https://$node_ip:6443" >/dev/null
  "$bins/kubectl" config set-credentials "$who" --kubeconfig="$config" --client-certificate="$who.crt" \
    --client-key="$who.key" --embed-certs=true >/dev/null
  "$bins/kubectl" config set-context default --kubeconfig="$config" --cluster=local --user="$who" >/dev/null
  "$bins/kubectl" config use-context default --kubeconfig="$config" >/dev/null
done
chmod 600 ./*.key ./*.kubeconfig
touch .complete
