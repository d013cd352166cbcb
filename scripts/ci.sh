#!/usr/bin/env bash
# The project's test command: install what is missing (fast no-op when present), then `just ci`,
# then the fixture tests once more from a clone that has nothing beside it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

start=$SECONDS
bash scripts/bootstrap.sh
echo "[ci] bootstrap: $((SECONDS - start))s"

start=$SECONDS
just ci
echo "[ci] just ci: $((SECONDS - start))s"

# The tests must own their data: a checkout that finds its fixtures only because some directory
# happens to sit next to it (a sibling checkout holding them) passes here and fails everywhere
# else. So clone the committed tree into `$tmp/repo`, where `$tmp/repo/..` holds nothing else,
# and run the tests that read fixture files there. CARGO_TARGET_DIR is the main `target`, so the
# dependencies `just ci` just built are reused and only this crate's test binaries compile again
# (a clone at another path is another package to cargo). A local run tests the last commit, not
# uncommitted edits.
start=$SECONDS
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone --quiet "$PWD" "$tmp/repo"
(cd "$tmp/repo" && CARGO_TARGET_DIR="$root/target" cargo test --features cli,bbolt \
    --test migrate --test bbolt_reader --test cli --test old_stores)
echo "[ci] fixture tests from a bare clone: $((SECONDS - start))s"
