"""pretrain / finetune / evaluate: the CLI's results, progress callbacks, Ctrl-C."""
import json
import os
import signal
import threading

import pytest

import s3rec
from conftest import QUICK, cli_error, run_cli


def test_pretrain_writes_checkpoints_and_log(trained):
    pre, _ = trained
    assert pre["epochs"] == 2 and len(pre["checkpoints"]) == 2
    assert pre["checkpoint"].endswith("S3Rec-gen-2.safetensors") and os.path.exists(pre["checkpoint"])
    log = [json.loads(l) for l in open(os.path.join(pre["run_dir"], "log.jsonl"))]
    assert [r["epoch"] for r in log] == [1, 2] and all(r["stage"] == "pretrain" for r in log)


def test_finetune_returns_results_json(trained):
    _, ft = trained
    with open(os.path.join(ft["run_dir"], "results.json")) as f:
        on_disk = json.load(f)
    assert on_disk == {k: ft[k] for k in on_disk}
    assert list(ft["test"]) == ["HR@1", "HR@5", "NDCG@5", "HR@10", "NDCG@10", "MRR"]
    assert 0 < ft["test"]["HR@10"] <= 1 and ft["model"].endswith("S3Rec-gen-finetuned.safetensors")


def test_same_results_as_the_cli(cli, dataset, tmp_path):
    dataset.write(tmp_path / "data")
    keys = dict(QUICK, epochs=2, seed=5)
    args = [f"--{k}={v}" for k, v in keys.items()]
    run_cli(cli, "finetune", f"--data_path={tmp_path / 'data'}", "--dataset=gen", f"--run_dir={tmp_path / 'cli'}",
            f"--json={tmp_path / 'cli.json'}", *args)
    with open(tmp_path / "cli.json") as f:
        from_cli = json.load(f)
    py = s3rec.finetune(data_path=tmp_path / "data", dataset="gen", run_dir=tmp_path / "py", progress=False, **keys)
    assert {"valid": py["valid"], "test": py["test"]} == from_cli
    model = py["model"]
    run_cli(cli, "evaluate", f"--data_path={tmp_path / 'data'}", "--dataset=gen", f"--model_path={model}",
            "--eval_mode=full", f"--run_dir={tmp_path / 'ev'}", f"--json={tmp_path / 'ev.json'}")
    with open(tmp_path / "ev.json") as f:
        assert s3rec.evaluate(model, s3rec.Dataset(tmp_path / "data", "gen"), eval_mode="full",
                              run_dir=tmp_path / "ev2") == json.load(f)


def test_progress_callback_and_epoch_records(dataset, tmp_path):
    calls, records = [], []
    s3rec.finetune(dataset, epochs=2, run_dir=tmp_path, progress=lambda *a: calls.append(a),
                   on_epoch=records.append, **QUICK)
    stages = {c[0] for c in calls}
    assert stages == {"finetune"} and {c[1] for c in calls} == {1, 2}
    last = [c for c in calls if c[1] == 1][-1]
    assert last[2] == last[3] == dataset.n_users  # done == total at the epoch's end
    assert [r["epoch"] for r in records] == [1, 2] and "valid" in records[0] and "test" not in records[0]


def test_log_test_adds_each_epochs_test_metrics_and_changes_nothing_else(dataset, tmp_path, capsys):
    runs = {}
    for log_test in (False, True):
        records = []
        res = s3rec.finetune(dataset, epochs=3, stopping_step=3, run_dir=tmp_path / str(log_test), log_test=log_test,
                             on_epoch=records.append, **QUICK)
        runs[log_test] = res, records
    (plain, without), (res, logged) = runs[False], runs[True]
    assert res["test"] == plain["test"] and res["best_epoch"] == plain["best_epoch"]
    assert [r["loss"] for r in logged] == [r["loss"] for r in without]
    assert [r["valid"] for r in logged] == [r["valid"] for r in without]
    assert all("test" in r and "test" not in w for r, w in zip(logged, without))
    assert logged[res["best_epoch"] - 1]["test"] == res["test"]
    assert ", test " in capsys.readouterr().out  # the epoch line shows it


def test_errors_are_python_exceptions_with_the_cli_messages(cli, dataset, tmp_path):
    with pytest.raises(RuntimeError) as e:
        s3rec.finetune(dataset, pre_model_path=tmp_path / "none.safetensors", run_dir=tmp_path, progress=False)
    dataset.write(tmp_path / "d")
    r = run_cli(cli, "finetune", f"--pre_model_path={tmp_path / 'none.safetensors'}", "--dataset=gen",
                f"--data_path={tmp_path / 'd'}", f"--run_dir={tmp_path / 'r'}", check=False)
    assert str(e.value) == cli_error(r)
    with pytest.raises(s3rec.ConfigError, match="model_path"):
        s3rec.evaluate("", dataset)


def _interrupt_at(epoch, batch):
    """A progress callback that sends SIGINT to this process at (epoch, batch)."""
    seen = {}

    def progress(stage, e, done, total):
        seen[e] = seen.get(e, 0) + 1
        if e == epoch and seen[e] == batch:
            os.kill(os.getpid(), signal.SIGINT)
    return progress


@pytest.fixture
def sigint_raises():
    # Ctrl-C becomes KeyboardInterrupt only where Python installed its SIGINT handler, and
    # Python leaves SIGINT alone when the process starts with it ignored (a background job
    # of a non-interactive shell, nohup-style launchers): install the handler for the test
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_ctrl_c_stops_after_the_last_checkpoint(dataset, tmp_path, sigint_raises):
    saved = tmp_path / "saved"
    with pytest.raises(KeyboardInterrupt):
        s3rec.pretrain(dataset, pretrain_epochs=50, save_step=1, pretrain_batch_size=64, checkpoint_dir=saved,
                       run_dir=tmp_path / "run", progress=_interrupt_at(3, 2), **QUICK)
    names = sorted(p.name for p in saved.iterdir())
    assert names == ["S3Rec-gen-1.safetensors", "S3Rec-gen-1.safetensors.optim.safetensors",
                     "S3Rec-gen-2.safetensors", "S3Rec-gen-2.safetensors.optim.safetensors"]
    # the last checkpoint is whole: pre-training resumes from it
    res = s3rec.pretrain(dataset, pretrain_epochs=3, save_step=1, pretrain_batch_size=64, checkpoint_dir=saved, resume=True,
                         run_dir=tmp_path / "run", progress=False, **QUICK)
    assert res["checkpoints"] == [str(saved / "S3Rec-gen-3.safetensors")]


# fine-tuning epochs that no machine finishes before the 1 s timer of the two tests below
# (300 epochs of this data took 0.8 s on a 2026 AMD EPYC host, and the test failed)
LONG = 30_000


def test_ctrl_c_from_another_thread_reaches_a_running_finetune(dataset, tmp_path, sigint_raises):
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()  # the run holds no GIL: the signal arrives while C++ trains
    try:
        with pytest.raises(KeyboardInterrupt):  # (uninterrupted, the run would last minutes)
            s3rec.finetune(dataset, epochs=LONG, stopping_step=LONG, run_dir=tmp_path, progress=False, **QUICK)
    finally:
        timer.cancel()


def test_the_core_checks_for_signals_without_python_callbacks(dataset, tmp_path, sigint_raises):
    from s3rec._native import core
    config = s3rec.Config(epochs=LONG, stopping_step=LONG, run_dir=tmp_path, dataset="gen", **QUICK)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()  # no Python code runs during the training: only PyErr_CheckSignals can see the signal
    try:
        with pytest.raises(KeyboardInterrupt):
            core().finetune(config._c, dataset._d, None, None, None)
    finally:
        timer.cancel()
    records = [json.loads(l) for l in open(tmp_path / "log.jsonl")]
    assert records and records[-1]["stage"] == "finetune" and records[-1]["epoch"] < LONG, "stopped at the signal"
