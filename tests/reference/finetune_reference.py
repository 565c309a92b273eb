"""Fine-tunes SASRec (or S3-Rec from a checkpoint) with the PyTorch transcription and the
reference code's full-ranking fine-tuning, to compare its test figures with `s3rec finetune
--eval_mode=full` on the same data.

What the authors' run_finetune_full.py does, as SPEC section 4 describes it:
- one training sample per user: input items[:-3], targets items[1:-2], one negative per
  position drawn from 1..N+1 minus the user's whole sequence (so the mask id can be drawn),
  the last max_len positions kept; samples shuffled each epoch, batch 256, BCE, Adam lr 1e-3;
- after each epoch, validation by full ranking: the output at the last position of
  items[:-2] scored against every row of the item table (padding and mask rows included),
  the scores of the items in items[:-2] set to 0, top 20 by score; early stopping on
  validation NDCG@20 with patience 10 (a new best must be strictly greater), 200 epochs at most;
- the best state is tested the same way on items[:-1] (history and validation item set to 0).

One liberty, which does not change what is computed: a batch is cut to its longest sample
instead of max_len columns (the columns cut hold only padding; positions stay aligned to the
end), so only the dropout draws differ.

Writes OUT/log.jsonl (one line per epoch; with --log_test also that epoch's test HR@20 and
NDCG@20) and OUT/results.json (valid and test metrics of the selected epoch).

    /usr/bin/python3 tests/reference/finetune_reference.py --data_path=../shared/data \
        --dataset=Beauty --seed=2022 --out=runs/ref-ft-beauty
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402
from pretrain_reference import left_pad, neg_sample, paper_config, read_dataset, start_run  # noqa: E402
from s3rec_reference import S3RecModel  # noqa: E402

KS = (5, 10, 20)


def full_rank_metrics(model, user_seq, cut, L, batch=256):
    """HR@k and NDCG@k of the item at -cut, ranked by the output after seq[:-cut]."""
    model.eval()
    hits = {k: 0.0 for k in KS}
    ndcg = {k: 0.0 for k in KS}
    table = model.item_embeddings.weight.detach()
    with torch.no_grad():
        for b in range(0, len(user_seq), batch):
            seqs = user_seq[b:b + batch]
            inputs = [s[:-cut][-L:] for s in seqs]
            width = max(len(x) for x in inputs)
            out = model.encode(left_pad(inputs, width), causal=True)[:, -1, :]
            scores = (out @ table.t()).numpy()
            for r, s in enumerate(seqs):
                scores[r, s[:-cut]] = 0.0          # the reference's rating_pred[train_matrix > 0] = 0
            top = np.argpartition(scores, -20, axis=1)[:, -20:]
            order = np.argsort(-scores[np.arange(len(seqs))[:, None], top], axis=1, kind="stable")
            ranked = top[np.arange(len(seqs))[:, None], order]
            for r, s in enumerate(seqs):
                where = np.nonzero(ranked[r] == s[-cut])[0]
                if len(where):
                    for k in KS:
                        if where[0] < k:
                            hits[k] += 1.0
                            ndcg[k] += 1.0 / math.log2(where[0] + 2)
    n = len(user_seq)
    res = {}
    for k in KS:
        res[f"HR@{k}"] = hits[k] / n
        res[f"NDCG@{k}"] = ndcg[k] / n
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data_path", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pre_model_path", default="", help="s3rec or reference checkpoint (empty: SASRec)")
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--batch_size", type=int, default=256)
    ap.add_argument("--max_seq_length", type=int, default=50)
    ap.add_argument("--hidden_size", type=int, default=64)
    ap.add_argument("--log_test", action="store_true",
                    help="also log each epoch's test HR@20/NDCG@20 (to study the stopping rule; never select on it)")
    args = ap.parse_args(argv)

    start_run(args)

    user_seq, _, _, N, A = read_dataset(args.data_path, args.dataset)
    L = args.max_seq_length
    model = S3RecModel(paper_config(N, A, L, args.hidden_size))
    if args.pre_model_path:
        tensors, _ = safetensors_io.read(args.pre_model_path)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)

    log = open(os.path.join(args.out, "log.jsonl"), "a")
    best, best_state, best_epoch, waited = None, None, 0, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.time()
        loss_sum, batches = 0.0, 0
        perm = torch.randperm(len(user_seq)).tolist()
        for b in range(0, len(perm), args.batch_size):
            inputs, pos, neg = [], [], []
            for u in perm[b:b + args.batch_size]:
                items = user_seq[u]
                item_set = set(items)
                x, t = items[:-3], items[1:-2]
                n = [neg_sample(item_set, N + 2) for _ in x]
                inputs.append(x[-L:])
                pos.append(t[-L:])
                neg.append(n[-L:])
            width = max(1, max(len(x) for x in inputs))
            loss = model.finetune_loss(left_pad(inputs, width), left_pad(pos, width), left_pad(neg, width), "BCE")
            optim.zero_grad()
            loss.backward()
            optim.step()
            loss_sum += loss.item()
            batches += 1
        valid = full_rank_metrics(model, user_seq, 2, L)
        row = {"epoch": epoch, "loss": loss_sum / batches, "valid_NDCG@20": valid["NDCG@20"],
               "seconds": round(time.time() - start, 1)}
        if args.log_test:
            test = full_rank_metrics(model, user_seq, 1, L)
            row["test_HR@20"], row["test_NDCG@20"] = test["HR@20"], test["NDCG@20"]
        log.write(json.dumps(row) + "\n")
        log.flush()
        print(json.dumps(row), flush=True)
        if best is None or valid["NDCG@20"] > best["NDCG@20"]:
            best, best_epoch, waited = valid, epoch, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= args.patience:
                break
    model.load_state_dict(best_state)
    test = full_rank_metrics(model, user_seq, 1, L)
    result = {"best_epoch": best_epoch, "valid": best, "test": test, "seed": args.seed,
              "pre_model_path": args.pre_model_path, "made_by": "tests/reference/finetune_reference.py"}
    tmp = os.path.join(args.out, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, os.path.join(args.out, "results.json"))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
