#!/usr/bin/env bash
# Builds the libFuzzer harnesses (make fuzz -> build-asan, the sanitized build), replays every checked-in
# input of fuzz/corpus/NAME, then fuzzes each harness for SECONDS (default 15) on a
# scratch copy of its corpus. Any crash, leak, timeout or OOM fails the script; the
# input that caused it is left in $FUZZ_OUT/artifacts (default build-asan/fuzz-out).
#   scripts/fuzz_ci.sh [SECONDS]           CI: one harness after the other
#   FUZZ_PARALLEL=1 scripts/fuzz_ci.sh 1800  all harnesses at once, at nice 19, each restarted
#                                            after a finding until the time is up: the long run
# Logs: $FUZZ_OUT/NAME.log; summary: $FUZZ_OUT/summary.txt (docs/reliability.md, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-15}
OUT=${FUZZ_OUT:-build-asan/fuzz-out}
HARNESSES=(reference item2attributes recbole config tune_params prepare checkpoint http_api)
declare -A DICT=([item2attributes]=json [config]=yaml [tune_params]=tune [prepare]=prepare [checkpoint]=checkpoint
                 [http_api]=http)

make fuzz JOBS="${JOBS:-$(nproc)}"
rm -rf "$OUT/artifacts" && mkdir -p "$OUT/artifacts"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# the harnesses' scratch files (left behind by inputs that crash), removed on exit
S3REC_FUZZ_TMP=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/s3rec-fuzz-ci.XXXXXX")
export S3REC_FUZZ_TMP
trap 'rm -rf "$S3REC_FUZZ_TMP"' EXIT
# the limits that make a finding: 10 s for one input, 2 GiB resident, 1 GiB in one allocation
LIMITS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1)
# CI fuzzes from a fixed seed (FUZZ_SEED, default 1), so that a run explores the same inputs
# first on every machine and a finding reproduces; the long parallel run draws a fresh one.
SEED=()
[ "${FUZZ_PARALLEL:-0}" = 1 ] || SEED=(-seed="${FUZZ_SEED:-1}")

echo "== replaying fuzz/corpus"
for h in "${HARNESSES[@]}"; do
  build-asan/fuzz_$h "${LIMITS[@]}" -artifact_prefix="$OUT/artifacts/$h-" fuzz/corpus/$h/* > "$OUT/$h.replay.log" 2>&1 ||
    { tail -40 "$OUT/$h.replay.log"; echo "fuzz_ci: replaying fuzz/corpus/$h failed"; exit 1; }
  echo "  $h: $(ls fuzz/corpus/$h | wc -l) inputs ok"
done

run() {  # NAME: fuzz for SECONDS_EACH on $OUT/corpus/NAME, seeded from fuzz/corpus/NAME
  local h=$1 dict=() end=$((SECONDS + SECONDS_EACH)) left
  mkdir -p "$OUT/corpus/$h"
  [ -n "${DICT[$h]:-}" ] && dict=(-dict=fuzz/dict/${DICT[$h]}.dict)
  : > "$OUT/$h.log"
  # a finding ends a libFuzzer process; in the long run the next one goes on from the corpus
  # (fork mode would too, but its per-job start-up costs more than it fuzzes on a busy machine)
  while left=$((end - SECONDS)); [ "$left" -gt 0 ]; do
    build-asan/fuzz_$h "${LIMITS[@]}" "${SEED[@]}" "${dict[@]}" -max_total_time="$left" \
      -artifact_prefix="$OUT/artifacts/$h-" "$OUT/corpus/$h" fuzz/corpus/$h >> "$OUT/$h.log" 2>&1 && break
    [ "${FUZZ_PARALLEL:-0}" = 1 ] || break
  done
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

# executions: summed over the processes of a harness; cov, ft and corpus: the last
# status line ("#N ... cov: C ft: F corp: K/SIZE ...") of the last process
{
  printf '%-16s %12s %8s %7s %7s %7s %9s %9s\n' harness executions exec/s cov ft corpus processes findings
  for h in "${HARNESSES[@]}"; do
    log=$OUT/$h.log
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    field() { grep -oE "$1: [0-9]+" <<<"$last" | grep -oE '[0-9]+$'; }
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s += $1} END {print s + 0}')
    printf '%-16s %12s %8s %7s %7s %7s %9s %9s\n' "$h" "$execs" "$((execs / SECONDS_EACH))" "$(field cov)" \
      "$(field ft)" "$(field corp)" "$(grep -c '^INFO: Seed:' "$log")" "$(compgen -G "$OUT/artifacts/$h-*" | wc -l)"
  done
} | tee "$OUT/summary.txt"
if [ ${#failed[@]} -gt 0 ]; then
  for h in "${failed[@]}"; do echo "--- $h"; grep -A30 -m1 -E '==ERROR|FUZZ FINDING|deadly signal|timeout|out-of-memory' "$OUT/$h.log" || tail -30 "$OUT/$h.log"; done
  echo "fuzz_ci: findings in ${failed[*]} (inputs in $OUT/artifacts)"
  exit 1
fi
echo "fuzz_ci: no findings"
