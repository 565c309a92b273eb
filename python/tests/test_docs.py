"""docs/python.md runs as written: its python blocks, in order, in one namespace, in a
scratch directory that sees the repository's tests/ (blocks marked
<!-- needs: torch --> are skipped without PyTorch)."""
import os
import re

import pytest

from conftest import REPO


def python_blocks(text):
    """(code, needs) of each ```python block; needs = the module named by a
    <!-- needs: X --> comment on the line before."""
    out = []
    for m in re.finditer(r"(?:<!-- needs: (\w+) -->\n)?```python\n(.*?)```", text, re.S):
        out.append((m.group(2), m.group(1)))
    return out


def test_docs_python_md_runs_as_written(tmp_path, monkeypatch):
    blocks = python_blocks((REPO / "docs" / "python.md").read_text())
    assert len(blocks) >= 5
    (tmp_path / "tests").symlink_to(REPO / "tests")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    namespace = {"__name__": "__docs__"}
    for i, (code, needs) in enumerate(blocks):
        if needs:
            try:
                __import__(needs)
            except ImportError:
                continue
        try:
            exec(compile(code, f"docs/python.md block {i + 1}", "exec"), namespace)
        except Exception as e:
            pytest.fail(f"docs/python.md block {i + 1} failed: {type(e).__name__}: {e}\n{code}")
    # what the page promises
    assert namespace["ids"].shape == (5,)
    assert os.path.exists(tmp_path / "saved" / "S3Rec-demo-5.safetensors")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "convergence.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
