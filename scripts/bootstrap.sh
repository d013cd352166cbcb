#!/usr/bin/env bash
# Install everything this repo needs to build and test, on a fresh Debian 12 machine (as root).
#
# Idempotent: every step checks first and is a fast no-op when its tool is already there.
# What it installs (see DEVELOPERS.md for why and how long each takes):
#   apt:   rustc-web cargo-web rust-web-src lld-19  -> Rust 1.96 with std sources, for wasm32 and
#                                                      bare-metal builds with -Zbuild-std
#          binaryen                                  -> wasm-opt
#          chromium                                  -> headless browser tests
#   npm:   rust-just (prebuilt `just`); falls back to `cargo install just`
#   cargo: wasm-bindgen-cli, exactly the version bindings/Cargo.toml pins
set -euo pipefail

export PATH="$HOME/.cargo/bin:$PATH"

WASM_BINDGEN_VERSION="0.2.130"
APT_PACKAGES=(rustc-web cargo-web rust-web-src lld-19 binaryen chromium)

log() { printf '[bootstrap] %s\n' "$*" >&2; }
# Run a command and say how long it took.
timed() {
    local start=$SECONDS
    "$@"
    log "  done in $((SECONDS - start))s: $*"
}

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            echo sudo
        else
            log "not root and no sudo: cannot install $*"
            exit 1
        fi
    fi
}

# --- apt ---------------------------------------------------------------------
missing_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing_apt+=("$pkg")
    fi
done
if [ ${#missing_apt[@]} -gt 0 ]; then
    SUDO=$(need_root "apt packages")
    log "apt: installing ${missing_apt[*]}"
    timed $SUDO apt-get update -qq
    timed env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing_apt[@]}" >/dev/null
else
    log "apt: all present (${APT_PACKAGES[*]})"
fi

# --- just --------------------------------------------------------------------
if command -v just >/dev/null 2>&1; then
    log "just: present ($(just --version))"
else
    installed=0
    if command -v npm >/dev/null 2>&1; then
        log "just: installing with npm (rust-just, prebuilt binary)"
        if timed npm install --global --no-fund --no-audit --loglevel=error rust-just; then
            hash -r
            command -v just >/dev/null 2>&1 && installed=1
        fi
    fi
    if [ "$installed" -eq 0 ]; then
        log "just: installing with cargo install just"
        timed cargo install just
    fi
    log "just: $(just --version) at $(command -v just)"
fi

# --- wasm-bindgen-cli --------------------------------------------------------
have_wb=""
if command -v wasm-bindgen >/dev/null 2>&1; then
    have_wb=$(wasm-bindgen --version | awk '{print $2}')
fi
if [ "$have_wb" = "$WASM_BINDGEN_VERSION" ]; then
    log "wasm-bindgen-cli: present ($have_wb)"
else
    log "wasm-bindgen-cli: installing $WASM_BINDGEN_VERSION (have: ${have_wb:-none}); takes a few minutes"
    # No --locked: the CLI's own lockfile pins crates that no longer build with this toolchain.
    timed cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# --- rustup components used by the justfile (present on this machine kind; check anyway) -------
for comp in rustfmt clippy; do
    if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
        log "rustup: adding $comp"
        timed rustup component add "$comp"
    fi
done

log "ready: $(cargo --version); debian $(/usr/bin/rustc --version 2>/dev/null || echo "rustc-web missing"); $(wasm-bindgen --version); $(wasm-opt --version 2>/dev/null || echo 'wasm-opt ?')"
