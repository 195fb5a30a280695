#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and prints, per target, libFuzzer's executions,
# the seconds run and the crashes found. Used by `make fuzz` and `make fuzz-smoke`; run it from
# the repository root. Settings (environment):
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   targets to run (default: all five)
#   FUZZ_REPORT    where the table is also written as TSV (default target/fuzz-report.tsv)
# The working corpus grows in tests/fuzz/corpus/<target> (git-ignored) on top of the committed
# seeds in tests/fuzz/seeds/<target>; crashes land in tests/fuzz/artifacts/<target>/.
set -uo pipefail
cd "$(dirname "$0")/../.."

FUZZ_DIR=tests/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-check_request token path manifest filing}
REPORT=${FUZZ_REPORT:-target/fuzz-report.tsv}
CARGO=${CARGO:-cargo}
# cargo-fuzz needs nightly flags (-Zsanitizer); this toolchain is stable.
export RUSTC_BOOTSTRAP=1

# The lock file is committed: refuse to run with one that would change (cargo fuzz has no
# --locked of its own).
$CARGO fetch --locked --manifest-path "$FUZZ_DIR/Cargo.toml" || exit 1
$CARGO fuzz build --fuzz-dir "$FUZZ_DIR" || exit 1

mkdir -p "$(dirname "$REPORT")"
printf 'target\texecutions\tseconds\tcrashes\n' > "$REPORT"
status=0
for t in $TARGETS; do
  corpus="$FUZZ_DIR/corpus/$t"
  artifacts="$FUZZ_DIR/artifacts/$t"
  log="$FUZZ_DIR/artifacts/$t.log"
  mkdir -p "$corpus" "$artifacts"
  before=$(find "$artifacts" -type f | wc -l)
  started=$(date +%s)
  # -timeout: one input taking over 10 s is a finding (a hang, a YAML bomb that got through);
  # -rss_limit_mb likewise for memory. -close_fd_mask=1 keeps jitgate's stdout out of the log.
  $CARGO fuzz run --fuzz-dir "$FUZZ_DIR" "$t" "$corpus" "$FUZZ_DIR/seeds/$t" -- \
    -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" > "$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - started ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  ran=$(sed -n 's/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  crashes=$(( $(find "$artifacts" -type f | wc -l) - before ))
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes="error (exit $rc)"; fi
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "--- $t failed (exit $rc); the end of $log:" >&2
    tail -40 "$log" >&2
  fi
  printf '%s\t%s\t%s\t%s\n' "$t" "${execs:-?}" "${ran:-$elapsed}" "$crashes" >> "$REPORT"
done
echo
column -t -s $'\t' "$REPORT"
exit $status
