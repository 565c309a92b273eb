"""Datasets from files and from interactions in memory, mapped as `s3rec prepare` maps a file."""
import numpy as np
import pytest

import s3rec
from conftest import make_log, run_cli


def test_from_interactions_matches_s3rec_prepare(cli, tmp_path, log):
    rows, attrs = log
    csv = tmp_path / "log.csv"
    csv.write_text("user_id,item_id,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))
    items = tmp_path / "items.csv"
    items.write_text("item_id,tags\n" + "".join(f"{i},{'|'.join(a)}\n" for i, a in attrs.items()))
    run_cli(cli, "prepare", f"--input={csv}", f"--items={items}", "--item_attribute=tags", "--dataset=gen",
            f"--output={tmp_path / 'out'}", "--k=2")
    from_file = s3rec.Dataset(tmp_path / "out", "gen")
    users, its, times = zip(*rows)
    mem = s3rec.Dataset.from_interactions(np.array(users), np.array(its), np.array(times), item_attributes=attrs,
                                          name="gen", k=2)
    assert (mem.n_users, mem.n_items, mem.n_attributes) == (from_file.n_users, from_file.n_items,
                                                              from_file.n_attributes)
    for u in range(mem.n_users):
        assert list(mem.sequence(u)) == list(from_file.sequence(u))
    assert mem.stats["items"] == mem.n_items and mem.stats["users_removed"] >= 0


def test_dataframe_with_any_hashable_ids_and_datetimes():
    pd = pytest.importorskip("pandas")
    rows, attrs = make_log(users=150, items=140)
    df = pd.DataFrame(rows, columns=["user", "item", "ts"])
    df["user"] = [(u, "x") for u in df["user"]]                 # tuples as user ids
    df["item"] = [int(i[1:]) for i in df["item"]]              # integer item ids
    df["ts"] = pd.to_datetime(df["ts"], unit="s")
    table = pd.DataFrame({"item": [int(i[1:]) for i in attrs], "tags": list(attrs.values())})
    d = s3rec.Dataset.from_interactions(df, user="user", item="item", time="ts", item_attributes=table, k=1)
    assert d.n_users == len(set(df["user"]))
    assert d.n_attributes == 8 + 5
    first_user = sorted(set(df["user"]), key=str)[0]  # users ordered by their text
    assert d.user_ids[0] == str(first_user)
    own = df[df["user"] == first_user].sort_values("ts")["item"].astype(str).tolist()
    assert d.history(0) == own


def test_timestamps_order_each_user_and_ties_keep_the_given_order():
    users = ["a"] * 4 + ["b"] * 3
    items = ["x", "y", "z", "w", "x", "y", "z"]
    times = [3, 1, 2, 2, 5, 5, 5]
    d = s3rec.Dataset.from_interactions(users, items, times, k=1)
    assert d.history(0) == ["y", "z", "w", "x"]
    assert d.history(1) == ["x", "y", "z"]


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="same length"):
        s3rec.Dataset.from_interactions(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="missing id"):
        s3rec.Dataset.from_interactions(["a", None, "a"], ["x", "y", "z"], k=1)
    with pytest.raises(ValueError, match="same text '1'"):
        s3rec.Dataset.from_interactions([1, "1", 1], ["x", "y", "z"], k=1)
    with pytest.raises(s3rec.DataError, match="no interactions left after filtering"):
        s3rec.Dataset.from_interactions(["a", "a", "b"], ["x", "y", "z"], k=5)


def test_missing_files_raise_data_error_naming_the_file(tmp_path):
    with pytest.raises(s3rec.DataError, match=str(tmp_path)):
        s3rec.Dataset(tmp_path, "nothing")


def test_recbole_atomic_files(tmp_path, log):
    rows, attrs = log
    d = tmp_path / "gen"
    d.mkdir()
    (d / "gen.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n" +
                                 "".join(f"{u}\t{i}\t{t}\n" for u, i, t in rows))
    (d / "gen.item").write_text("item_id:token\tclass:token_seq\n" +
                                "".join(f"{i}\t{' '.join(a)}\n" for i, a in attrs.items()))
    data = s3rec.Dataset(tmp_path, "gen", item_attribute=["class"])
    users, items, times = zip(*rows)
    mem = s3rec.Dataset.from_interactions(users, items, times, item_attributes=attrs, k=1)
    assert (data.n_users, data.n_items, data.n_attributes) == (mem.n_users, mem.n_items, mem.n_attributes)
    by_user = {u: data.history(r) for r, u in enumerate(data.user_ids)}
    assert all(by_user[u] == mem.history(r) for r, u in enumerate(mem.user_ids))
    with pytest.raises(s3rec.DataError, match="gen.inter:1"):
        (d / "gen.inter").write_text("user\titem_id:token\ttimestamp:float\nu\ti\t1\n")
        s3rec.Dataset(tmp_path, "gen")
