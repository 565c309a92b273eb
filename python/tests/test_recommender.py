"""Recommender: batched ids and scores as arrays, options, errors, embeddings."""
import numpy as np
import pytest

import s3rec
from conftest import cli_error, run_cli


@pytest.fixture(scope="module")
def rec(trained):
    return s3rec.Recommender(trained[1]["model"])


def test_batched_answers_equal_single_ones(rec, dataset):
    histories = [dataset.history(u) for u in range(5)]
    ids, scores = rec.recommend(histories, k=7)
    assert ids.shape == (5, 7) and scores.shape == (5, 7) and scores.dtype == np.float32
    assert ids.dtype.kind == "U"  # ids like 'i12' stay text
    for u, h in enumerate(histories):
        one_ids, one_scores = rec.recommend(h, k=7)
        assert list(one_ids) == list(ids[u])
        np.testing.assert_array_equal(one_scores, scores[u])
        assert all(np.diff(scores[u]) <= 0)
        assert not set(one_ids) & set(h)  # history excluded
    small, _ = rec.recommend(histories, k=7, batch_size=2)
    np.testing.assert_array_equal(small, ids)


def test_scores_are_item_embeddings_times_the_last_state(rec, dataset):
    h = dataset.history(0)
    ids, scores = rec.recommend(h, k=rec._r.n_items, exclude_history=False)
    E = rec.item_embeddings
    pos = {t: j for j, t in enumerate(rec.item_ids)}
    rows = E[[pos[t] for t in ids]]
    # a direction F with E F = scores exists: least squares fits to rounding
    F, *_ = np.linalg.lstsq(rows.astype(np.float64), scores.astype(np.float64), rcond=None)
    np.testing.assert_allclose(rows @ F, scores, atol=1e-4)


def test_candidates_and_history(rec, dataset):
    h = dataset.history(1)
    cands = rec.item_ids[:5].tolist() + [h[-1]]
    ids, scores = rec.recommend(h, k=10, candidates=cands)
    assert set(ids[:5]) <= set(cands) and h[-1] not in ids
    assert list(ids[5:]) == [""] * 5 and np.isnan(scores[5:]).all()  # fewer than k answers: padded
    ids, _ = rec.recommend(h, k=10, candidates=cands, exclude_history=False)
    assert h[-1] in ids


def test_request_errors_have_the_cli_messages(rec, cli):
    with pytest.raises(s3rec.RequestError) as e:
        rec.recommend(["i1", "nope"], k=5)
    assert isinstance(e.value, ValueError)
    r = run_cli(cli, "recommend", f"--model_path={rec.path}", "--items=i1,nope", "-k", "5", check=False)
    assert r.returncode != 0 and str(e.value) == cli_error(r)
    with pytest.raises(s3rec.RequestError, match="k must be in 1.."):
        rec.recommend(["i1"], k=0)


def test_embeddings(rec, trained, dataset):
    t = s3rec.load_tensors(trained[1]["model"])
    assert rec.item_embeddings.shape == (dataset.n_items, 16)
    np.testing.assert_array_equal(rec.item_embeddings, t["item_embeddings.weight"][1:-1])
    assert rec.attribute_embeddings.shape == (dataset.n_attributes, 16)
    assert list(rec.attribute_ids) == dataset.attribute_ids and list(rec.item_ids) == dataset.item_ids
    meta = s3rec.checkpoint_metadata(trained[1]["model"])
    assert meta["stage"] == "finetune" and meta["format"] == "s3rec-1"


def test_integer_ids_come_back_as_integers(tmp_path):
    users = np.repeat(np.arange(150), 4)
    items = (np.arange(600) * 7) % 130 + 1000
    d = s3rec.Dataset.from_interactions(users, items, k=1, name="ints")
    res = s3rec.finetune(d, epochs=1, run_dir=tmp_path, progress=False, hidden_size=8, inner_size=16, threads=1)
    rec = s3rec.Recommender(res["model"])
    ids, _ = rec.recommend([[1000, 1007]], k=3)
    assert ids.dtype == np.int64 and ids.shape == (1, 3) and (ids >= 1000).all()
    assert rec.item_ids.dtype == np.int64 and sorted(rec.item_ids.tolist()) == sorted(set(items.tolist()))
