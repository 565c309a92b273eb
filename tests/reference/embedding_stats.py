"""Item-embedding statistics of s3rec checkpoints: how large the item vectors are and how
their length follows item popularity (the probe of docs/results.md, "Full ranking after
pre-training").

    /usr/bin/python3 tests/reference/embedding_stats.py --data_path=../shared/data --dataset=Beauty CKPT...

prints one JSON line per checkpoint:
  item_norm           mean L2 norm of the item rows 1..N
  item_norm_pop_corr  Pearson correlation of that norm with log(1 + popularity), popularity
                      being the item's count in the users' training parts (s[0:n-2])
  norm_top_decile / norm_bottom_half: mean norm of the 10% most popular items and of the
                      less popular half
  mask_norm           norm of the mask token's row (N+1)
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


def training_popularity(user_seq, n_items):
    pop = np.zeros(n_items + 1)
    for s in user_seq:
        for it in s[:-2]:
            pop[it] += 1
    return pop


def item_stats(table, popularity):
    """table: [N+2, d] item embeddings; popularity: [N+1] counts (index 0 unused)."""
    n = len(popularity) - 1
    norms = np.linalg.norm(np.asarray(table[1:n + 1], dtype=np.float64), axis=1)
    logpop = np.log1p(popularity[1:])
    order = np.argsort(-popularity[1:], kind="stable")
    top = order[:max(1, n // 10)]
    bottom = order[n // 2:]
    return {"item_norm": round(float(norms.mean()), 4),
            "item_norm_pop_corr": round(float(np.corrcoef(norms, logpop)[0, 1]), 4),
            "norm_top_decile": round(float(norms[top].mean()), 4),
            "norm_bottom_half": round(float(norms[bottom].mean()), 4),
            "mask_norm": round(float(np.linalg.norm(table[n + 1])), 4) if len(table) > n + 1 else None}


def read_user_seqs(data_path, name):
    seqs = []
    with open(os.path.join(data_path, name + ".txt")) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                seqs.append([int(x) for x in parts[1:]])
    return seqs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data_path", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("checkpoints", nargs="+")
    args = ap.parse_args()
    seqs = read_user_seqs(args.data_path, args.dataset)
    n_items = max(max(s) for s in seqs)
    pop = training_popularity(seqs, n_items)
    for path in args.checkpoints:
        tensors, _ = safetensors_io.read(path)
        row = {"checkpoint": path}
        row.update(item_stats(tensors["item_embeddings.weight"], pop))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
