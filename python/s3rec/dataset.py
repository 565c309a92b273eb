"""Datasets: the reference format (DIR/NAME.txt) and RecBole atomic files through
`Dataset(data_path, dataset)`, or interactions in memory through
`Dataset.from_interactions`, ids mapped as `s3rec prepare` maps a file's."""
import math
from collections.abc import Mapping

import numpy as np

from ._native import core
from .config import Config


def _factorize(values, what):
    """(codes int64 [n], tokens [distinct]) of a column of hashable ids, tokens as str."""
    try:
        import pandas as pd
        if not hasattr(values, "dtype"):  # a list: any hashable objects
            values = np.asarray(values, dtype=object)
        codes, uniques = pd.factorize(values, sort=False)
        uniques = list(uniques)
        codes = np.asarray(codes, dtype=np.int64)
    except ImportError:
        index, codes = {}, np.empty(len(values), dtype=np.int64)
        for r, v in enumerate(values):
            codes[r] = index.setdefault(v, len(index))
        uniques = list(index)
    if (codes < 0).any():
        raise ValueError(f"{what}: interaction {int(np.argmax(codes < 0))} has a missing id (None or NaN)")
    tokens = [str(u) for u in uniques]
    if len(set(tokens)) != len(tokens):
        seen = {}
        for u, t in zip(uniques, tokens):
            if t in seen:
                raise ValueError(f"{what}: ids {seen[t]!r} and {u!r} are different objects with the same text "
                                 f"'{t}'; s3rec keeps ids as text, so make them distinct")
            seen[t] = u
    return codes, tokens


def _timestamps(values):
    if values is None:
        return None
    a = np.asarray(values)
    if np.issubdtype(a.dtype, np.datetime64):
        return a.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9  # seconds
    try:
        return a.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"timestamps must be numbers or datetimes: {e}") from None


def _attribute_values(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        return [v]
    return [x for x in v if not (x is None or (isinstance(x, float) and math.isnan(x)))]


def _attributes(item_attributes, item_column):
    """item token -> attribute tokens, from a mapping, a Series (index = item) or a
    DataFrame (the item column and one or more attribute columns; with several, tokens
    are 'column=value' as `s3rec prepare` writes them)."""
    if item_attributes is None:
        return {}
    out = {}
    if hasattr(item_attributes, "columns"):  # a DataFrame
        df = item_attributes
        item = item_column if item_column in df.columns else df.columns[0]
        fields = [c for c in df.columns if c != item]
        if not fields:
            raise ValueError("item_attributes: the DataFrame needs an attribute column besides the item column")
        for row in df.itertuples(index=False):
            values = dict(zip(df.columns, row))
            tokens = out.setdefault(str(values[item]), [])
            for f in fields:
                for v in _attribute_values(values[f]):
                    tokens.append(f"{f}={v}" if len(fields) > 1 else str(v))
        return out
    if hasattr(item_attributes, "items") and not isinstance(item_attributes, Mapping):  # a Series
        item_attributes = dict(item_attributes.items())
    if not isinstance(item_attributes, Mapping):
        raise TypeError("item_attributes must be a mapping {item: attributes}, a pandas Series or a DataFrame")
    for item, v in item_attributes.items():
        out.setdefault(str(item), []).extend(str(x) for x in _attribute_values(v))
    return out


class Dataset:
    """Users' chronological item sequences, item attributes and the 99 sampled
    negatives of the evaluation.

    `Dataset(data_path, dataset)` reads DIR/NAME.txt (with NAME_item2attributes.json
    and NAME_sample.txt) or RecBole's DIR/NAME/NAME.inter (with .item and
    item_attribute=[fields]); negatives are drawn with `seed` when there is no sample
    file, as the CLI does."""

    def __init__(self, data_path=None, dataset=None, *, item_attribute=None, seed=2020, _native=None):
        self.stats, self.problems, self.report = None, [], {}
        if _native is not None:
            self._d = _native
            return
        if dataset is None:
            raise TypeError("Dataset(data_path, dataset): name the dataset (the files' NAME)")
        keys = {"data_path": data_path or ".", "dataset": dataset, "seed": seed}
        if item_attribute:
            keys["item_attribute"] = item_attribute
        self._d, self.report = core().load_dataset(Config(**keys)._c)

    @classmethod
    def from_interactions(cls, users, items=None, timestamps=None, item_attributes=None, *, user="user_id",
                          item="item_id", time="timestamp", name="interactions", k=5, dedup=False, seed=2020):
        """From arrays (one entry per interaction) or a pandas DataFrame.

        `users`, `items`: ids of any hashable kind (kept as their text, str(id)); or
        pass a DataFrame as `users` with columns `user`, `item` and optionally `time`.
        `timestamps`: numbers or datetimes (None: the given order). `item_attributes`:
        {item: attribute or [attributes]}, a Series indexed by item, or a DataFrame of
        an item column and attribute columns. Then, as `s3rec prepare`: repeated pairs
        dropped when `dedup`, `k`-core filtering (k=1: none), users with fewer than 3
        items dropped, each user's items ordered by time (ties: given order), ids
        assigned in its documented order, and 99 negatives per user drawn with `seed`."""
        if hasattr(users, "columns"):  # a DataFrame
            df = users
            for col in (user, item):
                if col not in df.columns:
                    raise ValueError(f"the DataFrame has no column '{col}' (columns: {list(df.columns)}); "
                                     f"name them with user=, item=, time=")
            users, items = df[user].to_numpy(), df[item].to_numpy()
            if timestamps is None and time in df.columns:
                timestamps = df[time].to_numpy()
        if items is None:
            raise TypeError("from_interactions(users, items, ...): items are missing")
        if len(users) != len(items):
            raise ValueError(f"users and items must have the same length (got {len(users)} and {len(items)})")
        ucodes, utokens = _factorize(users, "users")
        icodes, itokens = _factorize(items, "items")
        t = _timestamps(timestamps)
        if t is not None and len(t) != len(ucodes):
            raise ValueError(f"timestamps must have one entry per interaction ({len(ucodes)}), got {len(t)}")
        native, stats, problems = core().prepare_interactions(
            ucodes, utokens, icodes, itokens, t, _attributes(item_attributes, item), name, int(k), bool(dedup),
            int(seed))
        ds = cls(_native=native)
        ds.stats, ds.problems = stats, list(problems)
        return ds

    name = property(lambda self: self._d.name)
    n_users = property(lambda self: self._d.n_users)
    n_items = property(lambda self: self._d.n_items)
    n_attributes = property(lambda self: self._d.n_attributes)
    n_actions = property(lambda self: self._d.n_actions)

    @property
    def user_ids(self):
        """Raw id (text) of each user row."""
        return list(self._d.user_tokens)

    @property
    def item_ids(self):
        """Raw id (text) of items 1..n_items: item_ids[i - 1] is item i."""
        return list(self._d.item_tokens)

    @property
    def attribute_ids(self):
        """Raw attribute values (text) of attributes 1..n_attributes."""
        return list(self._d.attribute_tokens)

    def sequence(self, user_row):
        """Item ids (1..n_items) of a user row, oldest first."""
        return self._d.sequence(int(user_row))

    def history(self, user_row):
        """A user's items as raw ids, oldest first: what Recommender.recommend takes."""
        tokens = self._d.item_tokens
        return [tokens[i - 1] for i in self._d.sequence(int(user_row))]

    def write(self, directory):
        """Writes the reference format (NAME.txt, NAME_item2attributes.json, NAME_sample.txt):
        users and items by their dense ids (1..), as `s3rec prepare` writes them."""
        import os
        self._d.write(os.fspath(directory))

    def __repr__(self):
        return (f"Dataset({self.name!r}: {self.n_users} users, {self.n_items} items, {self.n_actions} actions, "
                f"{self.n_attributes} attributes)")
