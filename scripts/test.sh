#!/usr/bin/env bash
# Runs every test: formatting and lint gates, Rust unit and integration tests, the header
# freshness and C99/C++17 checks, the ASan+UBSan builds, the random API driver, stress and fault tests,
# the C examples and C/C++ API tests (one under valgrind), all against real nats-servers that
# the tests start on free ports and kill afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-nats-server.sh
scripts/install-python-deps.sh
# Style gates first: formatting (rustfmt.toml) and lints, warnings as errors.
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
# The C programs link target/debug/libnats_ffi.so, which `cargo test` alone does not rebuild.
cargo build --locked
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --locked --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
# One closing line over every test binary: "N passed, M failed".
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
