#!/bin/bash
# helm (.local/bin/helm, make helm) for the local cluster: run inside its network namespace with
# the admin kubeconfig.
#   infra/k8s/helm.sh install motcua charts/motcua -n motcua -f infra/k8s/values-dev.yaml --wait
source "$(dirname "$0")/env.sh"
exec nsenter --net="/run/netns/$netns" -- "$root/.local/bin/helm" --kubeconfig "$data/pki/admin.kubeconfig" "$@"
