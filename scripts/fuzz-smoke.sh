#!/usr/bin/env bash
# Fuzz smoke for CI: each cargo-fuzz target for FUZZ_SECONDS (default 60) seconds,
# starting from the committed seeds (fuzz/seeds/<target>). Needs cargo-fuzz and libFuzzer's
# nightly flags, which RUSTC_BOOTSTRAP=1 unlocks on the stable toolchain. When the toolchain
# cannot run it, says so and exits 0: tests/fuzz_regressions.rs replays the seeds and every
# recorded crasher in plain `cargo test` anyway.
# A crash fails the script; copy fuzz/artifacts/<target>/crash-* to tests/fuzz-crashers/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_SECONDS:-60}"
targets=(snapshot_decode record_decode model)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: cargo-fuzz is not installed (cargo install cargo-fuzz); skipped"
    exit 0
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
if ! (cd fuzz && cargo fuzz build -O >/tmp/fuzz-smoke-build.log 2>&1); then
    echo "fuzz-smoke: the toolchain cannot build the fuzz targets (see /tmp/fuzz-smoke-build.log); skipped"
    tail -5 /tmp/fuzz-smoke-build.log
    exit 0
fi
status=0
for t in "${targets[@]}"; do
    work="$(mktemp -d)"
    # Run on a scratch copy of the seeds: the committed corpus does not grow in CI.
    cp -r "fuzz/seeds/$t/." "$work/" 2>/dev/null || true
    log="$(mktemp)"
    if (cd fuzz && cargo fuzz run -O "$t" "$work" -- -max_total_time="$secs" -rss_limit_mb=4096 >"$log" 2>&1); then
        runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
        if [ -z "$runs" ]; then
            runs="$(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#')"
        fi
        echo "fuzz-smoke: $t: ${runs:-?} executions in ${secs}s, no crash"
    else
        echo "fuzz-smoke: $t FAILED:"
        tail -40 "$log"
        status=1
    fi
    rm -rf "$work" "$log"
done
exit $status
