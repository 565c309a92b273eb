#!/usr/bin/env bash
# mpirun smoke run: 2 ranks pre-train and fine-tune on tiny generated data; rank 0 alone
# writes the log, checkpoints and results.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
MPIRUN=(mpirun --oversubscribe --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1)
"$BIN" generate --output="$DIR/data" --users=120 --items=150 --clusters=4 > /dev/null
COMMON=(--data_path="$DIR/data" --dataset=synthetic --hidden_size=16 --inner_size=32 --MAX_ITEM_LIST_LENGTH=12)
"${MPIRUN[@]}" "$BIN" pretrain "${COMMON[@]}" --pretrain_epochs=2 --save_step=1 \
  --checkpoint_dir="$DIR/saved" --run_dir="$DIR/pre" > "$DIR/pre.out" 2>&1 || { cat "$DIR/pre.out"; exit 1; }
grep -q "2 MPI ranks" "$DIR/pre.out" || { echo "not data-parallel:"; cat "$DIR/pre.out"; exit 1; }
[ "$(wc -l < "$DIR/pre/log.jsonl")" -eq 2 ] || { echo "log.jsonl should have 2 lines"; cat "$DIR/pre/log.jsonl"; exit 1; }
[ -f "$DIR/saved/S3Rec-synthetic-2.safetensors" ] || { echo "no checkpoint"; exit 1; }
"${MPIRUN[@]}" "$BIN" finetune "${COMMON[@]}" --epochs=2 --pre_model_path="$DIR/saved/S3Rec-synthetic-2.safetensors" \
  --run_dir="$DIR/ft" --json="$DIR/ft.json" > "$DIR/ft.out" 2>&1 || { cat "$DIR/ft.out"; exit 1; }
[ "$(grep -c '"stage":"finetune"' "$DIR/ft/log.jsonl")" -eq 2 ] || { echo "finetune log"; cat "$DIR/ft/log.jsonl"; exit 1; }
grep -q '"MRR"' "$DIR/ft.json" || { echo "no results"; exit 1; }
echo "mpirun smoke run: ok"
