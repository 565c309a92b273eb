#!/usr/bin/env bash
# The bundled demo: synthetic data -> S3-Rec pre-training -> fine-tuning of
# SASRec (from scratch) and S3-Rec (from the pre-trained checkpoint) with the same
# fine-tuning budget -> both evaluated with 99 sampled negatives, side by side.
# The data: 1,000 users whose tastes (20 latent clusters) drive what they pick next;
# 2,000 items whose attributes reveal their cluster. Pre-training learns the clusters
# from the attributes and the sequences, so fine-tuning starts far ahead; SASRec has to
# discover them from co-occurrences alone, which takes it several times more epochs.
set -euo pipefail
BUILD=${1:-build}
S3REC="$BUILD/s3rec"
OUT=${DEMO_DIR:-runs/demo}
DATA="$OUT/data"
EPOCHS=${DEMO_PRETRAIN_EPOCHS:-50}
FT_EPOCHS=${DEMO_FINETUNE_EPOCHS:-30}
mkdir -p "$OUT"

"$S3REC" generate --output="$DATA" --users=1000 --items=2000 --clusters=20 --p_follow=0.1 --p_taste=0.8 \
  --min_length=5 --max_length=20 --seed=7
echo "== pre-training S3-Rec for $EPOCHS epochs"
"$S3REC" pretrain --data_path="$DATA" --dataset=synthetic --pretrain_epochs="$EPOCHS" --save_step="$EPOCHS" \
  --pretrain_batch_size=100 --checkpoint_dir="$OUT/saved" --run_dir="$OUT/pretrain"
echo "== fine-tuning SASRec (no pre-training), at most $FT_EPOCHS epochs"
"$S3REC" finetune --data_path="$DATA" --dataset=synthetic --epochs="$FT_EPOCHS" --run_dir="$OUT/sasrec" \
  --json="$OUT/sasrec.json"
echo "== fine-tuning S3-Rec, at most $FT_EPOCHS epochs"
"$S3REC" finetune --data_path="$DATA" --dataset=synthetic --epochs="$FT_EPOCHS" --run_dir="$OUT/s3rec" \
  --json="$OUT/s3rec.json" \
  --pre_model_path="$OUT/saved/S3Rec-synthetic-$EPOCHS.safetensors"

# test metrics of both runs, side by side
test_metrics() { awk '/"test"/{t=1;next} t&&/}/{t=0} t{gsub(/[",:]/,"");print $1, $2}' "$1"; }
echo
echo "test set, 99 sampled negatives; $FT_EPOCHS fine-tuning epochs at most for both (early stopping on)"
printf '%-8s %8s %8s\n' metric SASRec S3-Rec
paste <(test_metrics "$OUT/sasrec.json") <(test_metrics "$OUT/s3rec.json") |
  awk '{printf "%-8s %8.4f %8.4f\n", $1, $2, $4}'
