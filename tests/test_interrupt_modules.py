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


def test_a_ctrl_c_inside_ctrl_c_deferred_arrives_when_the_block_ends() -> None:
    import signal

    from warehouse.interrupt import ctrl_c_deferred

    finished = False
    with pytest.raises(KeyboardInterrupt):
        with ctrl_c_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished = True  # the block runs to its end first
    assert finished


def _mkdtemp_then_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """``tempfile.mkdtemp`` that makes its folder, then receives a Ctrl-C before it returns: the
    moment between making a staging folder and taking note of it."""
    import signal
    import tempfile

    real = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):  # type: ignore[no-untyped-def]
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return made

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)


@pytest.mark.parametrize("kind", ["run staging", "dataset"])
def test_a_ctrl_c_as_the_staging_folder_is_made_leaves_nothing(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.dataset import atomic_dir
    from warehouse.report import staged_dir

    _mkdtemp_then_ctrl_c(monkeypatch)
    make = staged_dir if kind == "run staging" else atomic_dir
    with pytest.raises(KeyboardInterrupt):
        with make(tmp_path / "out"):
            pass
    assert list(tmp_path.iterdir()) == []
