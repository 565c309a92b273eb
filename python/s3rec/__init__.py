"""s3rec: S3-Rec and SASRec sequential recommendation (C++), from Python.

The compiled extension (s3rec._core) provides training, evaluation and serving;
s3rec.plot needs only matplotlib and works without it.
"""
try:
    from ._core import *  # noqa: F401,F403  (built by the package's CMake build)
except ImportError:  # extension not built: the pure-Python modules (s3rec.plot) still import
    pass
