#!/usr/bin/env bash
# Builds the libFuzzer harnesses (make fuzz -> build-fuzz), replays every checked-in
# input of fuzz/corpus/NAME, then fuzzes each harness for SECONDS (default 15) on a
# scratch copy of its corpus. Any crash, leak, timeout or OOM fails the script; the
# input that caused it is left in $FUZZ_OUT/artifacts (default build-fuzz/fuzz-out).
#   scripts/fuzz_ci.sh [SECONDS]           CI: one harness after the other
#   FUZZ_PARALLEL=1 scripts/fuzz_ci.sh 1800  all harnesses at once, at nice 19, in fork mode
#                                            (a finding is saved and fuzzing goes on): the long run
# Logs: $FUZZ_OUT/NAME.log; summary: $FUZZ_OUT/summary.txt (docs/reliability.md, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-15}
OUT=${FUZZ_OUT:-build-fuzz/fuzz-out}
HARNESSES=(reference item2attributes recbole config tune_params prepare checkpoint http_api)
declare -A DICT=([item2attributes]=json [config]=yaml [tune_params]=tune [prepare]=prepare [checkpoint]=checkpoint
                 [http_api]=http)

make fuzz JOBS="${JOBS:-$(nproc)}"
rm -rf "$OUT/artifacts" && mkdir -p "$OUT/artifacts"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# the limits that make a finding: 10 s for one input, 2 GiB resident, 1 GiB in one allocation
LIMITS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1)

echo "== replaying fuzz/corpus"
for h in "${HARNESSES[@]}"; do
  build-fuzz/fuzz_$h "${LIMITS[@]}" -artifact_prefix="$OUT/artifacts/$h-" fuzz/corpus/$h/* > "$OUT/$h.replay.log" 2>&1 ||
    { tail -40 "$OUT/$h.replay.log"; echo "fuzz_ci: replaying fuzz/corpus/$h failed"; exit 1; }
  echo "  $h: $(ls fuzz/corpus/$h | wc -l) inputs ok"
done

run() {  # NAME: fuzz for SECONDS_EACH on $OUT/corpus/NAME, seeded from fuzz/corpus/NAME
  local h=$1 dict=() fork=()
  [ "${FUZZ_PARALLEL:-0}" = 1 ] && fork=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  mkdir -p "$OUT/corpus/$h"
  [ -n "${DICT[$h]:-}" ] && dict=(-dict=fuzz/dict/${DICT[$h]}.dict)
  build-fuzz/fuzz_$h "${LIMITS[@]}" "${dict[@]}" "${fork[@]}" -max_total_time="$SECONDS_EACH" \
    -artifact_prefix="$OUT/artifacts/$h-" "$OUT/corpus/$h" fuzz/corpus/$h > "$OUT/$h.log" 2>&1
}

echo "== fuzzing each harness for $SECONDS_EACH s"
failed=()
if [ "${FUZZ_PARALLEL:-0}" = 1 ]; then
  pids=()
  for h in "${HARNESSES[@]}"; do (renice -n 19 $BASHPID > /dev/null; run "$h") & pids+=($!); done
  for i in "${!HARNESSES[@]}"; do wait "${pids[$i]}" || true; done
else
  for h in "${HARNESSES[@]}"; do run "$h" || true; done
fi
for h in "${HARNESSES[@]}"; do compgen -G "$OUT/artifacts/$h-*" > /dev/null && failed+=("$h") || true; done

# the last status line: "#N  DONE cov: C ft: F corp: K/SIZE exec/s: E ..." or, in fork
# mode, "#N: cov: C ft: F corp: K exec/s E oom/timeout/crash: a/b/c time: Ts ..."
{
  printf '%-16s %12s %8s %7s %7s %7s %10s\n' harness executions exec/s cov ft corpus crashes
  for h in "${HARNESSES[@]}"; do
    last=$(grep -E '^#[0-9]+' "$OUT/$h.log" | tail -1)
    field() { grep -oE "$1[: ]+[0-9]+" <<<"$last" | grep -oE '[0-9]+$' | tail -1; }
    execs=$(grep -oE '^#[0-9]+' <<<"$last" | tr -d '#')
    secs=$(field 'time'); [ -n "$secs" ] || secs=$SECONDS_EACH
    printf '%-16s %12s %8s %7s %7s %7s %10s\n' "$h" "$execs" "$(( ${execs:-0} / (secs > 0 ? secs : 1) ))" \
      "$(field cov)" "$(field ft)" "$(field corp)" "$(compgen -G "$OUT/artifacts/$h-*" | wc -l)"
  done
} | tee "$OUT/summary.txt"
if [ ${#failed[@]} -gt 0 ]; then
  for h in "${failed[@]}"; do echo "--- $h"; grep -A30 -m1 -E '==ERROR|FUZZ FINDING|deadly signal|timeout|out-of-memory' "$OUT/$h.log" || tail -30 "$OUT/$h.log"; done
  echo "fuzz_ci: findings in ${failed[*]} (inputs in $OUT/artifacts)"
  exit 1
fi
echo "fuzz_ci: no findings"
