#!/bin/bash
# The Secrets infra/k8s/values-dev.yaml names, in namespace <namespace> (created if missing):
#   motcua-postgresql-admin  the development PostgreSQL's administrator (from its Secret in
#                            motcua-deps), which the provisioning Job uses
#   motcua-postgresql        the services' own role's password, random, made once and kept
#   motcua-dossiers-subject-keks, motcua-dossiers-personal-key, motcua-dossiers-lookup-key,
#   motcua-notifications-subject-keks
#                            the keys sealing applicants' and recipients' personal data, random,
#                            made once: a restarted or second pod reads what another one sealed
# Idempotent: an existing Secret is left as it is.
#   bash infra/k8s/dev-secrets.sh motcua
set -euo pipefail
namespace=${1:-motcua}
kubectl=("$(dirname "$0")/kubectl.sh")
"${kubectl[@]}" create namespace "$namespace" --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >/dev/null
exists() { "${kubectl[@]}" -n "$namespace" get secret "$1" >/dev/null 2>&1; }
if ! exists motcua-postgresql-admin; then
  admin_password=$("${kubectl[@]}" -n motcua-deps get secret postgresql -o jsonpath='{.data.password}' | base64 -d)
  "${kubectl[@]}" -n "$namespace" create secret generic motcua-postgresql-admin \
    --from-literal=username=postgres --from-literal=password="$admin_password" >/dev/null
fi
if ! exists motcua-postgresql; then
  "${kubectl[@]}" -n "$namespace" create secret generic motcua-postgresql \
    --from-literal=password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" >/dev/null
fi
random_key() { head -c 32 /dev/urandom | base64; }
key_secret() {  # <name> <file name in it>
  exists "$1" || "${kubectl[@]}" -n "$namespace" create secret generic "$1" --from-literal="$2=$(random_key)" >/dev/null
}
key_secret motcua-dossiers-subject-keks k1.key
key_secret motcua-dossiers-personal-key personal-data.key
key_secret motcua-dossiers-lookup-key lookup-throttle.key
key_secret motcua-notifications-subject-keks k1.key
echo "dev-secrets: motcua-postgresql-admin, motcua-postgresql and the personal-data keys in namespace $namespace"
