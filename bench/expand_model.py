"""A large-catalogue model for serving benchmarks, synthesised from a trained one.

    /usr/bin/python3 bench/expand_model.py TRAINED.safetensors N_ITEMS OUT.safetensors [--noise=0.5] [--seed=1]

A model fine-tuned on a million items needs millions of interactions to train its item
table (a table trained on a few thousand users stays at its random initialisation, which
no index can search meaningfully). This keeps the trained model's encoder and builds an
item table of N_ITEMS rows with the trained table's geometry: row i (1..N) is trained row
1 + (i - 1) % N0 plus Gaussian noise whose per-dimension standard deviation is `noise`
times the trained table's (so each trained item has about N / N0 perturbed neighbours,
as a catalogue has variants). Histories of the trained model's items stay valid: ids
1..N0 keep their meaning up to the noise. The vocabulary is the identity ("1".."N"),
attributes are dropped.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import safetensors_io  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trained")
    ap.add_argument("n_items", type=int)
    ap.add_argument("out")
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    tensors, meta = safetensors_io.read(a.trained)
    tensors = {k: np.array(v) for k, v in tensors.items()}
    E = tensors["item_embeddings.weight"]
    n0, d = E.shape[0] - 2, E.shape[1]
    trained = E[1:n0 + 1]
    sd = trained.std(axis=0).astype(np.float32)
    rng = np.random.default_rng(a.seed)
    out = np.empty((a.n_items + 2, d), dtype=np.float32)
    out[0] = E[0]
    out[-1] = E[-1]
    for lo in range(0, a.n_items, 1 << 20):
        hi = min(a.n_items, lo + (1 << 20))
        src = np.arange(lo, hi) % n0
        noise = rng.standard_normal((hi - lo, d), dtype=np.float32) * (a.noise * sd)
        out[1 + lo:1 + hi] = trained[src] + noise
    tensors["item_embeddings.weight"] = out
    config = json.loads(meta["model_config"])
    config["n_items"] = a.n_items
    keep = {k: v for k, v in meta.items() if k not in ("item_tokens", "item_attributes", "attribute_tokens")}
    keep["model_config"] = json.dumps(config)
    keep["expanded_from"] = os.path.basename(a.trained)
    safetensors_io.write(a.out, tensors, keep)
    print(f"wrote {a.out}: {a.n_items} items (from {n0}, noise {a.noise})")


if __name__ == "__main__":
    main()
