#!/bin/bash
# kubectl for the local cluster: run inside its network namespace with the admin kubeconfig.
#   infra/k8s/kubectl.sh get pods -A
source "$(dirname "$0")/env.sh"
exec nsenter --net="/run/netns/$netns" -- "$bins/kubectl" --kubeconfig "$data/pki/admin.kubeconfig" "$@"
