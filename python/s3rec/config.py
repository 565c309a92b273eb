"""Run configurations with the CLI's keys, defaults and validation: YAML files first,
then keyword arguments (as --key=value on the command line)."""
import os

from ._native import core


def _text(value):
    """A keyword argument's value as the CLI would receive it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    if isinstance(value, dict):
        import json
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


class Config:
    """A resolved configuration: `Config("a.yaml", "b.yaml", hidden_size=64)`.

    Raises s3rec.ConfigError (a ValueError) with the CLI's message for an unknown key
    or a bad value."""

    def __init__(self, *config_files, **keys):
        files = [os.fspath(f) for f in config_files]
        self._c = core().load_config(files, [(k, _text(v)) for k, v in keys.items()])

    def to_dict(self):
        return self._c.to_dict()

    def to_yaml(self):
        return self._c.to_yaml()

    def __getitem__(self, key):
        return self.to_dict()[key]

    def __contains__(self, key):
        return key in self.to_dict()

    def __iter__(self):
        return iter(self.to_dict())

    def keys(self):
        return self.to_dict().keys()

    def __repr__(self):
        return f"Config({self.to_dict()!r})"


def config_keys():
    """Every key a configuration accepts."""
    return list(core().config_keys())


def resolve(config_files, keys, dataset_name=None):
    """Config from files (a path or a list of paths), then keys; when neither names a
    dataset, `dataset_name` does (checkpoint and run directory names use it)."""
    if config_files is None:
        files = []
    elif isinstance(config_files, (str, os.PathLike)):
        files = [config_files]
    else:
        files = list(config_files)
    c = Config(*files, **keys)
    if dataset_name and not c._c.dataset:
        c = Config(*files, **{"dataset": dataset_name, **keys})
    return c
