#!/usr/bin/env bash
# Builds the native Parquet addon (native/, Rust) into native/streaming-etl-native.node, which
# processor/formats/native.ts loads. Crates come from crates.io, pinned by native/Cargo.lock.
#   bash scripts/build-native.sh             # fails without cargo
#   bash scripts/build-native.sh --if-cargo  # npm ci's prepare: without cargo, says so and succeeds
#                                            # (the processor then writes Parquet with parquet-wasm)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  if [[ "${1:-}" == "--if-cargo" ]]; then
    echo "build-native: cargo not found: the processor will use parquet-wasm (install Rust to build native/)"
    exit 0
  fi
  echo "build-native: cargo not found: install Rust (https://rustup.rs) or run with --if-cargo" >&2
  exit 1
fi
start=$(date +%s)
echo "build-native: cargo build --release --locked (native/; the first build compiles arrow and parquet, about 2 minutes)"
cargo build --release --locked --manifest-path native/Cargo.toml
case "$(uname -s)" in
  Darwin) library=native/target/release/libstreaming_etl_native.dylib ;;
  *) library=native/target/release/libstreaming_etl_native.so ;;
esac
cp "$library" native/streaming-etl-native.node.tmp
mv native/streaming-etl-native.node.tmp native/streaming-etl-native.node
echo "build-native: native/streaming-etl-native.node ($(wc -c < native/streaming-etl-native.node) bytes) in $(( $(date +%s) - start )) s"
