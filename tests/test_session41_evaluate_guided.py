"""``hierarchy.evaluate``: the ``guided`` navigator's configs (forty-first session), run on issue
5's target floors in docs/results_guidance/targets/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hierarchy.evaluate as ev
from agents.guided import CONTRAFLOW_WEIGHT, VERTEX_WEIGHT, GuidedNavigator

GUIDED = {
    "greedy + guided (pibt)": "GreedyDispatcher",
    "ppo + guided (pibt)": "PPODispatcher",
    "hungarian + guided (pibt)": "HungarianDispatcher",
}


@pytest.mark.parametrize(("label", "dispatcher"), GUIDED.items())
def test_guided_labels_build_their_dispatcher_the_guided_navigator_and_pibt(
    label: str, dispatcher: str
) -> None:
    """Each label names its dispatcher, the ``guided`` navigator at its default weights and the
    PIBT shield (the navigator leaves its conflicts to it), as a run builds them."""
    disp, nav, mode = ev.CONFIGS[label]
    assert (nav, mode) == ("guided", "pibt")
    sc, _, (built_disp, built_nav), weights = ev._parts("small", disp, nav, mode, None)
    assert type(built_disp).__name__ == dispatcher
    assert isinstance(built_nav, GuidedNavigator)
    assert (built_nav.vertex_weight, built_nav.contraflow_weight) == (
        VERTEX_WEIGHT,
        CONTRAFLOW_WEIGHT,
    )
    assert sc.physics.collisions == "pibt"
    # only the PPO dispatcher loads a network: the shipped one, as under the rule-based navigator
    ppo = ev._parts("small", *ev.CONFIGS["ppo + rule_based (pibt)"], None)[3]
    assert set(ppo) == {"dispatcher"}
    assert weights == (ppo if disp == "ppo" else {})


def test_guided_labels_stay_out_of_the_default_run() -> None:
    """The default command reproduces docs/results_hierarchy/: the guided rows are opt-in."""
    assert not set(GUIDED) & set(ev.DEFAULT_CONFIGS)
    assert "hierarchical (pibt)" in ev.DEFAULT_CONFIGS


def test_guided_rows_record_the_navigator_and_shield_they_ran(tmp_path: Path) -> None:
    """A short run of the three labels writes rows naming ``guided`` and ``pibt`` (the label's
    parts, not the hierarchy's ``NAV``), with no collisions under the shield."""
    out = tmp_path / "run"
    ev.main(["--out", str(out), "--seeds", "1", "--steps", "20", "--scenarios", "small_peak",
             "--configs", ",".join(GUIDED)])  # fmt: skip
    rows = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert sorted(row["config"] for row in rows) == sorted(GUIDED)
    for row in rows:
        assert (row["navigator"], row["collision_mode"]) == ("guided", "pibt")
        assert row["dispatcher"] == ev.CONFIGS[row["config"]][0]
        assert row["collisions"] == 0
