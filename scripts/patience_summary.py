#!/usr/bin/env python3
"""Compares groups of full-ranking fine-tunings under several early-stopping patiences
(docs/results.md, "Full ranking", section 5).

Each run is the log.jsonl of a fine-tuning made with --log_test=true and the longest
patience (scripts/patience_study.sh makes one: OUT/p40/log.jsonl). Runs are deterministic,
so a shorter patience passes through the same epochs and stops earlier: for every patience
the script selects the epoch the fine-tuning loop would (a new best validation score must be
strictly greater; stop after P epochs without one) and reads that epoch's test figures.

Prints, per patience, each group's mean (standard deviation of one run) and the lead of every
other group over the first, with its standard error and a 95% interval (Student's t, Welch's
degrees of freedom). With --cluster, the runs of a group whose paths share the regular
expression's first group (for example the pre-training seed) count as one sample: the
group's standard error is that of the cluster means.

usage: scripts/patience_summary.py [--patiences 10,20,30,40] [--metrics HR@20,NDCG@20]
           [--cluster REGEX] [--runs] LABEL=GLOB [LABEL=GLOB ...]
  e.g. scripts/patience_summary.py --cluster 's3rec-p([0-9]+)-' \\
           SASRec='runs/sasrec-*/p40/log.jsonl' S3-Rec='runs/s3rec-p*-*/p40/log.jsonl'
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

# two-sided 95% quantiles of Student's t for 1..30 degrees of freedom
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]


def t975(df):
    if df >= len(T975):
        return 1.96 + 2.4 / df  # within 0.002 of the quantile above 30 degrees of freedom
    return T975[max(1, int(df)) - 1]


def read_config(run_dir):
    """(stopping_step, epochs) of the run, from the config.yaml written beside its log."""
    got = {}
    try:
        with open(os.path.join(run_dir, "config.yaml")) as f:
            for line in f:
                m = re.match(r"(stopping_step|epochs):\s*(\d+)\s*$", line)
                if m:
                    got[m.group(1)] = int(m.group(2))
    except OSError:
        pass
    return got.get("stopping_step"), got.get("epochs")


def load_run(path):
    epochs = []
    with open(path) as f:
        lines = f.readlines()
    for n, line in enumerate(lines, 1):
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            sys.exit(f"{path}:{n}: not JSON ({e.msg})")
        if r.get("stage") == "finetune":
            if "test" not in r:
                sys.exit(f"{path}:{n}: no test metrics (make the run with --log_test=true)")
            epochs.append(r)
    if not epochs:
        sys.exit(f"{path}: no fine-tuning epochs")
    return epochs


def select(path, epochs, patience, run_patience, max_epochs):
    """The record of the epoch `patience` selects, and the epoch it stops after."""
    best, waited = None, 0
    for r in epochs:
        if best is None or r["score"] > best["score"]:
            best, waited = r, 0
        else:
            waited += 1
            if waited >= patience:
                return best, r["epoch"]
    # ran out of logged epochs: valid only if the run ended at its epoch cap. A finished run made
    # with a patience at least this long never gets here (this patience stops it first), so
    # such a log is of a run still going or killed.
    last = epochs[-1]["epoch"]
    if max_epochs is not None and last >= max_epochs:
        return best, last
    if run_patience is not None and run_patience < patience:
        sys.exit(f"{path}: the run stopped before patience {patience} would have (it was made with "
                 f"stopping_step={run_patience}); use a patience of at most {run_patience}")
    cap = f"its {max_epochs}-epoch cap" if max_epochs is not None else "an epoch cap (no config.yaml beside it)"
    sys.exit(f"{path}: unfinished run: the log ends at epoch {last}, {last - best['epoch']} epochs after "
             f"its best, before patience {patience} or {cap} stopped it (still running, or killed?)")


def standard_error(values, clusters):
    """(mean, sd of one run, standard error, degrees of freedom); clusters: a key per value or None."""
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    if clusters is None:
        return mean, sd, sd / math.sqrt(len(values)), len(values) - 1
    groups = {}
    for v, c in zip(values, clusters):
        groups.setdefault(c, []).append(v)
    means = [statistics.mean(g) for g in groups.values()]
    if len(means) < 2:
        return mean, sd, float("nan"), 0
    return mean, sd, statistics.stdev(means) / math.sqrt(len(means)), len(means) - 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("groups", nargs="+", metavar="LABEL=GLOB")
    ap.add_argument("--patiences", default="10,20,30,40")
    ap.add_argument("--metrics", default="HR@20,NDCG@20")
    ap.add_argument("--cluster", help="regular expression; runs whose paths share its first group are one sample")
    ap.add_argument("--runs", action="store_true", help="also list every run's selection")
    a = ap.parse_args()
    patiences = [int(p) for p in a.patiences.split(",")]
    metrics = a.metrics.split(",")
    cluster = re.compile(a.cluster) if a.cluster else None

    groups = []  # (label, [(path, epochs, run_patience, max_epochs)], cluster keys or None)
    for spec in a.groups:
        label, sep, pattern = spec.partition("=")
        if not sep or not label or not pattern:
            sys.exit(f"'{spec}': expected LABEL=GLOB")
        paths = sorted(glob.glob(pattern))
        if not paths:
            sys.exit(f"{label}: no file matches {pattern}")
        runs = [(p, load_run(p), *read_config(os.path.dirname(p))) for p in paths]
        keys = None
        if cluster:
            found = [cluster.search(p) for p in paths]
            if all(found):
                keys = [m.group(1) for m in found]
            elif any(found):
                sys.exit(f"{label}: --cluster matches some runs and not others")
        groups.append((label, runs, keys))
        for m in metrics:
            if m not in runs[0][1][0]["test"]:
                sys.exit(f"{runs[0][0]}: no test metric {m} (it has {', '.join(runs[0][1][0]['test'])})")

    # selected values: sel[g][patience] = [(path, best record, stop epoch)]
    sel = [{p: [(path, *select(path, ep, p, rp, me)) for path, ep, rp, me in runs] for p in patiences}
           for _, runs, _ in groups]

    if a.runs:
        print("| run | " + " | ".join(f"patience {p}: epoch (stop), test " + " / ".join(metrics) for p in patiences)
              + " |")
        print("|---|" + "---|" * len(patiences))
        for g, (label, runs, _) in enumerate(groups):
            for i, (path, _, _, _) in enumerate(runs):
                cells = []
                for p in patiences:
                    _, best, stop = sel[g][p][i]
                    cells.append(f"{best['epoch']} ({stop}), " + " / ".join(f"{best['test'][m]:.4f}" for m in metrics))
                print(f"| {label}: {path} | " + " | ".join(cells) + " |")
        print()

    counts = ", ".join(f"{label} {len(runs)} runs" + (f" in {len(set(keys))} clusters" if keys else "")
                       for label, runs, keys in groups)
    print(f"Test figures of the selected epochs, mean (standard deviation of one run); {counts}:")
    print()
    head = ["patience"] + [f"{label} {m}" for label, _, _ in groups for m in metrics]
    head += [f"lead of {label} {m} (95%)" for label, _, _ in groups[1:] for m in metrics]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for p in patiences:
        stats = [{m: standard_error([b["test"][m] for _, b, _ in sel[g][p]], keys) for m in metrics}
                 for g, (_, _, keys) in enumerate(groups)]
        cells = [str(p)] + [f"{stats[g][m][0]:.4f} ({stats[g][m][1]:.4f})" for g in range(len(groups)) for m in metrics]
        for g in range(1, len(groups)):
            for m in metrics:
                m0, _, se0, df0 = stats[0][m]
                m1, _, se1, df1 = stats[g][m]
                lead, se = m1 - m0, math.hypot(se0, se1)
                if se > 0 and df0 > 0 and df1 > 0:
                    df = se ** 4 / (se0 ** 4 / df0 + se1 ** 4 / df1)  # Welch-Satterthwaite
                    h = t975(df) * se
                    cells.append(f"{lead:+.4f} ({lead - h:+.4f} to {lead + h:+.4f})")
                else:
                    cells.append(f"{lead:+.4f}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
