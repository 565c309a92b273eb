#!/usr/bin/env bash
# Interleaved A/B timing of whole Beauty epochs (bench_epochs, 2 threads): a baseline build
# against this build in fp32 and bf16, one run of each per round, the load recorded before
# every run, medians at the end.
#
# usage: bench/ab_epochs.sh BASE_BUILD_DIR [ROUNDS=5] [OUT_DIR=ab-epochs] [DATA=../shared/data]
#   BASE_BUILD_DIR: a build of the code to compare with (e.g. of `git archive main`)
set -euo pipefail
base=${1:?usage: bench/ab_epochs.sh BASE_BUILD_DIR [ROUNDS] [OUT_DIR] [DATA]}
rounds=${2:-5}
out=${3:-ab-epochs}
data=${4:-../shared/data}
here=$(cd "$(dirname "$0")/.." && pwd)
new="$here/build"
mkdir -p "$out"
export OMP_WAIT_POLICY=passive
{
  lscpu | grep 'Model name'
  grep -m1 'cpu family' /proc/cpuinfo
  grep -m1 '^model' /proc/cpuinfo
} > "$out/machine.txt"
for r in $(seq 1 "$rounds"); do
  for variant in base fp32 bf16; do
    echo "round $r $variant: $(uptime)" | tee -a "$out/load.txt"
    case $variant in
      base) "$base/bench_epochs" "$data" Beauty 2 --json="$out/$variant-$r.json" ;;
      *) "$new/bench_epochs" "$data" Beauty 2 --json="$out/$variant-$r.json" --precision=$variant ;;
    esac > "$out/$variant-$r.txt"
    grep 'pre-training' "$out/$variant-$r.txt"
  done
done
python3 - "$out" <<'EOF'
import json, statistics, sys, glob, os
out = sys.argv[1]
keys = ["pretrain_epoch_s", "finetune_epoch_s", "sampled_eval_s", "full_eval_s", "peak_rss_mib"]
for variant in ["base", "fp32", "bf16"]:
    runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, variant + "-*.json")))]
    if not runs:
        continue
    cells = []
    for k in keys:
        v = [r[k] for r in runs]
        cells.append(f"{k} median {statistics.median(v):.2f} (" + " / ".join(f"{x:.2f}" for x in v) + ")")
    print(variant, len(runs), "runs:", "; ".join(cells))
EOF
