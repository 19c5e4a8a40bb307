#!/usr/bin/env bash
# The test command (`npm test`): type-check, lint, then every test (unit, integration against real
# local services, infra/CDK) with node's test runner. Python read-back tools (pyarrow, DuckDB) are
# installed into .cache/venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
bash scripts/python-env.sh
echo "== typecheck"; npx tsc --noEmit -p tsconfig.json
echo "== lint"; npx eslint .
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts test/infra/*.test.ts)
if [ "$#" -gt 0 ]; then files=("$@"); fi
echo "== tests (${#files[@]} files)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line, whatever the reporter prints above it.
passed=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
failed=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
