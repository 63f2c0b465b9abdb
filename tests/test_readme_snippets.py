"""Every Python block of the README runs as written (in a fresh interpreter, from a scratch
folder, as a new user would paste it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    if not README.is_file():
        return []
    return re.findall(r"^```python\n(.*?)^```", README.read_text("utf-8"), re.S | re.M)


def test_the_readme_has_python_blocks() -> None:
    if not README.is_file():
        pytest.skip("no README.md")
    assert len(_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_python_block_runs(index: int, tmp_path: Path) -> None:
    code = _blocks()[index]
    done = subprocess.run(
        [sys.executable, "-c", code + "\nprint('snippet done')"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "snippet done" in done.stdout, done.stderr[-2000:]
    assert not list(tmp_path.iterdir())  # nothing written where it ran
