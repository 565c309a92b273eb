"""s3rec: S3-Rec (CIKM 2020) and SASRec sequential recommenders, a C++ core with a
numpy API. See docs/python.md.

    import s3rec
    data = s3rec.Dataset.from_interactions(df)            # or s3rec.Dataset(DIR, NAME)
    pre = s3rec.pretrain(data, pretrain_epochs=100)
    res = s3rec.finetune(data, pre_model_path=pre["checkpoint"])
    ids, scores = s3rec.Recommender(res["model"]).recommend([history], k=10)

The compiled part (s3rec._core) is imported on first use, so the pure-Python modules
(s3rec.plot) work without it."""
from .config import Config, config_keys
from .dataset import Dataset
from .recommender import Recommender, checkpoint_metadata, load_tensors
from .training import evaluate, finetune, pretrain

__version__ = "0.1.0"
_ERRORS = ("ConfigError", "DataError", "RequestError", "NonFiniteError")
__all__ = ["Config", "config_keys", "Dataset", "Recommender", "checkpoint_metadata", "load_tensors", "pretrain",
           "finetune", "evaluate", *_ERRORS]


def __getattr__(name):  # the exception classes live in the extension
    if name in _ERRORS:
        from ._native import core
        return getattr(core(), name)
    raise AttributeError(f"module 's3rec' has no attribute {name!r}")
