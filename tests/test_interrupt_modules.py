"""Ctrl-C in the ``python -m`` entry points: one line, exit 130, no worker tracebacks.

The ``warehouse`` command's own case is in ``tests/test_audit_cli2.py``; these are the
evaluation and recipe modules the docs run (``hierarchy.evaluate --jobs`` starts worker
processes, which a terminal's Ctrl-C reaches too).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from interrupt_helpers import children, press_ctrl_c

from warehouse.interrupt import INTERRUPTED, run_main

ROOT = Path(__file__).resolve().parents[1]


def test_run_main_turns_ctrl_c_into_one_line(capsys) -> None:
    def main() -> None:
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stop:
        run_main(main)
    assert stop.value.code == INTERRUPTED == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_run_main_leaves_other_exits_alone() -> None:
    def main() -> None:
        sys.exit(2)

    with pytest.raises(SystemExit) as stop:
        run_main(main)
    assert stop.value.code == 2


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_hierarchy_evaluate_with_jobs_interrupted_is_one_line(tmp_path: Path) -> None:
    argv = [
        sys.executable, "-m", "hierarchy.evaluate", "--out", str(tmp_path / "out"),
        "--scenarios", "small", "--configs", "rule_based (block),rule_based (pibt)",
        "--seeds", "4", "--steps", "100000", "--jobs", "2",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the workers are importing or running once there: both must stay quiet
    code, out, err = press_ctrl_c(
        argv, tmp_path, lambda p: len(children(p.pid)) >= 2, settle_s=1, env=env
    )
    assert code == INTERRUPTED, (out, err)
    assert err.strip() == "interrupted", err
    assert "Traceback" not in out + err
    assert not (tmp_path / "out").exists()  # a run that did not finish leaves no results


# Signals reach only a process's main thread, where pytest-xdist does not run tests: these run
# their scene in a fresh interpreter.
_DEFERRED = """
import os, signal
from warehouse.interrupt import ctrl_c_deferred
finished = False
try:
    with ctrl_c_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        finished = True  # the block runs to its end first
except KeyboardInterrupt:
    print("interrupted after the block" if finished else "interrupted inside")
"""

# tempfile.mkdtemp makes its folder, then a Ctrl-C arrives before it returns: the moment
# between making a staging folder and taking note of it
_STAGING = """
import os, signal, sys, tempfile
from pathlib import Path
from agents.dataset import atomic_dir
from warehouse.report import staged_dir
real = tempfile.mkdtemp
def mkdtemp(*args, **kwargs):
    made = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGINT)
    return made
tempfile.mkdtemp = mkdtemp
root = Path(sys.argv[1])
make = staged_dir if sys.argv[2] == "run staging" else atomic_dir
try:
    with make(root / "out"):
        pass
except KeyboardInterrupt:
    print("left:", sorted(p.name for p in root.iterdir()))
"""


def _scene(code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_a_ctrl_c_inside_ctrl_c_deferred_arrives_when_the_block_ends() -> None:
    assert _scene(_DEFERRED) == "interrupted after the block"


@pytest.mark.parametrize("kind", ["run staging", "dataset"])
def test_a_ctrl_c_as_the_staging_folder_is_made_leaves_nothing(kind: str, tmp_path: Path) -> None:
    assert _scene(_STAGING, str(tmp_path), kind) == "left: []"
