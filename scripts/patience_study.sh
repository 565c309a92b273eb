#!/usr/bin/env bash
# What the early-stopping patience does to a full-ranking fine-tuning (docs/results.md,
# "Full ranking", section 5): fine-tunes once with the longest patience, reads from its
# log which epoch each shorter patience would have selected (runs are deterministic, so a
# shorter patience passes through the same epochs), and re-runs only the patiences whose
# selection differs, to get their test figures. Prints a table and writes OUT/patience.md.
#
# usage: scripts/patience_study.sh NAME DATA_PATH OUT_DIR [PRE_MODEL_PATH]
#   (no PRE_MODEL_PATH: SASRec)
# environment: BUILD (build), SEED (2022), THREADS (1), PATIENCES ("10 20 30 40", the last
#              one the longest), EXTRA (more --key=value for every run)
set -euo pipefail
NAME=${1:?usage: patience_study.sh NAME DATA_PATH OUT_DIR [PRE_MODEL_PATH]}
DATA=${2:?usage: patience_study.sh NAME DATA_PATH OUT_DIR [PRE_MODEL_PATH]}
OUT=${3:?usage: patience_study.sh NAME DATA_PATH OUT_DIR [PRE_MODEL_PATH]}
PRE=${4:-}
S3REC="${BUILD:-build}/s3rec"
read -r -a PATS <<< "${PATIENCES:-10 20 30 40}"
LONGEST=${PATS[${#PATS[@]}-1]}
mkdir -p "$OUT"
ARGS=(--data_path="$DATA" --dataset="$NAME" --seed="${SEED:-2022}" --threads="${THREADS:-1}" --eval_mode=full)
[ -n "$PRE" ] && ARGS+=(--pre_model_path="$PRE")
# shellcheck disable=SC2206
[ -n "${EXTRA:-}" ] && ARGS+=(${EXTRA})

run() {  # run PATIENCE: one fine-tuning, skipped when its result exists
  local p=$1
  [ -f "$OUT/p$p.json" ] && return 0
  echo "== fine-tuning with patience $p"
  "$S3REC" finetune "${ARGS[@]}" --stopping_step="$p" --run_dir="$OUT/p$p" --json="$OUT/p$p.json.tmp"
  mv "$OUT/p$p.json.tmp" "$OUT/p$p.json"
}

# the epoch each patience selects from the long run's validation scores (a new best must be
# strictly greater; stop after P epochs without one), as the fine-tuning loop does
run "$LONGEST"
declare -A SEL
while read -r p e; do SEL[$p]=$e; done < <(python3 - "$OUT/p$LONGEST/log.jsonl" "${PATS[@]}" <<'EOF'
import json, sys
scores = [(r["epoch"], r["score"]) for r in map(json.loads, open(sys.argv[1])) if r.get("stage") == "finetune"]
for patience in map(int, sys.argv[2:]):
    best, best_epoch, waited = None, 0, 0
    for epoch, score in scores:
        if best is None or score > best:
            best, best_epoch, waited = score, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                break
    print(patience, best_epoch)
EOF
)

for p in "${PATS[@]}"; do
  if [ -f "$OUT/p$p.json" ]; then
    continue
  elif [ "${SEL[$p]}" = "${SEL[$LONGEST]}" ]; then
    cp "$OUT/p$LONGEST.json" "$OUT/p$p.json"   # same epoch selected: same model, same figures
  else
    run "$p"
    got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["best_epoch"])' "$OUT/p$p/results.json")
    [ "$got" = "${SEL[$p]}" ] || echo "warning: patience $p selected epoch $got, the log of patience $LONGEST says ${SEL[$p]} (not deterministic?)" >&2
  fi
done

{
  echo "| patience | selected epoch | valid NDCG@20 | test HR@10 | test NDCG@10 | test HR@20 | test NDCG@20 |"
  echo "|---|---|---|---|---|---|---|"
  for p in "${PATS[@]}"; do
    python3 - "$OUT/p$p.json" "$p" "${SEL[$p]}" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
v, t = d["valid"], d["test"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {v['NDCG@20']:.4f} | {t['HR@10']:.4f} | {t['NDCG@10']:.4f} | "
      f"{t['HR@20']:.4f} | {t['NDCG@20']:.4f} |")
EOF
  done
} > "$OUT/patience.md.tmp"
mv "$OUT/patience.md.tmp" "$OUT/patience.md"
cat "$OUT/patience.md"
