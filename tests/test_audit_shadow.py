"""Audit of ``warehouse shadow``: strict JSON, navigators without scores, the floor's collision
mode as ``warehouse run`` picks it."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents import make_navigator
from hierarchy import make_dispatcher
from warehouse.cli.main import main


def _strict(path: Path) -> dict:
    """``shadow.json`` as a strict JSON reader sees it (``NaN`` is not JSON)."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{path.name} holds {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _shadow(out: Path, *args: str) -> dict:
    with pytest.raises(SystemExit) as exc:
        main(["shadow", "tiny", "--out", str(out), *args])
    assert exc.value.code in (0, None)
    return _strict(out / "shadow.json")


def test_a_candidate_without_probabilities_writes_strict_json(tmp_path: Path) -> None:
    """A dispatcher with no probabilities diverges: its unknown margin is null in shadow.json
    (it was NaN, which no strict JSON reader takes) and an empty cell in divergences.csv."""
    out = tmp_path / "sh"
    summary = _shadow(out, "--candidate", "hungarian+rule_based", "--steps", "80")
    d = summary["dispatch"]
    assert d["first_divergence_step"] is not None and d["agreement"] < 1.0
    assert d["mean_margin"] is None and d["mean_margin_when_diverging"] is None
    with (out / "divergences.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["margin"] == "" for r in rows if r["kind"] == "dispatch")


class _NoScores:
    """A navigator that returns no preferences (the fleet and the recorder accept ``None``)."""

    name = "no_scores"
    needs_observation = False

    def __init__(self) -> None:
        self.inner = make_navigator("rule_based")

    def reset(self, seed: int | None) -> None:
        self.inner.reset(seed)

    def act(self, sim: Any, obs: Any, mask: np.ndarray) -> tuple[np.ndarray, None]:
        return self.inner.act(sim, obs, mask)[0], None


def test_a_navigator_without_scores_is_shadowed() -> None:
    from hierarchy.shadow import run_shadow
    from scenarios import build_floor, load_scenario
    from warehouse.core import Simulation

    sc, src = load_scenario("tiny")
    log = run_shadow(
        Simulation(build_floor(sc, src), sc.sim_config()),
        (make_dispatcher("greedy"), make_navigator("rule_based")),
        (make_dispatcher("greedy"), _NoScores()),
        steps=40,
        seed=0,
    )
    nav = log.summary()["navigation"]
    assert nav["decisions"] > 0 and nav["agreement"] == 1.0 and nav["mean_margin"] is None


class _Short(_NoScores):
    """A candidate navigator that answers for one robot fewer than the fleet."""

    name = "short"

    def act(self, sim: Any, obs: Any, mask: np.ndarray) -> tuple[np.ndarray, None]:
        return np.zeros(sim.n_robots - 1, dtype=np.int64), None


def test_a_candidates_wrong_answer_is_named_like_an_incumbents() -> None:
    from hierarchy.shadow import run_shadow
    from scenarios import build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.errors import InputError

    sc, src = load_scenario("tiny")
    with pytest.raises(InputError, match=r"navigator 'short': returned actions of shape \(5,\)"):
        run_shadow(
            Simulation(build_floor(sc, src), sc.sim_config()),
            (make_dispatcher("greedy"), make_navigator("rule_based")),
            (make_dispatcher("greedy"), _Short()),
            steps=5,
            seed=0,
        )


def test_the_scenarios_shield_drives_the_floor_as_in_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``policies.shield`` picks the mode of a policy without a shield of its own, in
    ``warehouse run`` and so in shadow mode: the incumbent's floor is the one it runs alone."""
    import hierarchy.shadow as shadow
    from warehouse.kpis import compute_kpis
    from warehouse.model import WarehouseModel

    sims: list[Any] = []
    run_shadow = shadow.run_shadow

    def keep(sim: Any, *args: Any, **kwargs: Any) -> Any:
        sims.append(sim)
        return run_shadow(sim, *args, **kwargs)

    monkeypatch.setattr(shadow, "run_shadow", keep)
    summary = _shadow(
        tmp_path / "sh", "--candidate", "rule_based", "--incumbent", "rule_based", "--steps", "120",
        "--seed", "1", "--set", "policies.shield=pibt",
    )  # fmt: skip
    assert summary["collisions"] == "pibt"
    alone = WarehouseModel(
        "tiny", policy="rule_based", steps=120, seed=1, **{"policies.shield": "pibt"}
    )
    alone.run()
    assert compute_kpis(sims[0]) == compute_kpis(alone.sim)
    assert np.array_equal(sims[0].state.pos, alone.sim.state.pos)


def test_collisions_flag_sets_the_mode_of_both_policies(tmp_path: Path) -> None:
    """--collisions is the mode of both sides, as in ``warehouse run``: the same policy on both
    sides agrees everywhere (the candidate used to propose for its own PIBT shield)."""
    summary = _shadow(
        tmp_path / "sh", "--candidate", "hierarchical", "--incumbent", "hierarchical",
        "--collisions", "block", "--steps", "60",
    )  # fmt: skip
    assert summary["collisions"] == "block"
    assert summary["navigation"]["decisions"] > 0 and summary["navigation"]["agreement"] == 1.0


def test_a_closure_the_shadow_never_reaches_is_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As ``warehouse run`` does: a closures scenario shadowed for fewer steps than its first
    closure compares nothing about the closures, and says so."""
    scenario = Path(__file__).parents[1] / "docs" / "results_closures" / "small_block.yaml"
    with pytest.raises(SystemExit) as exc:
        main(["shadow", str(scenario), "--candidate", "rule_based", "--steps", "3",
              "--robots", "2", "--out", str(tmp_path / "sh")])  # fmt: skip
    assert exc.value.code in (0, None)
    err = capsys.readouterr().err
    assert "warning: faults.closures[0] begins at step 600" in err and "never closes" in err
