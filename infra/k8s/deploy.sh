#!/bin/bash
# motcua-deploy (status|verify) for the local cluster: run inside its network namespace with the
# admin kubeconfig.
#   infra/k8s/deploy.sh verify --namespace motcua --release motcua
source "$(dirname "$0")/env.sh"
exec nsenter --net="/run/netns/$netns" -- "$root/.venv/bin/motcua-deploy" --kubeconfig "$data/pki/admin.kubeconfig" "$@"
