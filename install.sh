#!/usr/bin/env bash
# Install kiro-aws from this checkout: builds a release binary with cargo and puts it in
# $PREFIX/bin (default ~/.local). Needs a Rust toolchain (rustup.rs).
set -euo pipefail
cd "$(dirname "$0")"
prefix="${PREFIX:-$HOME/.local}"
if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo was not found; install Rust first (https://rustup.rs)" >&2
  exit 4
fi
cargo install --locked --path . --root "$prefix"
echo "installed: $prefix/bin/kiro-aws"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: add $prefix/bin to PATH" ;;
esac
