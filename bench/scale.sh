#!/usr/bin/env bash
# Cost against catalogue size and user base: one pre-training epoch and one fine-tuning
# epoch on synthetic data, per configuration: seconds, encoded positions per second, peak RSS.
#
#   bench/scale.sh [OUT_DIR]            (default runs/scale)
#
# Catalogue sweep: ITEMS (10k 100k 1M 10M) at USERS (5,000) users; user sweep: USER_SWEEP
# (5k 50k 500k) at SWEEP_ITEMS (100k) items. Sequences of 5-20 items (seed 3), Zipf-skewed
# popularity (SKEW, 1). THREADS (2) threads, BUILD (build). A configuration already measured
# (OUT_DIR/NAME/result.json) is skipped, so an interrupted sweep continues. Writes
# OUT_DIR/scale.md (tables), OUT_DIR/scale.json and OUT_DIR/scale.png (chart, matplotlib).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/scale}
BUILD=${BUILD:-build}
S=$BUILD/s3rec
THREADS=${THREADS:-2}
SKEW=${SKEW:-1}
ITEMS=${ITEMS:-"10000 100000 1000000 10000000"}
USERS=${USERS:-5000}
USER_SWEEP=${USER_SWEEP:-"5000 50000 500000"}
SWEEP_ITEMS=${SWEEP_ITEMS:-100000}
EXTRA=${EXTRA:-}
mkdir -p "$OUT"
[ -x "$S" ] || { echo "scale.sh: $S not found (make build)" >&2; exit 1; }

# one configuration: NAME USERS ITEMS
measure() {
  local name=$1 users=$2 items=$3 dir="$OUT/$1"
  [ -f "$dir/result.json" ] && { echo "$name: done"; return; }
  mkdir -p "$dir"
  if [ ! -f "$dir/data/syn.txt" ]; then
    "$S" generate --output="$dir/data" --dataset=syn --users="$users" --items="$items" --min_length=5 \
      --max_length=20 --seed=3 --popularity_skew="$SKEW" > "$dir/generate.log"
  fi
  local common="--data_path=$dir/data --dataset=syn --threads=$THREADS --seed=2022 $EXTRA"
  echo "$name: pre-training epoch"
  rm -rf "$dir/pretrain" "$dir/saved"
  /usr/bin/time -f "%e %M" -o "$dir/pretrain.time" "$S" pretrain $common --pretrain_epochs=1 \
    --checkpoint_dir="$dir/saved" --run_dir="$dir/pretrain" > "$dir/pretrain.log" 2>&1
  echo "$name: fine-tuning epoch"
  rm -rf "$dir/finetune"
  /usr/bin/time -f "%e %M" -o "$dir/finetune.time" "$S" finetune $common --epochs=1 \
    --pre_model_path="$dir/saved/S3Rec-syn-1.safetensors" --run_dir="$dir/finetune" > "$dir/finetune.log" 2>&1
  rm -rf "$dir/saved"  # checkpoints of 10M items are 7.7 GB with the optimizer state
  /usr/bin/python3 - "$dir" "$name" "$users" "$items" <<'EOF'
import json, sys
d, name, users, items = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def last(path, stage):  # the last epoch line of a stage (fine-tuning ends with a test line)
    rows = [json.loads(l) for l in open(path) if l.strip()]
    return [r for r in rows if r.get("stage") == stage and "epoch" in r][-1]
p = last(f"{d}/pretrain/log.jsonl", "pretrain")
f = last(f"{d}/finetune/log.jsonl", "finetune")
pt = open(f"{d}/pretrain.time").read().split()
ft = open(f"{d}/finetune.time").read().split()
actions = sum(len(l.split()) - 1 for l in open(f"{d}/data/syn.txt"))
n_items = max(int(x) for l in open(f"{d}/data/syn.txt") for x in l.split()[1:])
r = {"name": name, "users": users, "items_generated": items, "n_items": n_items, "actions": actions,
     "pretrain_epoch_s": p["seconds"], "pretrain_positions": p["positions"],
     "pretrain_positions_per_s": p["positions"] / p["seconds"], "pretrain_process_s": float(pt[0]),
     "pretrain_peak_rss_mib": float(pt[1]) / 1024,
     "finetune_epoch_s": f["train_seconds"], "finetune_positions": f["positions"],
     "finetune_positions_per_s": f["positions"] / max(f["train_seconds"], 1e-9), "finetune_valid_s": f["seconds"] - f["train_seconds"],
     "finetune_process_s": float(ft[0]), "finetune_peak_rss_mib": float(ft[1]) / 1024}
json.dump(r, open(f"{d}/result.json", "w"), indent=1)
print(json.dumps(r))
EOF
}

for n in $ITEMS; do measure "items-$n" "$USERS" "$n"; done
for u in $USER_SWEEP; do measure "users-$u" "$u" "$SWEEP_ITEMS"; done
/usr/bin/python3 bench/scale_report.py "$OUT"
