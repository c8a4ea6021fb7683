#!/usr/bin/env bash
# A few seconds of fuzzing per target, for CI (issue 6). Runs only where
# cargo-fuzz and a nightly toolchain are installed; otherwise says why it
# skipped and exits 0, so a machine without them is not failed for it.
# FUZZ_SECONDS overrides the time per target (default 5).
# Exit 1 if a target crashed.
set -uo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-5}"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz smoke skipped: no nightly toolchain (rustup toolchain install nightly)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz smoke skipped: cargo-fuzz is not installed (cargo install cargo-fuzz)"
  exit 0
fi

# FUZZ_TARGET_DIR: where to build (default fuzz/target).
dir_args=()
[ -n "${FUZZ_TARGET_DIR:-}" ] && dir_args=(--target-dir "$FUZZ_TARGET_DIR")

failed=0
for target in $(cargo +nightly fuzz list); do
  echo "== fuzz $target for ${seconds}s"
  # The committed corpus is copied so a CI run never rewrites it.
  work="$(mktemp -d)"
  cp -r "corpus/$target/." "$work/" 2>/dev/null || true
  if ! cargo +nightly fuzz run "${dir_args[@]}" "$target" "$work" -- -max_total_time="$seconds" -max_len=65536; then
    echo "fuzz target $target FAILED: the crashing input is under fuzz/artifacts/$target/"
    failed=1
  fi
  rm -rf "$work"
done
exit "$failed"
