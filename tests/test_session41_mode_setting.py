"""``warehouse run --set physics.collisions=...`` that no policy of the run reads is refused (exit
2, one line), not silently ignored: a policy with a collision mode of its own (``hierarchical``
runs pibt, ``--collisions``) or a scenario's ``policies.shield`` decides instead."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from warehouse.cli.main import main

SHIELDED = """\
layout: {type: generator, shelf_rows: 2, shelf_cols: 2}
fleet: {robots: 6}
episode: {steps: 5, seeds: [0]}
policies: {shield: block}
"""


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(["run", *args])
    return int(exc.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        # the scenario's shield decides for rule_based
        ([], r"the scenario's policies\.shield \(block\) sets the collision mode instead"),
        # every policy has its own mode (a policy as report.json names it)
        (["--policy", "rule_based/pibt"], r"rule_based/pibt runs under pibt\); use --collisions"),
    ],
)
def test_an_ignored_physics_collisions_is_refused(
    extra: list[str], why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SHIELDED)
    out = tmp_path / "out"
    code, err = _run(
        [str(path), "--set", "physics.collisions=physical", "--out", str(out),
         *(extra or ["--policy", "rule_based"])],
        capsys,
    )  # fmt: skip
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert "--set physics.collisions: its value would be ignored:" in line
    assert re.search(why, line), line
    assert not out.exists()


def test_the_hierarchy_alone_ignores_physics_collisions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hierarchical`` runs under pibt whatever physics.collisions says."""
    code, err = _run(
        ["tiny", "--policy", "hierarchical", "--steps", "5", "--seeds", "0",
         "--set", "collisions=block", "--out", str(tmp_path / "out")],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "--set collisions: its value would be ignored: every policy has a collision mode" in err
    assert "hierarchical runs under pibt" in err


def test_a_physics_collisions_some_policy_reads_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default pair: rule_based reads it (hierarchical keeps pibt), so the run goes ahead."""
    out = tmp_path / "out"
    code, _ = _run(["tiny", "--steps", "5", "--seeds", "0", "--set", "physics.collisions=pibt",
                    "--out", str(out)], capsys)  # fmt: skip
    assert code == 0
    runs = json.loads((out / "report.json").read_text())["runs"]
    assert {r["policy"]: r["collisions"] for r in runs} == {
        "hierarchical": "pibt",
        "rule_based": "pibt",
    }


def test_sweep_refuses_a_single_ignored_physics_collisions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As ``run``: one value of ``physics.collisions`` under a ``policies.shield`` (a swept one
    was refused already) is refused before anything runs; without the shield it runs."""
    path = tmp_path / "s.yaml"
    path.write_text(SHIELDED)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["sweep", str(path), "--set", "physics.collisions=physical",
              "--set", "fleet.robots=4,6", "--out", str(out)])  # fmt: skip
    assert exc.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--set physics.collisions: its value would be ignored: policies.shield (block)" in line
    assert not out.exists()
    path.write_text(SHIELDED.replace("policies: {shield: block}\n", ""))
    with pytest.raises(SystemExit) as exc:
        main(["sweep", str(path), "--set", "physics.collisions=physical",
              "--set", "fleet.robots=4,6", "--out", str(out)])  # fmt: skip
    assert exc.value.code == 0
    assert set(pd.read_csv(out / "sweep.csv")["collision_mode"]) == {"physical"}
