#!/usr/bin/env bash
# Creates the Python environment of the read-back tools (scripts/read-parquet.py) in .cache/venv:
# pyarrow and DuckDB, pinned, as two independent Parquet readers; cfn-lint and checkov for the templates. Idempotent and quick once done:
# a stamp file records the installed package list, and the packages are reinstalled only when
# the list below changes. Called by scripts/test.sh before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# ---------------------------------------------------------------------------------------------
# PACKAGES: one pinned requirement per entry. Other engineers add theirs here
# (e.g. cfn-lint for the template checks) — keep them pinned.
PACKAGES=(
  "pyarrow==26.0.1"
  "duckdb==2.0.0"
  "cfn-lint==1.58.0"
  "checkov==3.3.30"
)
# ---------------------------------------------------------------------------------------------

VENV=.cache/venv
STAMP="$VENV/.packages.stamp"
WANTED="$(printf '%s\n' "${PACKAGES[@]}")"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANTED" ]; then
  echo "python-env: $VENV is up to date (${PACKAGES[*]})"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "python-env: creating $VENV with $(python3 --version 2>&1)"
  mkdir -p .cache
  python3 -m venv "$VENV"
fi

echo "python-env: installing ${PACKAGES[*]}"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}"
printf '%s\n' "$WANTED" > "$STAMP"
echo "python-env: done"
