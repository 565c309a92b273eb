"""Writes tests/fixtures/trajectory.json: the transcription's pre-training trajectory
(per-epoch losses and item-embedding statistics, for several seeds) on a small generated
dataset with a popularity skew. tests/test_trajectory.cpp pre-trains s3rec on the same data
and checks that it follows this trajectory over many epochs, not just one step.

    build/s3rec generate --output=/tmp/traj --dataset=traj --users=300 --items=240 --clusters=8 \\
        --min_length=5 --max_length=20 --popularity_skew=1 --seed=5
    /usr/bin/python3 tests/reference/make_trajectory_fixture.py /tmp/traj
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pretrain_reference  # noqa: E402

SEEDS = [1, 2, 3, 4]
EPOCHS = 30
SETTINGS = dict(batch_size=64, hidden_size=32, max_seq_length=20)


def fnv1a(data, h=1469598103934665603):
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def data_hash(data):
    """FNV-1a over traj.txt then traj_item2attributes.json, as the C++ test computes it."""
    h = 1469598103934665603
    for suffix in [".txt", "_item2attributes.json"]:
        with open(os.path.join(data, "traj" + suffix), "rb") as f:
            h = fnv1a(f.read(), h)
    return str(h)


def main():
    data = sys.argv[1]
    runs = []
    for seed in SEEDS:
        done = os.path.join(data, f"ref-{seed}.json")
        if os.path.exists(done):  # a seed finished by an earlier, interrupted run
            with open(done) as f:
                runs.append(json.load(f))
            continue
        rows = pretrain_reference.main([f"--data_path={data}", "--dataset=traj", f"--out={data}/ref-{seed}",
                                        f"--epochs={EPOCHS}", f"--seed={seed}", "--quiet",
                                        f"--batch_size={SETTINGS['batch_size']}",
                                        f"--hidden_size={SETTINGS['hidden_size']}",
                                        f"--max_seq_length={SETTINGS['max_seq_length']}"])
        runs.append([{k: r[k] for k in ["epoch", "aap", "mip", "map", "sp", "item_norm", "item_norm_pop_corr"]}
                     for r in rows])
        with open(done + ".tmp", "w") as f:
            json.dump(runs[-1], f)
        os.replace(done + ".tmp", done)
        print("seed", seed, json.dumps(runs[-1][-1]), flush=True)
    out = {"data_fnv1a": data_hash(data), "settings": SETTINGS, "seeds": SEEDS, "runs": runs,
           "made_by": "tests/reference/make_trajectory_fixture.py"}
    path = os.path.join(HERE, "..", "fixtures", "trajectory.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=0)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
