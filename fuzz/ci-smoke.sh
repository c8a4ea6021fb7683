#!/usr/bin/env bash
# A few seconds of fuzzing per target, for CI (issue 6), on the stable
# toolchain: neither nightly nor cargo-fuzz is needed (R-FUZZ-2).
#
# cargo-fuzz only adds rustc flags and runs libFuzzer; the flags it uses for
# coverage are stable `-C` options, and the sanitizer it adds by default
# (`-Zsanitizer=address`) is the one nightly-only part, which Rust code does
# not need (`cargo fuzz run -s none` leaves it out too). So this builds the
# targets with those coverage flags for the host triple (`--target` keeps the
# flags off build scripts and proc macros, as cargo-fuzz does) and runs each
# binary's own libFuzzer on a copy of the committed corpus.
#
# FUZZ_SECONDS: time per target (default 5). FUZZ_TARGET_DIR: where to build
# (default $CARGO_TARGET_DIR/fuzz, else fuzz/target). Exit 1 when a target
# crashed; the input is then in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-5}"
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then
  target_dir="$FUZZ_TARGET_DIR"
elif [ -n "${CARGO_TARGET_DIR:-}" ]; then
  target_dir="$CARGO_TARGET_DIR/fuzz"
else
  target_dir="$PWD/target"
fi
triple="$(rustc -vV | sed -n 's/^host: //p')"

# The flags `cargo fuzz build -s none` passes: coverage counters, the PC table
# and comparison tracing feed libFuzzer; `--cfg fuzzing` is what fuzz-aware
# crates test; debug assertions and overflow checks turn silent bugs into crashes.
export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
--cfg fuzzing -Cdebug-assertions -Coverflow-checks"
unset CARGO_ENCODED_RUSTFLAGS

echo "== fuzz build (stable, ${triple})"
# Not --locked: a dependency the mapping crate gains must not fail CI here;
# fuzz/Cargo.lock still pins everything it lists.
cargo build --release --quiet --target "$triple" --target-dir "$target_dir" --bins

failed=0
for source in fuzz_targets/*.rs; do
  target="$(basename "$source" .rs)"
  echo "== fuzz $target for ${seconds}s"
  # The committed corpus is copied so a CI run never rewrites it.
  work="$(mktemp -d)"
  cp -r "corpus/$target/." "$work/" 2>/dev/null || true
  mkdir -p "artifacts/$target"
  log="$work.log"
  if "$target_dir/$triple/release/$target" "$work" -max_total_time="$seconds" -max_len=65536 \
    -artifact_prefix="artifacts/$target/" >"$log" 2>&1; then
    grep -E '^Done [0-9]+ runs' "$log" || true
  else
    tail -n 40 "$log"
    echo "fuzz target $target FAILED: the crashing input is under fuzz/artifacts/$target/"
    failed=1
  fi
  rm -rf "$work" "$log"
done
exit "$failed"
