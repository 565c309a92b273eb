#!/usr/bin/env bash
# What the early-stopping patience does to a full-ranking fine-tuning (docs/results.md,
# "Full ranking", section 5): fine-tunes once with the longest patience and --log_test=true
# (the test set scored after every epoch, never used for selection), then reads from the
# log which epoch each patience selects (runs are deterministic, so a shorter patience
# passes through the same epochs and stops earlier) and that epoch's test figures.
# Prints a table and writes OUT/patience.md and OUT/patience.json.
#
# usage: scripts/patience_study.sh NAME DATA_PATH OUT_DIR [PRE_MODEL_PATH]
#   (no PRE_MODEL_PATH: SASRec)
# environment: BUILD (build), SEED (2022), THREADS (1), PATIENCES ("10 20 30 40"),
#              EXTRA (more --key=value for the run)
set -euo pipefail
NAME=${1:?usage: patience_study.sh NAME DATA_PATH OUT_DIR [PRE_MODEL_PATH]}
DATA=${2:?usage: patience_study.sh NAME DATA_PATH OUT_DIR [PRE_MODEL_PATH]}
OUT=${3:?usage: patience_study.sh NAME DATA_PATH OUT_DIR [PRE_MODEL_PATH]}
PRE=${4:-}
S3REC="${BUILD:-build}/s3rec"
read -r -a PATS <<< "${PATIENCES:-10 20 30 40}"
LONGEST=$(printf '%s\n' "${PATS[@]}" | sort -n | tail -1)
mkdir -p "$OUT"
ARGS=(--data_path="$DATA" --dataset="$NAME" --seed="${SEED:-2022}" --threads="${THREADS:-1}" --eval_mode=full)
[ -n "$PRE" ] && ARGS+=(--pre_model_path="$PRE")
# shellcheck disable=SC2206
[ -n "${EXTRA:-}" ] && ARGS+=(${EXTRA})

RUN="$OUT/p$LONGEST"
if [ ! -f "$RUN.json" ]; then  # skipped when an earlier invocation finished it
  echo "== fine-tuning with patience $LONGEST, the test set logged every epoch"
  "$S3REC" finetune "${ARGS[@]}" --stopping_step="$LONGEST" --log_test=true --run_dir="$RUN" --json="$RUN.json.tmp"
  mv "$RUN.json.tmp" "$RUN.json"
fi

# each patience's selection, as the fine-tuning loop makes it (scripts/patience_summary.py)
python3 - "$RUN/log.jsonl" "$OUT" "$(dirname "$0")" "${PATS[@]}" <<'EOF'
import json, os, sys
log, out, pats = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[4:]]
sys.path.insert(0, sys.argv[3])
from patience_summary import load_run, read_config, select
epochs = load_run(log)
run_patience, max_epochs = read_config(os.path.dirname(log))
rows = []
for patience in pats:
    best, stop = select(log, epochs, patience, run_patience, max_epochs)
    rows.append({"patience": patience, "selected_epoch": best["epoch"], "stopped_epoch": stop,
                 "valid": best["valid"], "test": best["test"]})
metric = epochs[0]["selection_metric"]
lines = [f"| patience | selected epoch | stops after epoch | valid {metric} | test HR@10 | test NDCG@10 | test HR@20 | test NDCG@20 |",
         "|---|---|---|---|---|---|---|---|"]
for r in rows:
    t = r["test"]
    lines.append(f"| {r['patience']} | {r['selected_epoch']} | {r['stopped_epoch']} | {r['valid'][metric]:.4f} | "
                 f"{t['HR@10']:.4f} | {t['NDCG@10']:.4f} | {t['HR@20']:.4f} | {t['NDCG@20']:.4f} |")
for name, text in (("patience.md", "\n".join(lines) + "\n"), ("patience.json", json.dumps(rows, indent=1) + "\n")):
    with open(os.path.join(out, name + ".tmp"), "w") as f:
        f.write(text)
    os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))
print("\n".join(lines))
EOF
