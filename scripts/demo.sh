#!/usr/bin/env bash
# The bundled demo: synthetic data -> S3-Rec pre-training -> fine-tuning of
# SASRec (from scratch) and S3-Rec (from the pre-trained checkpoint) -> both
# evaluated with 99 sampled negatives, printed side by side.
set -euo pipefail
BUILD=${1:-build}
S3REC="$BUILD/s3rec"
OUT=${DEMO_DIR:-runs/demo}
DATA="$OUT/data"
EPOCHS=${DEMO_PRETRAIN_EPOCHS:-20}
mkdir -p "$OUT"

"$S3REC" generate --output="$DATA" --users=1500 --items=600 --seed=7
echo "== pre-training S3-Rec for $EPOCHS epochs"
"$S3REC" pretrain --data_path="$DATA" --dataset=synthetic --pretrain_epochs="$EPOCHS" --save_step="$EPOCHS" \
  --checkpoint_dir="$OUT/saved" --run_dir="$OUT/pretrain"
echo "== fine-tuning SASRec (no pre-training)"
"$S3REC" finetune --data_path="$DATA" --dataset=synthetic --run_dir="$OUT/sasrec" --json="$OUT/sasrec.json"
echo "== fine-tuning S3-Rec"
"$S3REC" finetune --data_path="$DATA" --dataset=synthetic --run_dir="$OUT/s3rec" --json="$OUT/s3rec.json" \
  --pre_model_path="$OUT/saved/S3Rec-synthetic-$EPOCHS.safetensors"

# test metrics of both runs, side by side
test_metrics() { awk '/"test"/{t=1;next} t&&/}/{t=0} t{gsub(/[",:]/,"");print $1, $2}' "$1"; }
echo
echo "test set, 99 sampled negatives"
printf '%-8s %8s %8s\n' metric SASRec S3-Rec
paste <(test_metrics "$OUT/sasrec.json") <(test_metrics "$OUT/s3rec.json") |
  awk '{printf "%-8s %8.4f %8.4f\n", $1, $2, $4}'
