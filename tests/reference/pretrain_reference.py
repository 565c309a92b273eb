"""Pre-trains S3-Rec with the PyTorch transcription (s3rec_reference.py) and the reference
code's data pipeline, to compare its trajectory with `s3rec pretrain` over many epochs.

The data pipeline follows the authors' code as SPEC section 3 describes it: every prefix of
each user's training part (its last max_len items) is a sample; masks, MIP negatives (drawn
from 1..N+1 minus the sample's items, so the mask id can be drawn) and segments are drawn
with Python's `random` each epoch; negative segments come from the concatenation of all
users' full sequences; samples are shuffled by a permutation each epoch; losses are sums;
Adam (torch.optim.Adam) with lr 1e-3.

One liberty, which does not change what is computed: a batch is split by length into a few
sub-batches, each left-padded to its own longest sample (positions stay aligned to the end,
so the last item keeps position max_len-1), and the sub-batch losses are summed before one
backward pass. Padding keys get weight exp(-1e8) = 0 in the reference, so every real
position sees exactly what it would see in a batch padded to max_len; only the dropout
draws differ.

Per epoch it writes one JSON line: the four losses per sample, seconds, and the item
embedding statistics of embedding_stats.py. Every --save_step epochs it writes an s3rec
checkpoint (safetensors with the state_dict names), so `s3rec finetune --pre_model_path=`
can fine-tune from it.

    /usr/bin/python3 tests/reference/pretrain_reference.py --data_path=../shared/data \
        --dataset=LastFM --epochs=20 --out=runs/ref-lastfm
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import embedding_stats  # noqa: E402
import safetensors_io  # noqa: E402
from s3rec_reference import S3RecModel  # noqa: E402


def read_dataset(data_path, name):
    user_seq, long_sequence = [], []
    with open(os.path.join(data_path, name + ".txt")) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            items = [int(x) for x in parts[1:]]
            user_seq.append(items)
            long_sequence.extend(items)
    with open(os.path.join(data_path, name + "_item2attributes.json")) as f:
        item2attr = {int(k): v for k, v in json.loads(f.readline()).items()}
    n_items = max(max(s) for s in user_seq)
    n_attrs = max(a for v in item2attr.values() for a in v)
    return user_seq, long_sequence, item2attr, n_items, n_attrs


def start_run(args):
    """Thread count, every random generator seeded from args.seed, the output folder."""
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)


def paper_config(n_items, n_attributes, max_len, d):
    """The paper's model settings (d, 2 layers, 2 heads, dropout 0.5, GELU) for s3rec_reference."""
    return dict(hidden_size=d, inner_size=4 * d, n_layers=2, n_heads=2, hidden_dropout_prob=0.5,
                attn_dropout_prob=0.5, hidden_act="gelu", layer_norm_eps=1e-12, initializer_range=0.02,
                max_seq_length=max_len, n_items=n_items, n_attributes=n_attributes)


def neg_sample(item_set, item_size):
    item = random.randint(1, item_size - 1)
    while item in item_set:
        item = random.randint(1, item_size - 1)
    return item


def make_sample(seq, long_sequence, n_items, mask_p):
    """One pre-training sample as the reference's PretrainDataset.__getitem__ draws it (unpadded)."""
    mask_id, item_size = n_items + 1, n_items + 2
    item_set = set(seq)
    masked, neg = [], []
    for item in seq[:-1]:
        if random.random() < mask_p:
            masked.append(mask_id)
            neg.append(neg_sample(item_set, item_size))
        else:
            masked.append(item)
            neg.append(item)
    masked.append(mask_id)
    neg.append(neg_sample(item_set, item_size))
    if len(seq) < 2:
        ctx = pseg = nseg = list(seq)
    else:
        k = random.randint(1, len(seq) // 2)
        j = random.randint(0, len(seq) - k)
        ns = random.randint(0, len(long_sequence) - k)
        ctx = seq[:j] + [mask_id] * k + seq[j + k:]
        pseg = [mask_id] * j + seq[j:j + k] + [mask_id] * (len(seq) - j - k)
        nseg = [mask_id] * j + long_sequence[ns:ns + k] + [mask_id] * (len(seq) - j - k)
    return masked, list(seq), neg, ctx, pseg, nseg


def left_pad(rows, width):
    return torch.tensor([[0] * (width - len(r)) + r for r in rows], dtype=torch.long)


def sub_batches(samples, parts):
    """Splits a batch into `parts` groups of similar length (sorted by length)."""
    order = sorted(range(len(samples)), key=lambda i: len(samples[i][1]))
    size = max(1, math.ceil(len(order) / parts))
    return [[samples[i] for i in order[b:b + size]] for b in range(0, len(order), size)]


def save_checkpoint(path, model, config, epoch):
    tensors = {n: p.detach().float().numpy() for n, p in model.named_parameters()}
    meta = {"format": "s3rec-1", "model_config": json.dumps(config), "epoch": str(epoch),
            "made_by": "tests/reference/pretrain_reference.py"}
    tmp = path + ".tmp"
    safetensors_io.write(tmp, tensors, meta)
    os.replace(tmp, path)


def main(argv=None):
    """Returns the per-epoch rows."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data_path", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch_size", type=int, default=200)
    ap.add_argument("--save_step", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sub_batches", type=int, default=4, help="length groups per batch (1 = pad to the batch's longest)")
    ap.add_argument("--max_seq_length", type=int, default=50)
    ap.add_argument("--hidden_size", type=int, default=64)
    ap.add_argument("--quiet", action="store_true", help="no log file, no printing (for fixture makers)")
    args = ap.parse_args(argv)

    start_run(args)

    user_seq, long_sequence, item2attr, N, A = read_dataset(args.data_path, args.dataset)
    L = args.max_seq_length
    config = paper_config(N, A, L, args.hidden_size)
    model = S3RecModel(config)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    weights = dict(aap=0.2, mip=1.0, map=1.0, sp=0.5)
    multi = torch.zeros(N + 2, A + 1)
    for item, attrs in item2attr.items():
        if item <= N:
            multi[item, attrs] = 1.0
    parts = []
    for seq in user_seq:
        train = seq[-(L + 2):-2]
        parts.extend(train[:i + 1] for i in range(len(train)))
    popularity = embedding_stats.training_popularity(user_seq, N)

    log = None if args.quiet else open(os.path.join(args.out, "log.jsonl"), "a")
    rows = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.time()
        perm = torch.randperm(len(parts)).tolist()
        sums = dict(aap=0.0, mip=0.0, map=0.0, sp=0.0)
        for b in range(0, len(perm), args.batch_size):
            samples = [make_sample(parts[i], long_sequence, N, 0.2) for i in perm[b:b + args.batch_size]]
            total = 0.0
            for group in sub_batches(samples, args.sub_batches):
                width = max(len(s[1]) for s in group)
                masked, pos, neg, ctx, pseg, nseg = (left_pad([s[k] for s in group], width) for k in range(6))
                losses = model.pretrain(multi[pos], masked, pos, neg, ctx, pseg, nseg)
                for key, value in zip(["aap", "mip", "map", "sp"], losses):
                    sums[key] += value.item()
                    total = total + weights[key] * value
            optim.zero_grad()
            total.backward()
            optim.step()
        stats = embedding_stats.item_stats(model.item_embeddings.weight.detach().numpy(), popularity)
        row = {"epoch": epoch, "seconds": round(time.time() - start, 1), "samples": len(parts)}
        row.update({k: v / len(parts) for k, v in sums.items()})
        row.update(stats)
        rows.append(row)
        if log:
            log.write(json.dumps(row) + "\n")
            log.flush()
            print(json.dumps(row), flush=True)
        if epoch % args.save_step == 0 and not args.quiet:
            save_checkpoint(os.path.join(args.out, f"S3Rec-{args.dataset}-{epoch}.safetensors"), model, config, epoch)
    return rows


if __name__ == "__main__":
    main()
