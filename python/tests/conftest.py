"""Shared fixtures: a small generated interaction log with sequential structure
(users follow item chains within a taste; attributes reveal the taste), the s3rec
CLI when the build provides it (S3REC_CLI), and quick training settings."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "reference"))  # the PyTorch transcription

# d=16, one epoch or two: seconds, not minutes, on 2 shared cores
QUICK = dict(hidden_size=16, inner_size=32, n_heads=2, MAX_ITEM_LIST_LENGTH=10, threads=1)


def make_log(users=240, items=160, clusters=8, seed=3):
    """(user, item, timestamp) rows and {item: [attributes]}; ids are strings like
    'u7' and 'i12' so that they differ from the dense ids s3rec assigns."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        taste = int(rng.integers(clusters))
        length = int(rng.integers(5, 12))
        cur = int(rng.integers(items // clusters)) * clusters + taste
        seen = set()
        for t in range(length):
            if cur not in seen:
                rows.append((f"u{u}", f"i{cur}", 1000 * u + t))
                seen.add(cur)
            step = clusters if rng.random() < 0.7 else int(rng.integers(1, items))
            cur = (cur + step) % items
    attrs = {f"i{i}": [f"taste{i % clusters}", f"noise{i % 5}"] for i in range(items)}
    return rows, attrs


@pytest.fixture(scope="session")
def log():
    return make_log()


@pytest.fixture(scope="session")
def dataset(log):
    import s3rec
    rows, attrs = log
    users, items, times = zip(*rows)
    return s3rec.Dataset.from_interactions(list(users), list(items), list(times), item_attributes=attrs,
                                           name="gen", k=1)


@pytest.fixture(scope="session")
def trained(dataset, tmp_path_factory):
    """A 2-epoch pre-training and a fine-tuning from it: (pretrain result, finetune result)."""
    import s3rec
    d = tmp_path_factory.mktemp("trained")
    pre = s3rec.pretrain(dataset, pretrain_epochs=2, save_step=1, checkpoint_dir=d / "saved", run_dir=d / "pre",
                         progress=False, **QUICK)
    ft = s3rec.finetune(dataset, pre_model_path=pre["checkpoint"], epochs=3, run_dir=d / "ft", progress=False,
                        **QUICK)
    return pre, ft


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("S3REC_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("the s3rec binary is not given (S3REC_CLI, set by ctest)")
    return path


def run_cli(cli, *args, check=True, env=None):
    r = subprocess.run([cli, *map(str, args)], capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    if check and r.returncode != 0:
        raise AssertionError(f"s3rec {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def cli_error(result):
    """The message after 's3rec CMD: error: '."""
    line = [l for l in result.stderr.splitlines() if ": error: " in l][-1]
    return line.split(": error: ", 1)[1]
