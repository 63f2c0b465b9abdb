"""Ctrl-C in the ``python -m`` entry points: one line, exit 130, no worker tracebacks.

The ``warehouse`` command's own case is in ``tests/test_audit_cli2.py``; these are the
evaluation and recipe modules the docs run (``hierarchy.evaluate --jobs`` starts worker
processes, which a terminal's Ctrl-C reaches too).
"""

from __future__ import annotations

import os
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
