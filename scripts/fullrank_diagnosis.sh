#!/usr/bin/env bash
# The full-ranking diagnosis of docs/results.md ("Full ranking: where S3-Rec loses"), on
# generated data with a popularity skew that nobody tuned for:
#   1. generate 2,000 users x 2,000 items (popularity skew 1, seed 11),
#   2. pre-train S3-Rec PRETRAIN_EPOCHS epochs (checkpoints every 10),
#   3. fine-tune SASRec and S3-Rec from the checkpoints in EPOCHS with --eval_mode=full
#      (validation and early stopping on full-ranking NDCG@20), one run per seed in SEEDS,
#   4. print test HR@20 / NDCG@20 per run and the mean per model (OUT/fullrank.md).
# usage: scripts/fullrank_diagnosis.sh [OUT_DIR]
# environment: BUILD (build), THREADS (1), SEEDS ("2022 2023 2024"), PRETRAIN_EPOCHS (100),
#              EPOCHS ("10 50 100"), PRE_BATCH (s3rec's default), EXTRA (more --key=value)
# Cost on the 2-core AMD EPYC host, one thread: pre-training about 14 s per epoch,
# a fine-tuning run 1-3 minutes.
set -euo pipefail
OUT=${1:-runs/fullrank-diagnosis}
BUILD=${BUILD:-build}
S3REC="$BUILD/s3rec"
THREADS=${THREADS:-1}
SEEDS=${SEEDS:-2022 2023 2024}
P_EPOCHS=${PRETRAIN_EPOCHS:-100}
EPOCHS=${EPOCHS:-10 50 100}
EXTRA=${EXTRA:-}
mkdir -p "$OUT"
"$S3REC" generate --output="$OUT/data" --dataset=synpop --users=2000 --items=2000 \
  --popularity_skew=1 --max_length=30 --seed=11
COMMON=(--data_path="$OUT/data" --dataset=synpop --threads="$THREADS")
# shellcheck disable=SC2206
[ -n "$EXTRA" ] && COMMON+=($EXTRA)
PRE=()
[ -n "${PRE_BATCH:-}" ] && PRE+=(--pretrain_batch_size="$PRE_BATCH")

if [ ! -f "$OUT/saved/S3Rec-synpop-$P_EPOCHS.safetensors" ]; then
  "$S3REC" pretrain "${COMMON[@]}" "${PRE[@]}" --seed=2022 --pretrain_epochs="$P_EPOCHS" \
    --checkpoint_dir="$OUT/saved" --run_dir="$OUT/pretrain"
fi
for seed in $SEEDS; do
  [ -f "$OUT/ft/sasrec-$seed.json" ] || "$S3REC" finetune "${COMMON[@]}" --seed="$seed" \
    --eval_mode=full --run_dir="$OUT/ft/sasrec-$seed" --json="$OUT/ft/sasrec-$seed.json" > /dev/null
  for ep in $EPOCHS; do
    [ -f "$OUT/ft/s3rec-$ep-$seed.json" ] || "$S3REC" finetune "${COMMON[@]}" --seed="$seed" \
      --eval_mode=full --pre_model_path="$OUT/saved/S3Rec-synpop-$ep.safetensors" \
      --run_dir="$OUT/ft/s3rec-$ep-$seed" --json="$OUT/ft/s3rec-$ep-$seed.json" > /dev/null
  done
done

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/fullrank.md"
import glob, json, os, statistics, sys
out = sys.argv[1]
runs = {}
for path in sorted(glob.glob(os.path.join(out, "ft", "*.json"))):
    name, seed = os.path.basename(path)[:-5].rsplit("-", 1)
    with open(path) as f:
        test = json.load(f)["test"]
    runs.setdefault(name, []).append((seed, test["HR@20"], test["NDCG@20"]))
print("| model | seeds | HR@20 per seed | NDCG@20 per seed | HR@20 mean | NDCG@20 mean |")
print("|---|---|---|---|---|---|")
for name, rows in sorted(runs.items(), key=lambda kv: (kv[0] != "sasrec", len(kv[0]), kv[0])):
    label = "SASRec" if name == "sasrec" else f"S3-Rec, pre-trained {name.split('-')[1]} epochs"
    print(f"| {label} | {' '.join(r[0] for r in rows)} | {' '.join(f'{r[1]:.4f}' for r in rows)} | "
          f"{' '.join(f'{r[2]:.4f}' for r in rows)} | {statistics.mean(r[1] for r in rows):.4f} | "
          f"{statistics.mean(r[2] for r in rows):.4f} |")
PY
