#!/usr/bin/env bash
# Under mpirun, an error on one rank ends the whole job (MPI_Abort) with a message naming
# the rank and the error, instead of leaving the other ranks waiting in an allreduce:
#  1. rank 0 fails to write a checkpoint (its directory cannot be created) while rank 1
#     goes on to the next epoch;
#  2. one rank is given a bad data file (mpirun's MPMD form gives the ranks different
#     arguments) while the other starts training.
# A hang fails the test through `timeout`.
set -uo pipefail
BIN=$1
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
MPIRUN=(mpirun --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS=1)
LIMIT=120
"$BIN" generate --output="$DIR/data" --users=120 --items=150 --clusters=4 > /dev/null || exit 1
COMMON=(--data_path="$DIR/data" --dataset=synthetic --hidden_size=16 --inner_size=32 --MAX_ITEM_LIST_LENGTH=12
        --pretrain_epochs=200 --save_step=1 --run_dir="$DIR/run")
fail() { echo "FAIL: $1"; cat "$DIR/out"; exit 1; }

# expect_abort NAME RANK TEXT: the job ended in time, non-zero, naming the failing rank and the error
expect_abort() {
  local rc=$1 rank=$2 text=$3
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "the job hung (killed by timeout after ${LIMIT}s)"
  [ "$rc" -ne 0 ] || fail "the job exited 0"
  grep -q "error on rank $rank of 2: .*$text" "$DIR/out" || fail "no error naming rank $rank and '$text'"
  grep -q "stopping all ranks (MPI_Abort)" "$DIR/out" || fail "no MPI_Abort message"
}

echo "not a directory" > "$DIR/a-file"
timeout -k 10 $LIMIT "${MPIRUN[@]}" -np 2 "$BIN" pretrain "${COMMON[@]}" --checkpoint_dir="$DIR/a-file/saved" \
  > "$DIR/out" 2>&1
expect_abort $? 0 "a-file/saved/S3Rec-synthetic-1.safetensors.optim.safetensors: cannot write: Not a directory"
echo "failed checkpoint write on rank 0: aborted"

mkdir -p "$DIR/bad"
printf '1 1 2 3\n2 4 x 6\n' > "$DIR/bad/synthetic.txt"
cp "$DIR/data/synthetic_item2attributes.json" "$DIR/bad/"
timeout -k 10 $LIMIT "${MPIRUN[@]}" -np 1 "$BIN" pretrain "${COMMON[@]}" --checkpoint_dir="$DIR/saved" \
  : -np 1 "$BIN" pretrain "${COMMON[@]}" --checkpoint_dir="$DIR/saved" --data_path="$DIR/bad" > "$DIR/out" 2>&1
expect_abort $? 1 "synthetic.txt:2:"
echo "bad data file on rank 1: aborted"
echo "mpirun abort: ok"
