"""The compiled extension, imported on first use: the package's pure-Python parts
(plotting) work where it has not been built."""
import importlib

_core = None


def core():
    global _core
    if _core is None:
        try:
            _core = importlib.import_module("s3rec._core")
        except ImportError as e:
            raise ImportError(
                "s3rec's compiled extension (s3rec._core) is missing: install the package with "
                "`pip install --no-build-isolation --no-index ./python` from the s3rec repository "
                f"(see docs/python.md); import failed with: {e}") from e
    return _core
