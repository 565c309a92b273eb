#!/usr/bin/env bash
# Reproduces the paper's comparison on one dataset:
#   SASRec  = fine-tuning from scratch,
#   S3-Rec  = pre-training, then fine-tuning from the chosen checkpoint,
# both early-stopped on validation MRR (99 sampled negatives, the paper's protocol),
# then each best model evaluated with both protocols (sampled-99 and full ranking).
# Writes OUT/results.md and OUT/results.json with settings, seeds and wall-clock times.
#
# usage: scripts/reproduce.sh NAME DATA_PATH [OUT_DIR]
# environment: BUILD (build), PRETRAIN_EPOCHS (150), PRE_EPOCH (= PRETRAIN_EPOCHS),
#              SEED (2022), THREADS (all cores), EXTRA (more --key=value for every stage),
#              SKIP_PRETRAIN=1 reuses OUT/saved checkpoints (and OUT/pretrain/log.jsonl),
#              SKIP_SASREC=1 reuses an earlier SASRec run in OUT.
set -euo pipefail
NAME=${1:?usage: reproduce.sh NAME DATA_PATH [OUT_DIR]}
DATA=${2:?usage: reproduce.sh NAME DATA_PATH [OUT_DIR]}
OUT=${3:-runs/reproduce-$NAME}
BUILD=${BUILD:-build}
S3REC="$BUILD/s3rec"
P_EPOCHS=${PRETRAIN_EPOCHS:-150}
PRE_EPOCH=${PRE_EPOCH:-$P_EPOCHS}
SEED=${SEED:-2022}
THREADS=${THREADS:-$(nproc)}
EXTRA=${EXTRA:-}
mkdir -p "$OUT"
COMMON=(--data_path="$DATA" --dataset="$NAME" --seed="$SEED" --threads="$THREADS")
# shellcheck disable=SC2206
[ -n "$EXTRA" ] && COMMON+=($EXTRA)

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b - a}'; }

if [ "${SKIP_SASREC:-0}" != 1 ]; then
  t0=$(now)
  echo "== SASRec: fine-tuning from scratch"
  "$S3REC" finetune "${COMMON[@]}" --run_dir="$OUT/sasrec" --json="$OUT/sasrec-sampled.json"
  t1=$(now)
  "$S3REC" evaluate "${COMMON[@]}" --model_path="$OUT/sasrec/SASRec-$NAME-finetuned.safetensors" \
    --eval_mode=full --json="$OUT/sasrec-full.json"
  t2=$(now)
  echo "sasrec_ft=$(elapsed "$t0" "$t1"); sasrec_ev=$(elapsed "$t1" "$t2")" > "$OUT/sasrec-seconds.sh"
fi
t2=$(now)
if [ "${SKIP_PRETRAIN:-0}" != 1 ]; then
  echo "== S3-Rec: pre-training for $P_EPOCHS epochs"
  "$S3REC" pretrain "${COMMON[@]}" --pretrain_epochs="$P_EPOCHS" --save_step=10 \
    --checkpoint_dir="$OUT/saved" --run_dir="$OUT/pretrain"
fi
t3=$(now)
echo "== S3-Rec: fine-tuning from S3Rec-$NAME-$PRE_EPOCH"
"$S3REC" finetune "${COMMON[@]}" --pre_model_path="$OUT/saved/S3Rec-$NAME-$PRE_EPOCH.safetensors" \
  --run_dir="$OUT/s3rec" --json="$OUT/s3rec-sampled.json"
t4=$(now)
"$S3REC" evaluate "${COMMON[@]}" --model_path="$OUT/s3rec/S3Rec-$NAME-finetuned.safetensors" \
  --eval_mode=full --json="$OUT/s3rec-full.json"
t5=$(now)

# shellcheck disable=SC1091
. "$OUT/sasrec-seconds.sh"
# pre-training time: the epochs' own seconds up to the checkpoint used (from the JSON-lines log)
# (an epoch logged twice, by a run that was interrupted and resumed, counts once: the last time)
pre=$(awk -v last="$PRE_EPOCH" -F'"seconds":' '/"stage":"pretrain"/{split($0,a,"\"epoch\":");split(a[2],b,",");
  if (b[1]+0 <= last) {split($2,c,/[,}]/); t[b[1]+0] = c[1]}} END{for (e in t) s += t[e]; printf "%.1f", s}' \
  "$OUT/pretrain/log.jsonl")
s3rec_ft=$(elapsed "$t3" "$t4"); s3rec_ev=$(elapsed "$t4" "$t5")
best_epoch() { grep -o '"best_epoch": *[0-9]*' "$1/results.json" | grep -o '[0-9]*$'; }

# "KEY value" lines of the test section of a results JSON file
test_metrics() { awk '/"test"/{t=1;next} t&&/}/{t=0} t{gsub(/[",:]/,"");print $1, $2}' "$1"; }
row() { echo "| $1 |$(test_metrics "$2" | awk '{printf " %.4f |", $2}')"; }  # model file
header() { echo "| model |$(test_metrics "$1" | awk '{printf " %s |", $1}')"; \
           echo "|---|$(test_metrics "$1" | awk '{printf "---|"}')"; }
{
  echo "# $NAME: SASRec vs S3-Rec (test set)"
  echo
  echo "Settings: paper defaults (d=64, 2 layers, 2 heads, dropout 0.5, lr 1e-3, pre-training batch 200,"
  echo "fine-tuning batch 256, early stopping on validation MRR with patience 10), seed $SEED, $THREADS threads,"
  echo "S3-Rec pre-trained $P_EPOCHS epochs and fine-tuned from epoch $PRE_EPOCH.${EXTRA:+ Extra options: \`$EXTRA\`.}"
  echo
  echo "Sampled (target + 99 negatives from ${NAME}_sample.txt):"
  echo
  header "$OUT/sasrec-sampled.json"
  row SASRec "$OUT/sasrec-sampled.json"
  row S3-Rec "$OUT/s3rec-sampled.json"
  echo
  echo "Full ranking (all items, history excluded):"
  echo
  header "$OUT/sasrec-full.json"
  row SASRec "$OUT/sasrec-full.json"
  row S3-Rec "$OUT/s3rec-full.json"
  echo
  echo "| stage | wall-clock s |"
  echo "|---|---|"
  echo "| SASRec fine-tuning (best epoch $(best_epoch "$OUT/sasrec")) | $sasrec_ft |"
  echo "| SASRec full-ranking evaluation | $sasrec_ev |"
  echo "| S3-Rec pre-training (epochs 1-$PRE_EPOCH, sum of the logged epoch times) | $pre |"
  echo "| S3-Rec fine-tuning (best epoch $(best_epoch "$OUT/s3rec")) | $s3rec_ft |"
  echo "| S3-Rec full-ranking evaluation | $s3rec_ev |"
} > "$OUT/results.md.tmp" && mv "$OUT/results.md.tmp" "$OUT/results.md"

{
  echo "{\"dataset\": \"$NAME\", \"seed\": $SEED, \"threads\": $THREADS, \"pretrain_epochs\": $P_EPOCHS,"
  echo " \"pre_epoch\": $PRE_EPOCH, \"extra\": \"$EXTRA\","
  echo " \"SASRec\": {\"sampled\": $(cat "$OUT/sasrec-sampled.json"), \"full\": $(cat "$OUT/sasrec-full.json"),"
  echo "            \"seconds\": {\"finetune\": $sasrec_ft, \"evaluate_full\": $sasrec_ev}},"
  echo " \"S3-Rec\": {\"sampled\": $(cat "$OUT/s3rec-sampled.json"), \"full\": $(cat "$OUT/s3rec-full.json"),"
  echo "            \"seconds\": {\"pretrain\": $pre, \"finetune\": $s3rec_ft, \"evaluate_full\": $s3rec_ev}}}"
} > "$OUT/results.json.tmp" && mv "$OUT/results.json.tmp" "$OUT/results.json"
cat "$OUT/results.md"
