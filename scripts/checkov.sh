#!/usr/bin/env bash
# Runs checkov (pinned in scripts/python-env.sh, installed into .cache/venv) over CloudFormation
# templates, offline, and prints its JSON report on stdout. The acknowledged findings are not
# skipped here: test/infra/checkov.test.ts compares the findings with scripts/checkov-skips.json,
# the one place they are acknowledged, each with its reason.
#   scripts/checkov.sh a.json b.json
set -euo pipefail
files=()
for f in "$@"; do files+=(-f "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
cd "$(dirname "$0")/.."
bash scripts/python-env.sh >&2
if [ "${#files[@]}" -eq 0 ]; then
  echo "checkov.sh: give the templates to check" >&2
  exit 2
fi
# --skip-download and BC_SKIP_MAPPING: no calls to the vendor's API (no network needed).
export BC_SKIP_MAPPING=TRUE
echo "checkov $(.cache/venv/bin/checkov --version) on ${*}" >&2
exec .cache/venv/bin/checkov "${files[@]}" --framework cloudformation --skip-download --compact --quiet --soft-fail -o json
