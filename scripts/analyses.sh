#!/usr/bin/env bash
# The paper's further analyses on one dataset, after scripts/reproduce.sh has pre-trained
# it (OUT/saved holds S3Rec-NAME-10.safetensors, -20, -50, -100):
#   1. pre-training epochs: fine-tune from the checkpoints after 10, 20, 50 and 100 epochs;
#   2. ablation: pre-train ABL_EPOCHS epochs with one objective's weight set to 0, fine-tune;
#   3. amount of training data: SASRec and S3-Rec (pre-trained ABL_EPOCHS epochs) on
#      20/40/60/80/100% of each user's training data (train_fraction, both stages).
# Every fine-tuning uses stopping_step=STOP; test metrics with 99 sampled negatives.
# A step whose result exists is skipped, so an interrupted run continues where it stopped.
# Writes OUT/analysis/analyses.md.
#
# usage: scripts/analyses.sh NAME DATA_PATH OUT
# environment: BUILD (build), SEED (2022), THREADS (all cores), ABL_EPOCHS (20), STOP (30),
#              STEPS ("epochs ablation fraction"), EXTRA (more options for every command,
#              e.g. "--hidden_size=32": the same as the pre-training's)
set -euo pipefail
NAME=${1:?usage: analyses.sh NAME DATA_PATH OUT}
DATA=${2:?usage: analyses.sh NAME DATA_PATH OUT}
OUT=${3:?usage: analyses.sh NAME DATA_PATH OUT}
BUILD=${BUILD:-build}
S3REC="$BUILD/s3rec"
SEED=${SEED:-2022}
THREADS=${THREADS:-$(nproc)}
ABL=${ABL_EPOCHS:-20}
STOP=${STOP:-30}
STEPS=${STEPS:-epochs ablation fraction}
A="$OUT/analysis"
mkdir -p "$A"
COMMON=(--data_path="$DATA" --dataset="$NAME" --seed="$SEED" --threads="$THREADS")
# shellcheck disable=SC2206
[ -n "${EXTRA:-}" ] && COMMON+=($EXTRA)

# finetune TAG [options...]: fine-tune into A/TAG, result A/TAG.json (skipped when present)
finetune() {
  local tag=$1; shift
  [ -f "$A/$tag.json" ] && return 0
  echo "== fine-tuning $tag"
  "$S3REC" finetune "${COMMON[@]}" --stopping_step="$STOP" --run_dir="$A/$tag" --json="$A/$tag.json" "$@" \
    > "$A/$tag.log" 2>&1
}
# pretrain TAG [options...]: ABL epochs into A/TAG-saved (skipped when the checkpoint exists)
pretrain() {
  local tag=$1; shift
  [ -f "$A/$tag-saved/S3Rec-$NAME-$ABL.safetensors" ] && return 0
  echo "== pre-training $tag ($ABL epochs)"
  "$S3REC" pretrain "${COMMON[@]}" --pretrain_epochs="$ABL" --save_step="$ABL" \
    --checkpoint_dir="$A/$tag-saved" --run_dir="$A/$tag-pretrain" "$@" > "$A/$tag-pretrain.log" 2>&1
}
ckpt() { echo "$OUT/saved/S3Rec-$NAME-$1.safetensors"; }

for step in $STEPS; do
  case $step in
    epochs)
      for e in 10 20 50 100; do finetune "epochs-$e" --pre_model_path="$(ckpt "$e")"; done ;;
    ablation)
      for w in aap mip map sp; do
        pretrain "no-$w" --"${w}_weight"=0
        finetune "no-$w" --pre_model_path="$A/no-$w-saved/S3Rec-$NAME-$ABL.safetensors"
      done ;;
    fraction)
      for f in 0.2 0.4 0.6 0.8 1.0; do
        finetune "sasrec-f$f" --train_fraction="$f"
        if [ "$f" = 1.0 ]; then
          finetune "s3rec-f$f" --pre_model_path="$(ckpt "$ABL")"
        else
          pretrain "f$f" --train_fraction="$f"
          finetune "s3rec-f$f" --train_fraction="$f" --pre_model_path="$A/f$f-saved/S3Rec-$NAME-$ABL.safetensors"
        fi
      done ;;
    *) echo "unknown step '$step' (accepted: epochs ablation fraction)" >&2; exit 2 ;;
  esac
done

# one table row: LABEL TAG -> test HR@10, NDCG@10, MRR and the best epoch
metric() { awk -v k="\"$2\"" '/"test"/{t=1} t && index($0, k) {gsub(/[,}]/, "", $2); print $2; exit}' "$1"; }
row() {
  local f="$A/$2.json"
  [ -f "$f" ] || { echo "| $1 | (not run) | | | |"; return; }
  local best; best=$(grep -o '"best_epoch": *[0-9]*' "$A/$2/results.json" | grep -o '[0-9]*$')
  printf '| %s | %.4f | %.4f | %.4f | %s |\n' "$1" "$(metric "$f" HR@10)" "$(metric "$f" NDCG@10)" \
    "$(metric "$f" MRR)" "$best"
}
table_head() { echo "| $1 | HR@10 | NDCG@10 | MRR | best epoch |"; echo "|---|---|---|---|---|"; }
{
  echo "# $NAME: analyses (test set, 99 sampled negatives; seed $SEED, stopping_step $STOP)"
  echo
  echo "Pre-training epochs (fine-tuned from the checkpoint after E epochs):"
  echo
  table_head "pre-training epochs"
  for e in 10 20 50 100; do row "$e" "epochs-$e"; done
  echo
  echo "Ablation ($ABL pre-training epochs, one objective's weight set to 0):"
  echo
  table_head "objectives"
  row "all four" "epochs-$ABL"
  for w in aap mip map sp; do row "without ${w^^}" "no-$w"; done
  echo
  echo "Amount of training data (train_fraction in both stages; S3-Rec pre-trained $ABL epochs):"
  echo
  table_head "model, data"
  for f in 0.2 0.4 0.6 0.8 1.0; do row "SASRec, $f" "sasrec-f$f"; row "S3-Rec, $f" "s3rec-f$f"; done
} > "$A/analyses.md.tmp" && mv "$A/analyses.md.tmp" "$A/analyses.md"
cat "$A/analyses.md"
