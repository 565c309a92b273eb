"""Next-item recommendations from a fine-tuned model, and its embeddings, as numpy arrays."""
import os

import numpy as np

from ._native import core


def load_tensors(path):
    """Every tensor of an s3rec checkpoint as float32 arrays, by the reference PyTorch
    model's state_dict names: `model.load_state_dict({k: torch.from_numpy(v) ...})`."""
    return core().read_tensors(os.fspath(path))


def checkpoint_metadata(path):
    """A checkpoint's metadata (model_config, dataset, stage, vocabulary ...) as text values."""
    return dict(core().checkpoint_metadata(os.fspath(path)))


def _is_history(x):
    return isinstance(x, (list, tuple, np.ndarray)) or (hasattr(x, "__iter__") and not isinstance(x, (str, bytes)))


class Recommender:
    """A fine-tuned model loaded once: `Recommender(path).recommend(histories, k=10)`.

    Items are named by their raw ids (the dataset's tokens). index="hnsw" or "ivf"
    searches a faiss index instead of scoring every item (see docs/serving.md)."""

    def __init__(self, path, index="exact"):
        self.path = os.fspath(path)
        self._r = core().Recommender(self.path, index)
        self._int_ids = self._r.integer_item_ids  # int64 array, or None for other tokens
        self._tensors = None

    @property
    def item_ids(self):
        """Raw ids of items 1..N (int64 when every id is an integer, else str):
        row j of item_embeddings belongs to item_ids[j]."""
        return self._int_ids.copy() if self._int_ids is not None else np.array(self._r.item_tokens)

    @property
    def attribute_ids(self):
        """Raw attribute values of attributes 1..A: row j of attribute_embeddings."""
        return np.array(self._r.attribute_tokens)

    def _tensor(self, name):
        if self._tensors is None:
            self._tensors = load_tensors(self.path)
        return self._tensors[name]

    @property
    def item_embeddings(self):
        """The trained item embeddings, float32 [N x d] (padding and mask rows left out)."""
        e = self._tensor("item_embeddings.weight")
        return e[1:e.shape[0] - 1]

    @property
    def attribute_embeddings(self):
        """The trained attribute embeddings, float32 [A x d] (the padding row left out)."""
        return self._tensor("attribute_embeddings.weight")[1:]

    def recommend(self, histories, k=10, exclude_history=True, candidates=None, attributes=None, batch_size=4096):
        """The k best next items of each history (oldest item first; only the last
        max_seq_length count). Returns (ids, scores): arrays [len(histories) x k],
        best first, scores float32 (e_item . F_last). A single history (a flat list)
        gives 1-D arrays. With `candidates`, only those items are ranked; with
        `attributes`, only items having one of those attribute values. Rows with
        fewer than k answers are padded with id -1 (or "") and score NaN.
        Unknown items and k out of range raise s3rec.RequestError (a ValueError)."""
        single = len(histories) > 0 and not _is_history(histories[0])
        batch = [histories] if single else histories
        batch = [[str(x) for x in h] for h in batch]
        cand = None if candidates is None else [str(c) for c in candidates]
        attrs = None if attributes is None else [str(a) for a in attributes]
        ids, scores = [], []
        for lo in range(0, len(batch), batch_size):
            t, s = self._r.recommend(batch[lo:lo + batch_size], int(k), bool(exclude_history), cand, attrs)
            ids.extend(t)
            scores.append(s)
        scores = np.concatenate(scores) if scores else np.zeros((0, int(k)), np.float32)
        if self._int_ids is not None:
            ids = np.array([[int(t) if t else -1 for t in row] for row in ids], dtype=np.int64).reshape(-1, int(k))
        else:
            ids = np.array(ids, dtype=str).reshape(-1, int(k))
        return (ids[0], scores[0]) if single else (ids, scores)

    def __repr__(self):
        return f"Recommender({self.path!r}: {self._r.n_items} items)"
