"""Writes the parity fixtures of tests/fixtures/ from s3rec_reference.py.
Run: /usr/bin/python3 tests/reference/make_fixtures.py   (deterministic: same bytes every run)."""
import json
import os

import numpy as np
import torch

import safetensors_io
from s3rec_reference import S3RecModel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures")
N, A, L = 30, 12, 10
CONFIG = dict(hidden_size=16, inner_size=64, n_layers=2, n_heads=2, n_items=N, n_attributes=A, max_seq_length=L,
              hidden_act="gelu", layer_norm_eps=1e-12, initializer_range=0.02, hidden_dropout_prob=0.0,
              attn_dropout_prob=0.0)
WEIGHTS = dict(aap=0.2, mip=1.0, map=1.0, sp=0.5)


def make_model(config, seed):
    torch.manual_seed(seed)
    m = S3RecModel(config).double()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # move well away from the tiny initialisation so every parameter matters
        for name, p in m.named_parameters():
            if name.endswith("LayerNorm.weight"):
                p.add_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
            elif name.endswith(".bias") or name.endswith("LayerNorm.bias"):
                p.add_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
            else:
                p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return m


def item_attributes(rng):
    multi = np.zeros((N + 2, A + 1), dtype=np.float32)
    for i in range(1, N + 1):
        for a in rng.choice(np.arange(1, A + 1), size=rng.integers(0, 5), replace=False):
            multi[i, a] = 1.0
    return multi


def left_pad(rows):
    return torch.tensor([[0] * (L - len(r)) + list(r) for r in rows], dtype=torch.long)


def pretrain_inputs(rng):
    """SPEC section 3, one sample per length 1..9."""
    long_seq = list(rng.integers(1, N + 1, size=200))
    M = N + 1
    cols = {k: [] for k in ["masked", "pos", "neg", "ctx", "pseg", "nseg"]}
    for length in range(1, 10):
        seq = [int(x) for x in rng.choice(np.arange(1, N + 1), size=length, replace=False)]
        masked, neg = [], []
        for t, item in enumerate(seq):
            if t == length - 1 or rng.random() < 0.35:  # a higher ratio than 0.2 so several positions are masked
                masked.append(M)
                neg.append(int(rng.choice([x for x in range(1, N + 1) if x not in seq])))
            else:
                masked.append(item)
                neg.append(item)
        if length < 2:
            ctx = pseg = nseg = list(seq)
        else:
            k = int(rng.integers(1, length // 2 + 1))
            j = int(rng.integers(0, length - k + 1))
            ns = int(rng.integers(0, len(long_seq) - k + 1))
            ctx = seq[:j] + [M] * k + seq[j + k:]
            pseg = [M] * j + seq[j:j + k] + [M] * (length - j - k)
            nseg = [M] * j + [int(x) for x in long_seq[ns:ns + k]] + [M] * (length - j - k)
        for key, val in zip(cols, [masked, seq, neg, ctx, pseg, nseg]):
            cols[key].append(val)
    return {k: left_pad(v) for k, v in cols.items()}


def grads(model, loss):
    model.zero_grad()
    loss.backward()
    return {n: (p.grad if p.grad is not None else torch.zeros_like(p)).detach().numpy().astype(np.float32)
            for n, p in model.named_parameters()}


def params(model):
    return {"param." + n: p.detach().numpy().astype(np.float32) for n, p in model.named_parameters()}


def pretrain_losses(model, inp, multi):
    attributes = torch.tensor(multi)[inp["pos"]]
    return model.pretrain(attributes, inp["masked"], inp["pos"], inp["neg"], inp["ctx"], inp["pseg"], inp["nseg"])


def finite_difference_check(model, loss_fn, name, index):
    p = dict(model.named_parameters())[name]
    model.zero_grad()
    loss_fn().backward()
    analytic = p.grad[index].item()
    h = 1e-6
    with torch.no_grad():
        p[index] += h
        lp = loss_fn().item()
        p[index] -= 2 * h
        lm = loss_fn().item()
        p[index] += h
    numeric = (lp - lm) / (2 * h)
    assert abs(analytic - numeric) <= 1e-6 + 1e-5 * abs(numeric), (name, analytic, numeric)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2020)
    multi = item_attributes(rng)
    meta = {"config": json.dumps(CONFIG, sort_keys=True)}
    model = make_model(CONFIG, 1)

    # 1. pre-training
    inp = pretrain_inputs(rng)
    losses = pretrain_losses(model, inp, multi)
    t = dict(params(model))
    t["data.item_attributes"] = multi
    for key, name in zip(["masked", "pos", "neg", "ctx", "pseg", "nseg"],
                         ["masked_item_sequence", "pos_items", "neg_items", "masked_segment_sequence", "pos_segment",
                          "neg_segment"]):
        t["input." + name] = inp[key].numpy()
    for k, loss in zip(["aap", "mip", "map", "sp"], losses):
        t["loss." + k] = np.array([loss.item()], dtype=np.float32)
        for n, g in grads(model, pretrain_losses(model, inp, multi)[["aap", "mip", "map", "sp"].index(k)]).items():
            t[f"grad.{k}.{n}"] = g
    joint = sum(WEIGHTS[k] * l for k, l in zip(["aap", "mip", "map", "sp"], pretrain_losses(model, inp, multi)))
    t["loss.joint"] = np.array([joint.item()], dtype=np.float32)
    for n, g in grads(model, joint).items():
        t["grad.joint." + n] = g
    for name, idx in [("item_encoder.layer.0.attention.query.weight", (3, 5)), ("aap_norm.weight", (1, 2)),
                      ("position_embeddings.weight", (9, 4)), ("attribute_embeddings.weight", (0, 1))]:
        finite_difference_check(model, lambda: sum(WEIGHTS[k] * l for k, l in zip(
            ["aap", "mip", "map", "sp"], pretrain_losses(model, inp, multi))), name, idx)
    safetensors_io.write(os.path.join(OUT, "pretrain.safetensors"), t, meta)

    # 2. fine-tuning
    lengths = [1, 3, 9, 5, 2, 7]
    seqs = [[int(x) for x in rng.choice(np.arange(1, N + 1), size=n + 1, replace=False)] for n in lengths]
    ids, pos = left_pad([s[:-1] for s in seqs]), left_pad([s[1:] for s in seqs])
    neg = left_pad([[int(rng.choice([x for x in range(1, N + 1) if x not in s])) for _ in s[1:]] for s in seqs])
    t = dict(params(model))
    t.update({"input.input_ids": ids.numpy(), "input.target_pos": pos.numpy(), "input.target_neg": neg.numpy()})
    for lt in ["BCE", "BPR", "CE"]:
        loss = model.finetune_loss(ids, pos, neg, lt)
        t["loss." + lt] = np.array([loss.item()], dtype=np.float32)
        for n, g in grads(model, model.finetune_loss(ids, pos, neg, lt)).items():
            t[f"grad.{lt}.{n}"] = g
        finite_difference_check(model, lambda: model.finetune_loss(ids, pos, neg, lt),
                                "item_encoder.layer.1.intermediate.dense_1.weight", (7, 3))
    safetensors_io.write(os.path.join(OUT, "finetune.safetensors"), t, meta)

    # 3. encoder outputs and probe gradients, both directions
    items = left_pad([[int(x) for x in rng.choice(np.arange(1, N + 1), size=n, replace=False)] for n in [1, 4, 9, 6, 2]])
    probe = torch.tensor(rng.standard_normal((5, L, CONFIG["hidden_size"])), dtype=torch.float64) * (items > 0).unsqueeze(-1)
    t = dict(params(model))
    t["input.items"] = items.numpy()
    t["input.probe"] = probe.numpy().astype(np.float32)
    for direction, causal in [("bidirectional", False), ("causal", True)]:
        out = model.encode(items, causal)
        t["output." + direction] = out.detach().numpy().astype(np.float32)
        for n, g in grads(model, torch.sum(model.encode(items, causal) * probe)).items():
            t[f"grad.{direction}.{n}"] = g
    safetensors_io.write(os.path.join(OUT, "encoder.safetensors"), t, meta)

    # 4. dropout on: the C++ side checks finite training losses and identity at evaluation time
    dconf = dict(CONFIG, hidden_dropout_prob=0.5, attn_dropout_prob=0.5)
    dmodel = make_model(dconf, 1)
    dmodel.eval()
    t = dict(params(dmodel))
    t["data.item_attributes"] = multi
    for key, name in zip(["masked", "pos", "neg", "ctx", "pseg", "nseg"],
                         ["masked_item_sequence", "pos_items", "neg_items", "masked_segment_sequence", "pos_segment",
                          "neg_segment"]):
        t["input." + name] = inp[key].numpy()
    t["input.items"] = items.numpy()
    with torch.no_grad():
        for direction, causal in [("bidirectional", False), ("causal", True)]:
            t["eval." + direction] = dmodel.encode(items, causal).numpy().astype(np.float32)
    safetensors_io.write(os.path.join(OUT, "dropout.safetensors"), t, {"config": json.dumps(dconf, sort_keys=True)})

    print("fixtures written to", os.path.normpath(OUT))


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    main()
