#!/usr/bin/env bash
# buf breaking for protos/, against the protos of the main branch.
#
#   infra/codegen/breaking.sh            against `main` (or `origin/main`); when HEAD is
#                                        main itself, against HEAD~1 (and, if protos/ has
#                                        uncommitted changes, against HEAD as well)
#   BREAKING_AGAINST=<git ref> infra/codegen/breaking.sh
#
# Why not `buf breaking --against '.git#branch=main,subdir=protos'`: the base must compile,
# and its imports (google/api, buf/validate) are not in git — they are collected at build
# time into build/third_party/proto (see gen.py) because the Buf Schema Registry is not
# reachable. So the base's protos/ is exported with `git archive` into
# build/breaking/<commit>/ (cached per commit), linked to the same third-party folder,
# and given the current buf.yaml; buf then compares against that directory.
# Skips (exit 0, with a message) when there is no base or the base has no protos yet.
set -euo pipefail

cd "$(git rev-parse --show-toplevel)"
BUF=${BUF:-.local/bin/buf}
THIRD_PARTY=build/third_party/proto

skip() { echo "breaking-protos: skipped: $*"; exit 0; }   # ends the whole check

# Compares protos/ (the work tree) with the protos of one git commit.
check_against() {
  local against=$1 base dir
  base=$(git rev-parse --verify --quiet "$against^{commit}") || skip "$against does not exist"
  git ls-tree -r --name-only "$base" -- protos/motcua | grep -q '\.proto$' \
    || skip "$against (${base:0:12}) has no protos yet"
  dir=build/breaking/$base
  if [[ ! -d $dir/protos ]]; then
    find build/breaking -mindepth 1 -maxdepth 1 -mtime +7 -exec rm -rf {} + 2>/dev/null || true
    mkdir -p "$dir"
    git archive "$base" protos | tar -x -C "$dir"
    rm -rf "$dir/protos/gen"
  fi
  mkdir -p "$dir/protos/gen"
  ln -sfn "$(realpath --relative-to="$dir/protos/gen" "$THIRD_PARTY")" "$dir/protos/gen/third_party"
  cp protos/buf.yaml "$dir/protos/buf.yaml"
  echo "breaking-protos: protos/ against $against (${base:0:12})"
  (cd protos && "../$BUF" breaking --against "../$dir/protos")
}

[[ -d $THIRD_PARTY ]] || { echo "breaking-protos: $THIRD_PARTY is missing: run make gen" >&2; exit 2; }

if [[ -n ${BREAKING_AGAINST:-} ]]; then
  check_against "$BREAKING_AGAINST"
  exit 0
fi
main=
for ref in main origin/main; do
  if git rev-parse --verify --quiet "$ref^{commit}" >/dev/null; then main=$ref; break; fi
done
[[ -n $main ]] || skip "no main branch to compare against"
if [[ $(git rev-parse "$main^{commit}") != $(git rev-parse HEAD) ]]; then
  check_against "$main"
  exit 0
fi
# HEAD is main itself: uncommitted changes are checked against HEAD, and the last commit
# against HEAD~1, so the check still means something on main.
if [[ -n $(git status --porcelain -- protos/motcua protos/buf.yaml) ]]; then
  check_against HEAD
fi
check_against HEAD~1
