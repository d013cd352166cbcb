#!/usr/bin/env bash
# The project's test command: install what is missing (fast no-op when present), then `just ci`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

start=$SECONDS
bash scripts/bootstrap.sh
echo "[ci] bootstrap: $((SECONDS - start))s"

start=$SECONDS
just ci
echo "[ci] just ci: $((SECONDS - start))s"
