#!/usr/bin/env bash
# Lints the synthesized CloudFormation templates with cfn-lint (pinned in scripts/python-env.sh,
# installed into .cache/venv). Fails on errors only; warnings are printed.
#   scripts/cfn-lint.sh                 # cdk.out/*.template.json and dist/StreamingEtl.template.json
#   scripts/cfn-lint.sh a.json b.json   # the given templates
set -euo pipefail
files=()
for f in "$@"; do files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
cd "$(dirname "$0")/.."
bash scripts/python-env.sh >&2
if [ "${#files[@]}" -eq 0 ]; then
  shopt -s nullglob
  files=(cdk.out/*.template.json dist/StreamingEtl.template.json)
fi
for f in "${files[@]}"; do
  if [ ! -f "$f" ]; then
    echo "cfn-lint.sh: $f not found (run npx cdk synth and npm run template first)" >&2
    exit 2
  fi
done
echo "cfn-lint $(.cache/venv/bin/cfn-lint --version | awk '{print $2}') on ${files[*]}" >&2
exec .cache/venv/bin/cfn-lint --format parseable --non-zero-exit-code error -- "${files[@]}"
