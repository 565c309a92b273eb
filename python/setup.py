"""Builds the s3rec Python package: setuptools runs the project's CMake with the
extension target on (S3REC_BUILD_PYTHON=ON), which compiles the C++ library
position-independent and links it into s3rec/_core. Nothing is downloaded.

    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install --no-build-isolation ./python

Environment: S3REC_BUILD_JOBS (parallel compile jobs, default: all cores),
S3REC_CMAKE_ARGS (extra arguments for the CMake configure step)."""
import os
import shlex
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent  # the repository: CMakeLists.txt, src/, include/


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        if not (ROOT / "CMakeLists.txt").exists():
            raise RuntimeError(f"{ROOT}/CMakeLists.txt not found: install from the s3rec repository "
                               "(pip install --no-build-isolation ./python)")
        out = Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build = Path(self.build_temp).resolve() / "cmake"
        build.mkdir(parents=True, exist_ok=True)
        configure = ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                     "-DS3REC_BUILD_PYTHON=ON", "-DS3REC_BUILD_TESTS=OFF", "-DS3REC_BUILD_BENCH=OFF",
                     "-DS3REC_WITH_MPI=OFF", "-DS3REC_PYTHON_LINK_SOURCES=OFF",
                     f"-DS3REC_PYTHON_OUT={out}", f"-DPython_EXECUTABLE={sys.executable}"]
        configure += shlex.split(os.environ.get("S3REC_CMAKE_ARGS", ""))
        jobs = os.environ.get("S3REC_BUILD_JOBS", str(os.cpu_count() or 1))
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "_core", "-j", jobs], check=True)


setup(
    name="s3rec",
    version="0.1.0",
    description="S3-Rec and SASRec sequential recommenders (C++ core, numpy API)",
    packages=["s3rec"],
    python_requires=">=3.9",
    install_requires=["numpy"],
    ext_modules=[CMakeExtension("s3rec._core")],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
