"""pretrain, finetune and evaluate: the CLI's commands as functions. Each takes an
s3rec.Dataset as `data` (or the data_path and dataset keys name the files), YAML
files and keyword keys, and returns
what the CLI writes as JSON. The work runs in C++ without the GIL; Ctrl-C stops a
run between two batches (KeyboardInterrupt), the checkpoints written so far intact."""
import sys

from ._native import core
from .config import resolve
from .dataset import Dataset


def _dataset(data, config):
    if data is None:
        d, report = core().load_dataset(config._c)
        for w in report["warnings"]:
            print(f"warning: {w}", file=sys.stderr)
        return d
    if isinstance(data, Dataset):
        return data._d
    raise TypeError(f"data must be an s3rec.Dataset, or None with the data_path and dataset keys naming the "
                    f"files; got {type(data).__name__}")


def _split(data, keys):
    """`dataset=` is the configuration key (a name); an s3rec.Dataset given there is the data."""
    if isinstance(keys.get("dataset"), Dataset):
        if data is not None:
            raise TypeError("give the data once: data=Dataset or dataset=Dataset")
        keys = dict(keys)
        data = keys.pop("dataset")
    return data, keys


class _Progress:
    """progress=True: a tqdm bar per epoch when tqdm is installed, and a line per
    epoch; False: quiet; a callable: called as progress(stage, epoch, done, total)."""

    def __init__(self, progress, on_epoch):
        self.user = progress if callable(progress) else None
        self.show = progress is True
        self.on_epoch_user = on_epoch
        self.bar, self.bar_epoch = None, None
        try:
            from tqdm.auto import tqdm
            self.tqdm = tqdm if self.show else None
        except ImportError:
            self.tqdm = None

    def batch(self, stage, epoch, done, total):
        if self.user is not None:
            self.user(stage, epoch, done, total)
        if self.tqdm is not None:
            if self.bar is None or self.bar_epoch != (stage, epoch):
                self.close()
                self.bar = self.tqdm(total=total, desc=f"{stage} epoch {epoch}", leave=False,
                                     unit="user" if stage == "finetune" else "sample")
                self.bar_epoch = (stage, epoch)
            self.bar.update(done - self.bar.n)

    def epoch(self, record):
        self.close()
        if self.show:
            print(_epoch_line(record), flush=True)
        if self.on_epoch_user is not None:
            self.on_epoch_user(record)

    def message(self, text):
        if self.show:
            print(text, file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _epoch_line(r):
    if r["stage"] == "pretrain":
        n = r["samples"] or 1
        return (f"epoch {r['epoch']}: aap {r['aap'] / n:.4f} mip {r['mip'] / n:.4f} map {r['map'] / n:.4f} "
                f"sp {r['sp'] / n:.4f} (per sample), {r['seconds']:.1f}s")
    metric = r["selection_metric"]
    test = f", test {r['test'][metric]:.4f}" if metric in r.get("test", {}) else ""  # log_test=True
    return (f"epoch {r['epoch']}: loss {r['loss']:.4f}, valid {metric} {r['score']:.4f}"
            f"{' *' if r['improved'] else ''}{test}, {r['seconds']:.1f}s")


def _run(fn, data, config_files, keys, progress, on_epoch):
    data, keys = _split(data, keys)
    config = resolve(config_files, keys, data.name if isinstance(data, Dataset) else None)
    native = _dataset(data, config)
    p = _Progress(progress, on_epoch)
    try:
        return fn(config._c, native, p.batch, p.epoch, p.message)
    finally:
        p.close()


def pretrain(data=None, *, config_files=None, progress=True, on_epoch=None, **keys):
    """Pre-trains S3-Rec (AAP, MIP, MAP, SP). Writes S3Rec-NAME-EPOCH.safetensors to
    checkpoint_dir (default saved/) every save_step epochs and after the last, and
    RUN_DIR/log.jsonl.
    Returns {"checkpoint": last path, "checkpoints": [...], "epochs": n, "run_dir": ...}.
    `on_epoch(record)` receives each epoch's log record (a dict)."""
    return _run(core().pretrain, data, config_files, keys, progress, on_epoch)


def finetune(data=None, *, config_files=None, progress=True, on_epoch=None, **keys):
    """Fine-tunes for next-item prediction (from pre_model_path when given, else
    SASRec) with early stopping. Returns the CLI's results.json as a dict:
    {"valid": {metric: value}, "test": {...}, "model": path, "best_epoch": n, ...}; the model
    is written in checkpoint_dir when given, else in the run directory."""
    return _run(core().finetune, data, config_files, keys, progress, on_epoch)


def evaluate(model_path, data=None, *, config_files=None, **keys):
    """Evaluates a saved model on validation and test (eval_mode="sampled" or
    "full"); returns {"valid": {...}, "test": {...}} as `s3rec evaluate --json`."""
    import os
    data, keys = _split(data, keys)
    config = resolve(config_files, {**keys, "model_path": os.fspath(model_path)},
                     data.name if isinstance(data, Dataset) else None)
    return core().evaluate(config._c, _dataset(data, config))
