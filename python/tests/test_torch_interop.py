"""PyTorch interop both ways with the transcription tests/reference/s3rec_reference.py:
an s3rec checkpoint loads into it (strict) and scores the same; a state_dict it saves
is imported by `s3rec convert --from=pt` and fine-tuning continues from it."""
import stat

import numpy as np
import pytest

import s3rec
from conftest import QUICK, run_cli

torch = pytest.importorskip("torch")
from s3rec_reference import S3RecModel  # noqa: E402  (tests/reference, on the path from conftest)


def reference_config(n_items, n_attributes):
    return dict(hidden_size=16, inner_size=32, n_layers=2, n_heads=2, hidden_act="gelu", layer_norm_eps=1e-12,
                hidden_dropout_prob=0.5, attn_dropout_prob=0.5, initializer_range=0.02, max_seq_length=10,
                n_items=n_items, n_attributes=n_attributes)


def reference_scores(model, history_ids):
    """Scores of items 1..N after a history (internal ids), the reference way: the
    history left-padded to max_seq_length, causal encoding, last position."""
    L = model.c["max_seq_length"]
    h = list(history_ids)[-L:]
    seq = torch.tensor([[0] * (L - len(h)) + h])
    with torch.no_grad():
        F = model.encode(seq, causal=True)[:, -1, :]
        return (F @ model.item_embeddings.weight[1:model.c["n_items"] + 1].t())[0].numpy()


def test_an_s3rec_checkpoint_loads_strictly_and_scores_the_same(trained, dataset):
    path = trained[1]["model"]
    model = S3RecModel(reference_config(dataset.n_items, dataset.n_attributes))
    state = {k: torch.from_numpy(v.copy()) for k, v in s3rec.load_tensors(path).items()}
    model.load_state_dict(state, strict=True)
    model.eval()
    rec = s3rec.Recommender(path)
    pos = {t: j + 1 for j, t in enumerate(rec.item_ids)}  # raw id -> internal id
    worst = 0.0
    for u in range(0, dataset.n_users, 17):
        h = dataset.history(u)
        ids, scores = rec.recommend(h, k=dataset.n_items, exclude_history=False)
        ref = reference_scores(model, [pos[t] for t in h])[[pos[t] - 1 for t in ids]]
        worst = max(worst, float(np.max(np.abs(ref - scores)) / max(1.0, float(np.max(np.abs(ref))))))
    assert worst < 1e-5, worst


@pytest.fixture(scope="module")
def saved_reference(dataset, tmp_path_factory):
    """A state_dict of the transcription, saved as the reference code saves its models."""
    d = tmp_path_factory.mktemp("pt")
    torch.manual_seed(11)
    model = S3RecModel(reference_config(dataset.n_items, dataset.n_attributes))
    path = d / "Gen-epochs-3.pt"
    torch.save(model.state_dict(), path)
    dataset.write(d / "data")
    return path, model.state_dict(), d


def test_convert_imports_the_state_dict_and_finetune_continues_from_it(cli, saved_reference):
    pt, state, d = saved_reference
    out = d / "imported.safetensors"
    r = run_cli(cli, "convert", "--from=pt", pt, f"--to={out}")
    assert "2 layers, 2 heads" in r.stdout
    tensors = s3rec.load_tensors(out)
    assert set(tensors) == set(state)
    for k, v in state.items():
        np.testing.assert_array_equal(tensors[k], v.numpy(), err_msg=k)
    # zero fine-tuning epochs: the saved model is exactly the imported one
    common = [f"--{k}={v}" for k, v in QUICK.items()] + [f"--data_path={d / 'data'}", "--dataset=gen"]
    r = run_cli(cli, "finetune", f"--pre_model_path={out}", "--epochs=0", f"--run_dir={d / 'ft0'}", *common)
    assert f"initialised from {out}" in r.stderr
    kept = s3rec.load_tensors(d / "ft0" / "S3Rec-gen-finetuned.safetensors")
    for k, v in state.items():
        np.testing.assert_array_equal(kept[k], v.numpy(), err_msg=k)
    # and training moves on from there
    r = run_cli(cli, "finetune", f"--pre_model_path={out}", "--epochs=2", f"--run_dir={d / 'ft2'}", *common)
    assert "best epoch" in r.stdout


def _convert_error(cli, tmp_path, obj, env=None):
    src = tmp_path / "bad.pt"
    if isinstance(obj, bytes):
        src.write_bytes(obj)
    else:
        torch.save(obj, src)
    r = run_cli(cli, "convert", "--from=pt", src, f"--to={tmp_path / 'out.safetensors'}", check=False, env=env)
    assert r.returncode == 1 and not (tmp_path / "out.safetensors").exists()
    assert not list(tmp_path.glob("*.tmp"))
    return r.stderr


def test_mismatched_and_foreign_files_name_the_tensor(cli, saved_reference, tmp_path):
    # (shapes and foreign names: tests/test_state_dict_import.cpp; here, what comes through the .pt reader)
    _, state, _ = saved_reference
    renamed = dict(state)
    renamed["item_encoder.layer.1.intermediate.dense_3.bias"] = renamed.pop(
        "item_encoder.layer.1.intermediate.dense_2.bias")
    assert "tensor item_encoder.layer.1.intermediate.dense_2.bias is missing" in _convert_error(cli, tmp_path, renamed)
    extra = dict(state, **{"criterion.weight": torch.zeros(3)})
    assert "unexpected tensor criterion.weight [3]" in _convert_error(cli, tmp_path, extra)
    doubles = dict(state, **{"sp_norm.bias": torch.zeros(16, dtype=torch.float64)})
    assert "tensor sp_norm.bias has dtype F64" in _convert_error(cli, tmp_path, doubles)
    assert "entry step is a int, not a tensor" in _convert_error(cli, tmp_path, dict(state, step=3))
    assert "holds a Tensor, expected a state_dict" in _convert_error(cli, tmp_path, torch.zeros(3))
    assert "not a PyTorch file torch.load can read" in _convert_error(cli, tmp_path, b"hello\n")


def test_without_torch_the_error_says_what_to_install(cli, saved_reference, tmp_path):
    pt, _, _ = saved_reference
    fake = tmp_path / "python-without-torch"
    fake.write_text("#!/bin/sh\nexec /usr/bin/python3 -c \"import sys; sys.modules['torch'] = None; "
                    "sys.argv = sys.argv[1:]; exec(sys.argv[0])\" \"$2\" \"$3\" \"$4\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    r = run_cli(cli, "convert", "--from=pt", pt, f"--to={tmp_path / 'o.safetensors'}", check=False,
                env={"S3REC_PYTHON": str(fake)})
    assert r.returncode == 1 and "install Debian's python3-torch" in r.stderr
    r = run_cli(cli, "convert", "--from=pt", pt, f"--to={tmp_path / 'o.safetensors'}", check=False,
                env={"S3REC_PYTHON": str(tmp_path / "no-such-python")})
    assert r.returncode == 1 and "needs python3 with PyTorch" in r.stderr
