"""Probes of what a pre-trained checkpoint carries into fine-tuning (docs/results.md, "Full
ranking: where S3-Rec loses"). Writes a copy of an s3rec checkpoint with one part replaced:

    /usr/bin/python3 tests/reference/transform_checkpoint.py IN.safetensors OUT.safetensors MODE

MODE
  rescale          every item row scaled to norm 0.16 (the initialisation's), direction kept
  reinit_items     item embeddings drawn again from N(0, 0.02^2), encoder kept
  reinit_encoder   encoder, positions and the embedding layer norm re-initialised, items kept
"""
import sys

import numpy as np

import safetensors_io


def transform(tensors, mode, rng):
    out = {k: np.array(v) for k, v in tensors.items()}
    items = out["item_embeddings.weight"]
    if mode == "rescale":
        norms = np.linalg.norm(items, axis=1, keepdims=True)
        out["item_embeddings.weight"] = (items / np.maximum(norms, 1e-12) * 0.16).astype(np.float32)
    elif mode == "reinit_items":
        out["item_embeddings.weight"] = (rng.standard_normal(items.shape) * 0.02).astype(np.float32)
    elif mode == "reinit_encoder":
        for name, value in out.items():
            if not (name.startswith("item_encoder") or name.startswith("LayerNorm")
                    or name.startswith("position")):
                continue
            if name.endswith("LayerNorm.weight"):
                out[name] = np.ones_like(value)
            elif name.endswith("bias"):
                out[name] = np.zeros_like(value)
            else:
                out[name] = (rng.standard_normal(value.shape) * 0.02).astype(np.float32)
    else:
        raise SystemExit(f"unknown mode '{mode}' (rescale | reinit_items | reinit_encoder)")
    return out


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    src, dst, mode = sys.argv[1:]
    tensors, meta = safetensors_io.read(src)
    safetensors_io.write(dst, transform(tensors, mode, np.random.default_rng(0)), meta)


if __name__ == "__main__":
    main()
