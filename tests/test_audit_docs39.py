"""Audit of the thirty-ninth session's user documentation against the code (one test per fix):
the README's one-shot MAPF passages, ``docs/results_mapf.md``, the ``lacam`` planner."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ONE_SHOT = ["--set", "tasks.mode=goal_visit", "--set", "tasks.assignment=one_shot"]


def test_sweep_takes_stop_when_solved_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README: with ``episode.stop_when_solved`` "``run`` and ``sweep`` stop the run there", and
    ``warehouse run`` takes it as ``--set episode.stop_when_solved=true``. ``warehouse sweep``
    refused the same ``--set`` ("cannot be swept; use --steps and --seeds": every ``episode.*``
    key), though neither option sets it and its runs (the Mesa model) read it. It is taken now,
    swept too, and the title says the steps are a limit, as ``warehouse run``'s does."""
    from cli_helpers import TINY, run_cli

    common = ["sweep", str(TINY), *ONE_SHOT, "--set", "fleet.robots=2,3"]
    common += ["--seeds", "0,1", "--steps", "300", "--policy", "rule_based"]
    out_dir = tmp_path / "a"
    code, out, err = run_cli(
        [*common, "--set", "episode.stop_when_solved=true,false", "--out", str(out_dir)], capsys
    )
    assert code == 0, err
    table = pd.read_csv(out_dir / "sweep.csv")
    stop = table[table["episode.stop_when_solved"]]
    assert len(stop) == 4 and (stop["solved"] == 1).all()
    assert (stop["steps"] == stop["makespan"]).all() and (stop["steps"] < 300).all()
    rest = table[~table["episode.stop_when_solved"]]
    assert (rest["steps"] == 300).all()
    # the same instances: the makespans agree, stopped or not
    assert stop["makespan"].tolist() == rest["makespan"].tolist()
    assert "runs × at most 300 steps (until solved where" in " ".join(out.split())
    code, out, err = run_cli(
        [*common, "--set", "episode.stop_when_solved=true", "--out", str(tmp_path / "b")], capsys
    )
    assert code == 0, err
    assert "runs until solved, at most 300 steps" in " ".join(out.split())
    assert pd.read_csv(tmp_path / "b" / "sweep.csv")["steps"].tolist() == stop["steps"].tolist()
    # the other episode settings are still --steps' and --seeds'
    code, _, err = run_cli([*common, "--set", "episode.collect_every=5,10"], capsys)
    assert code == 2 and "episode.collect_every: cannot be swept" in err
