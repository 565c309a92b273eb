#!/usr/bin/env bash
# mpirun smoke run: 2 ranks pre-train and fine-tune on tiny generated data; rank 0 alone
# writes the log, checkpoints and results. Dropout is off, so the run must agree with one
# process doing the same (losses per epoch, test metrics); the fine-tuned model must load
# and evaluate, in one process, to the metrics the 2 ranks reported; the metrics must be sane.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
MPIRUN=(mpirun --oversubscribe --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1)
fail() { echo "mpirun smoke run: $*"; exit 1; }
"$BIN" generate --output="$DIR/data" --users=120 --items=150 --clusters=4 > /dev/null
COMMON=(--data_path="$DIR/data" --dataset=synthetic --hidden_size=16 --inner_size=32 --MAX_ITEM_LIST_LENGTH=12
        --hidden_dropout_prob=0 --attn_dropout_prob=0)

# NAME: pre-training into $DIR/NAME-saved and $DIR/NAME-pre, then fine-tuning into $DIR/NAME-ft
run() {
  local name=$1; shift
  "$@" "$BIN" pretrain "${COMMON[@]}" --pretrain_epochs=2 --save_step=1 --checkpoint_dir="$DIR/$name-saved" \
    --run_dir="$DIR/$name-pre" > "$DIR/$name-pre.out" 2>&1 || { cat "$DIR/$name-pre.out"; fail "$name pretrain"; }
  "$@" "$BIN" finetune "${COMMON[@]}" --epochs=2 --pre_model_path="$DIR/$name-saved/S3Rec-synthetic-2.safetensors" \
    --run_dir="$DIR/$name-ft" --json="$DIR/$name-ft.json" > "$DIR/$name-ft.out" 2>&1 ||
    { cat "$DIR/$name-ft.out"; fail "$name finetune"; }
}
run mpi "${MPIRUN[@]}"
run one env OMP_NUM_THREADS=1

grep -q "2 MPI ranks" "$DIR/mpi-pre.out" || { cat "$DIR/mpi-pre.out"; fail "not data-parallel"; }
[ "$(wc -l < "$DIR/mpi-pre/log.jsonl")" -eq 2 ] || { cat "$DIR/mpi-pre/log.jsonl"; fail "log.jsonl should have 2 lines"; }
[ -f "$DIR/mpi-saved/S3Rec-synthetic-2.safetensors" ] || fail "no checkpoint"
[ "$(grep -c '"stage":"finetune"' "$DIR/mpi-ft/log.jsonl")" -eq 2 ] || { cat "$DIR/mpi-ft/log.jsonl"; fail "finetune log"; }

# field K of every line of a JSON-lines file with "stage":"pretrain" (compact, as the log writes it)
losses() { grep '"stage":"pretrain"' "$1" | grep -o "\"$2\":[^,}]*" | cut -d: -f2; }
# metric K of section S ("valid" or "test") of a results file (pretty-printed)
metric() { sed -n "/\"$2\"/,/}/p" "$1" | grep "\"$3\"" | sed 's/.*: *//; s/,$//'; }
# |a - b| <= rel * |a|, and |a - b| <= tol
near() { awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = a < 0 ? -a : a; exit !(d <= r * m) }'; }
near_abs() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; }

for k in aap mip map sp joint; do
  mapfile -t m < <(losses "$DIR/mpi-pre/log.jsonl" "$k")
  mapfile -t o < <(losses "$DIR/one-pre/log.jsonl" "$k")
  [ "${#m[@]}" -eq 2 ] && [ "${#o[@]}" -eq 2 ] || fail "loss $k missing from a log"
  for e in 0 1; do
    awk -v x="${m[$e]}" 'BEGIN { exit !(x > 0 && x < 1e9) }' || fail "epoch $((e + 1)) $k loss ${m[$e]} is not a positive number"
    near "${o[$e]}" "${m[$e]}" 1e-4 || fail "epoch $((e + 1)) $k loss: 2 ranks ${m[$e]}, one process ${o[$e]}"
  done
done
j=($(losses "$DIR/mpi-pre/log.jsonl" joint))
awk -v a="${j[0]}" -v b="${j[1]}" 'BEGIN { exit !(b < a) }' || fail "the joint loss did not fall: ${j[*]}"

# sane metrics: in [0, 1], HR@1 <= HR@5 <= HR@10, NDCG@10 <= HR@10, MRR > 0
for s in valid test; do
  hr1=$(metric "$DIR/mpi-ft.json" $s HR@1); hr5=$(metric "$DIR/mpi-ft.json" $s HR@5)
  hr10=$(metric "$DIR/mpi-ft.json" $s HR@10); ndcg10=$(metric "$DIR/mpi-ft.json" $s NDCG@10)
  mrr=$(metric "$DIR/mpi-ft.json" $s MRR)
  awk -v a="$hr1" -v b="$hr5" -v c="$hr10" -v n="$ndcg10" -v m="$mrr" \
    'BEGIN { exit !(a >= 0 && a <= b && b <= c && c <= 1 && n <= c && n > 0 && m > 0 && m <= 1) }' ||
    { cat "$DIR/mpi-ft.json"; fail "$s metrics are not sane"; }
  for k in HR@1 HR@5 NDCG@5 HR@10 NDCG@10 MRR; do  # rounding may move a user or two (1/120 each)
    near_abs "$(metric "$DIR/one-ft.json" $s $k)" "$(metric "$DIR/mpi-ft.json" $s $k)" 0.02 ||
      { cat "$DIR/one-ft.json" "$DIR/mpi-ft.json"; fail "$s $k differs from one process's"; }
  done
done

# the model the 2 ranks saved loads in one process and evaluates to the metrics they reported
MODEL="$DIR/mpi-ft/S3Rec-synthetic-finetuned.safetensors"
OMP_NUM_THREADS=1 "$BIN" evaluate "${COMMON[@]}" --model_path="$MODEL" --json="$DIR/ev.json" > "$DIR/ev.out" 2>&1 ||
  { cat "$DIR/ev.out"; fail "the saved model does not evaluate"; }
for s in valid test; do
  for k in HR@1 HR@5 NDCG@5 HR@10 NDCG@10 MRR; do
    [ "$(metric "$DIR/ev.json" $s $k)" = "$(metric "$DIR/mpi-ft.json" $s $k)" ] ||
      { cat "$DIR/ev.json" "$DIR/mpi-ft.json"; fail "$s $k of the saved model differs from the reported one"; }
  done
done
echo "mpirun smoke run: ok"
