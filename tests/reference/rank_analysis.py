"""Where a fine-tuned model wins or loses under full ranking, computed with the PyTorch
transcription (the s3rec checkpoint is loaded with load_state_dict(strict=True)).

    /usr/bin/python3 tests/reference/rank_analysis.py --data_path=../shared/data --dataset=Beauty MODEL...

For each model (test set: input s[0:n-1], target s[n-1], the input history excluded from the
candidates, all real items 1..N ranked) it prints one JSON line:
  HR@20, NDCG@20           as `s3rec evaluate --eval_mode=full` reports them
  by_target_popularity     HR@20 / NDCG@20 of the users whose target is among the most
                           popular items that make up the first / second / last third of
                           all training interactions (head / torso / tail)
  top20_logpop             mean log(1 + popularity) of the 20 items recommended to each user
  target_logpop            the same for the test targets (what a calibrated model would match)
  score_pop_corr           mean over users of the correlation between an item's score and its
                           log popularity
  ref_HR@20, ref_NDCG@20   the same ranking as the authors' run_finetune_full.py scores it:
                           every row of the item table is a candidate (padding and mask rows
                           too) and the history's scores are set to 0 instead of excluded (a
                           target that is also in the history scores 0 as well)
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import embedding_stats  # noqa: E402
import safetensors_io  # noqa: E402
from s3rec_reference import S3RecModel  # noqa: E402


def load_model(path):
    tensors, meta = safetensors_io.read(path)
    config = json.loads(meta["model_config"])
    model = S3RecModel(config)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}, strict=True)
    model.eval()
    return model, config


def popularity_thirds(pop):
    """Item -> 0 (head), 1 (torso), 2 (tail): items sorted by popularity, cut where the
    cumulative share of training interactions passes 1/3 and 2/3."""
    order = np.argsort(-pop[1:], kind="stable") + 1
    share = np.cumsum(pop[order]) / pop.sum()
    group = np.zeros(len(pop), dtype=int)
    group[order] = np.where(share <= 1 / 3, 0, np.where(share <= 2 / 3, 1, 2))
    return group


def analyse(path, seqs, pop, batch=512):
    model, config = load_model(path)
    N, L = config["n_items"], config["max_seq_length"]
    group = popularity_thirds(pop)
    logpop = np.log1p(pop[1:N + 1])
    ranks, ref_ranks, targets, top_lp, corr = [], [], [], [], []
    with torch.no_grad():
        W = model.item_embeddings.weight  # every row: padding 0, items 1..N, mask N+1
        for b in range(0, len(seqs), batch):
            chunk = seqs[b:b + batch]
            inputs = [s[:-1][-L:] for s in chunk]
            width = max(len(x) for x in inputs)
            ids = torch.tensor([[0] * (width - len(x)) + x for x in inputs], dtype=torch.long)
            F = model.encode(ids, causal=True)[:, -1, :]
            all_scores = (F @ W.t()).numpy().astype(np.float64)
            for r, s in enumerate(chunk):
                target = s[-1]
                history = np.array(sorted(set(s[:-1])), dtype=int)
                sc = all_scores[r, 1:N + 1].copy()  # real items only
                ref = all_scores[r]
                ref[history] = 0.0  # the reference's rating_pred[train_matrix > 0] = 0
                ref_ranks.append(int(np.sum(ref > ref[target])))
                sc[history - 1] = -np.inf
                ranks.append(int(np.sum(sc > sc[target - 1])))
                targets.append(target)
                top = np.argpartition(-sc, 20)[:20]
                top_lp.append(logpop[top].mean())
                finite = np.isfinite(sc)
                corr.append(np.corrcoef(sc[finite], logpop[finite])[0, 1])
    ranks, targets = np.array(ranks), np.array(targets)
    hit = ranks < 20
    ndcg = np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0)
    row = {"model": path, "users": len(ranks), "HR@20": round(float(hit.mean()), 4), "NDCG@20": round(float(ndcg.mean()), 4)}
    ref_ranks = np.array(ref_ranks)
    ref_hit = ref_ranks < 20
    ref_ndcg = np.where(ref_hit, 1.0 / np.log2(ref_ranks + 2.0), 0.0)
    row["ref_HR@20"], row["ref_NDCG@20"] = round(float(ref_hit.mean()), 4), round(float(ref_ndcg.mean()), 4)
    by = {}
    for g, name in enumerate(["head", "torso", "tail"]):
        m = group[targets] == g
        by[name] = {"users": int(m.sum()), "HR@20": round(float(hit[m].mean()), 4), "NDCG@20": round(float(ndcg[m].mean()), 4)}
    row["by_target_popularity"] = by
    row["top20_logpop"] = round(float(np.mean(top_lp)), 3)
    row["target_logpop"] = round(float(np.mean(np.log1p(pop[targets]))), 3)
    row["score_pop_corr"] = round(float(np.mean(corr)), 3)
    row.update(embedding_stats.item_stats(model.item_embeddings.weight.detach().numpy(), pop))
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data_path", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seqs = [s for s in embedding_stats.read_user_seqs(args.data_path, args.dataset) if len(s) >= 3]
    n_items = max(max(s) for s in seqs)
    pop = embedding_stats.training_popularity(seqs, n_items)
    for path in args.models:
        print(json.dumps(analyse(path, seqs, pop)), flush=True)


if __name__ == "__main__":
    main()
