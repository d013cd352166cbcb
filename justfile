# Task runner for bacalhau-state. `just` lists the recipes; `just ci` is what CI runs.
# Tools come from scripts/bootstrap.sh; DEVELOPERS.md explains the two toolchains.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Native builds use rustup's stable toolchain (cargo/rustc on PATH) and ./target.
#
# wasm32 and bare-metal builds use Debian's Rust 1.96 (packages rustc-web cargo-web
# rust-web-src lld-19): rustup here has no targets but x86_64 and cannot download any, while
# Debian ships the std sources, so `-Zbuild-std` builds core/alloc/std for any target rustc
# knows. RUSTC_BOOTSTRAP=1 unlocks -Z flags on that stable compiler. Its artifacts must stay
# out of ./target (mixing two compilers' artifacts fails with E0514), hence their own dirs.
debian_cargo := "env RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 /usr/bin/cargo"

# Bare-metal target for the no_std check (Cortex-M4F, no OS, no std in its sysroot).
nostd_target := "thumbv7em-none-eabihf"

# wasm32 builds turn reference-types off: Debian's wasm-opt (binaryen 108) rewrites
# wasm-bindgen's externref table so that it fails at instantiation
# ("WebAssembly.Table.set(): Argument 1 is invalid for table"). Without reference-types
# wasm-bindgen keeps JS objects in a JS-side heap instead, and wasm-opt -Oz output works.
wasm_rustflags := "-Ctarget-feature=-reference-types"

# List the recipes.
default:
    @just --list

# The main job: a requester and 3 compute nodes drive 1000 jobs on the default durable stores.
main *args:
    cargo run --release --features cli -- simulate {{args}}

# Everything CI checks: the suite, then a bounded crash soak.
ci: test soak-ci

# The whole suite.
test: fmt-check clippy test-native no-std wasm-test js-test browser-test
    @echo "just test: all passed"

# Check formatting (rustfmt).
fmt-check:
    cargo fmt --all --check

# Format the code in place.
fmt:
    cargo fmt --all

# Lint every workspace crate and target natively, with the CLI and the bbolt reader; warnings fail.
clippy:
    cargo clippy --workspace --all-targets --features cli,bbolt -- -D warnings
    cargo clippy --all-targets --no-default-features --features std -- -D warnings

# Native tests: every feature (std, redb, cli, bbolt: CLI, migration and bbolt reader tests),
# then the memory-only build (std, no redb).
test-native:
    cargo test --features cli,bbolt
    cargo test --no-default-features --features std

# Build the core without std (alloc only) for a bare-metal target and for wasm32. Only core +
# alloc are in the sysroot (-Zbuild-std=core,alloc), so any use of std, by the core or by a
# dependency, fails to compile. Both targets in one cargo run: ~1 min fresh instead of ~2.
no-std:
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="{{wasm_rustflags}}" CARGO_TARGET_DIR=target-nostd \
        {{debian_cargo}} build -p bacalhau-state --no-default-features \
        --target {{nostd_target}} --target wasm32-unknown-unknown -Zbuild-std=core,alloc

# Size settings for the release .wasm only (env, so native release builds keep their profile):
# opt-level z + fat LTO + one codegen unit, and the immediate-abort panic strategy (the bindings
# never panic; without the panic formatting machinery the module is ~25% smaller). With nothing
# printing panics, their source locations are dead weight too (-Zlocation-detail=none: 0.2 KB).
wasm_release_env := "CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_DEBUG=0"

# Two small crates on the wasm hot path are optimized for speed instead of size: the allocator
# (dlmalloc, every record copy) and ciborium-ll (every CBOR header the boundary encodes and
# decodes). Measured: the same gzipped size (+1.6 KB raw), 5-20% more lifecycle ops/s in Node.
wasm_speed_config := "--config profile.release.package.dlmalloc.opt-level=3 --config profile.release.package.ciborium-ll.opt-level=3"

# std built with its `optimize_for_size` feature: smaller sort and formatting code with the same
# results (the core only sorts stably): 8 KB less gzipped wasm, speed within the noise. It
# replaces std's default build-std features, of which only `panic-unwind` applies, unused here.
wasm_std_features := "-Zbuild-std-features=optimize_for_size"

# `--target web`: one ES module that loads in a browser page without a bundler, and in Node via
# initSync (see tests/js/load.mjs). `wasm-opt --converge` repeats -Oz until the module stops
# shrinking: 0.8 KB less gzipped than one pass (measured; the same passes, so the same semantics).
# `--flatten --rereloop` first: binaryen rebuilds every function's control flow from its CFG
# before -Oz, which -Oz then shrinks further: 0.4 KB less gzipped (measured; run twice it grows
# again), the same Node lifecycle rate within noise (27-31k ops/s both ways, alternating runs).
# `--remove-producers-section`: the toolchain-telemetry custom section (0.1 KB), read by no loader.
# The gzipped module's budget (150 KiB). Over it, `just wasm` (and so CI) fails.
wasm_budget := "153600"

# Build the JS package in pkg/ (release wasm -> wasm-bindgen -> wasm-opt -Oz); prints the gzipped size.
wasm: _check-wasm-bindgen
    env {{wasm_release_env}} \
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="{{wasm_rustflags}} -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none" \
        CARGO_TARGET_DIR=target-wasm \
        {{debian_cargo}} build -p bacalhau-state-wasm --release --target wasm32-unknown-unknown \
        -Zbuild-std=std,panic_abort {{wasm_std_features}} {{wasm_speed_config}}
    rm -rf pkg
    wasm-bindgen --target web --remove-producers-section --out-dir pkg \
        target-wasm/wasm32-unknown-unknown/release/bacalhau_state_wasm.wasm
    wasm-opt --flatten --rereloop -Oz --converge pkg/bacalhau_state_wasm_bg.wasm -o pkg/bacalhau_state_wasm_bg.wasm
    @raw=$(stat -c %s pkg/bacalhau_state_wasm_bg.wasm); gz=$(gzip -9 -c pkg/bacalhau_state_wasm_bg.wasm | wc -c); \
        echo "wasm size: $raw bytes raw, $gz bytes gzipped ($((gz / 1024)) KiB; budget 150 KiB)"; \
        [ "$gz" -le {{wasm_budget}} ] || { echo "wasm size: over the budget by $((gz - {{wasm_budget}})) bytes (see DEVELOPERS.md, wasm package size)"; exit 1; }

# The conformance scenarios on wasm32 (memory backend) under wasm-bindgen-test in Node, after
# the bindings' own unit tests (native: their argument decoders against the core's derives).
wasm-test: _check-wasm-bindgen
    cargo test -p bacalhau-state-wasm --lib
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="{{wasm_rustflags}}" CARGO_TARGET_DIR=target-wasm \
        {{debian_cargo}} test -p bacalhau-state-wasm --target wasm32-unknown-unknown \
        -Zbuild-std=std,panic_abort --test conformance

# The JS suites (node --test) and the TypeScript check, against a fresh pkg/.
js-test: wasm
    cd tests/js && { [ -d node_modules ] || npm ci --no-audit --no-fund; }
    cd tests/js && node --test
    cd tests/js && npx tsc --noEmit -p .

# Serve the in-browser simulation (web/) and pkg/ on localhost (builds pkg/ if missing).
sim port="8080":
    [ -f pkg/bacalhau_state_wasm_bg.wasm ] || just wasm
    node tests/browser/serve.mjs {{port}}

# The simulation page end to end in headless Debian chromium (playwright-core), against a fresh pkg/.
browser-test: wasm
    cd tests/browser && { [ -d node_modules ] || npm ci --no-audit --no-fund; }
    cd tests/browser && node --test

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
_check-wasm-bindgen:
    #!/usr/bin/env bash
    set -euo pipefail
    want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)
    have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
    if [ "$want" != "$have" ]; then
        echo "wasm-bindgen CLI is '${have:-missing}', Cargo.lock wants '$want': run scripts/bootstrap.sh" >&2
        exit 1
    fi

# The benchmark suite: each workload on our store and on raw redb, one table with the
# ratios and targets (docs/performance.md). Quick by default; `just bench --full` adds the 1M rows.
# The wasm row uses pkg/ as built by `just wasm`.
bench *args:
    cargo bench --bench bench -- {{args}}

# Fuzz each cargo-fuzz target for 60 s (prints a message and exits 0 when cargo-fuzz cannot run).
# Not part of `ci`: the toolchain here is stable (cargo-fuzz runs via RUSTC_BOOTSTRAP) and its
# first build takes minutes; the committed corpus is replayed by `cargo test` (fuzz_regressions).
fuzz-smoke:
    bash scripts/fuzz-smoke.sh

# The soak as CI runs it: 90 s of the simulate-like workload with SIGKILLs and reopen. Built
# optimized: every round's check walks both whole stores, which in a debug build soon takes
# longer than the work between kills.
soak-ci:
    CRASH_SOAK_SECS=90 cargo test --release --features cli,bbolt --test crash -- --ignored --nocapture soak

# The bounded soak (SIGKILL + reopen, ~2.5 min) and every fault-injection point.
soak:
    cargo test --release --features cli,bbolt --test crash -- --ignored --nocapture soak
    FAULTS_FULL=1 cargo test --test faults
    PROPTEST_CASES=512 cargo test --release --test model
