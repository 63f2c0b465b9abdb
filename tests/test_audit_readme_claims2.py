"""README prose claims on closures, batteries, travel time, ``warehouse shadow`` and
``warehouse compare`` that no other test checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli
from sim_helpers import place

from warehouse.config import BatteryConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.core.state import Charge
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.floor.formats.graphio import parse_node_link_json
from warehouse.floor.transit import split_long_edges
from warehouse.kpis import energy_kwh

ROOT = Path(__file__).resolve().parents[1]
README = " ".join((ROOT / "README.md").read_text("utf-8").split())
WAIT = 0


def charger_at_the_end_of_a_long_edge(**battery: object) -> Simulation:
    """A station s, an aisle node a1 with a pick p under it, and a charger c 4 m east of a1 on
    an edge that takes 4 steps at 1 m/s (transit nodes a1~c#1..3); one robot on the charger."""
    nodes = [
        {"id": "s", "pos": [0, 0], "kind": "station"},
        {"id": "a1", "pos": [0, 1], "kind": "aisle"},
        {"id": "c", "pos": [0, 5], "kind": "aisle", "charger": True},
        {"id": "p", "pos": [1, 1], "kind": "pick"},
    ]
    edges = [
        {"source": "s", "target": "a1"},
        {"source": "a1", "target": "c", "length": 4.0},
        {"source": "a1", "target": "p"},
    ]
    doc = {"directed": False, "graph": {"name": "h"}, "nodes": nodes, "edges": edges}
    floor = compile_floor(split_long_edges(parse_node_link_json(json.dumps(doc)), 1.0, 1.0))
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(speed_m_s=1.0),
        battery=BatteryConfig(**{"capacity_wh": 10.0, "charge_w": 5000.0, **battery}),
    )
    sim = Simulation(floor, cfg)
    sim.reset(seed=0)
    sim.state.pos[:] = [floor.index_of("c")]
    sim.state_changed()
    return sim


def test_a_full_robot_never_steps_off_its_charger_onto_a_transit_node() -> None:
    """README, travel time: transit nodes are aisle nodes "no robot starts on, parks on or is
    sent to". A robot charged full on a charger reached only over a long edge was given the
    chain's last transit node as the cell to step off to (warehouse/core/battery.py
    ``Battery._step_off``), to stand idle in the middle of the edge; it is sent to the nearest
    waypoint instead."""
    assert "Transit nodes are plain aisle nodes no robot starts on, parks on or is sent to" in (
        README
    )
    sim = charger_at_the_end_of_a_long_edge(initial_soc=0.5, recharge_below=0.6)
    f, s = sim.floor, sim.state
    assert f.transit.sum() == 3
    for _ in range(20):
        sim.step(np.full(1, WAIT))
        if s.charge[0] == Charge.NONE and s.waypoint[0] >= 0:
            break
    assert s.charge[0] == Charge.NONE and s.soc_wh[0] == 10.0  # full
    assert s.waypoint[0] >= 0 and not f.transit[s.waypoint[0]]
    assert f.nodes[s.waypoint[0]] == "a1"  # the nearest aisle node that is no transit node


def test_the_candidates_parking_is_refused_as_it_is_never_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``warehouse shadow`` compares the orders idle robots are given and the moves; parking
    sets waypoints, on the floor only the incumbent's. ``--candidate-set policies.park_idle``
    changed nothing shadow measures (shadowing a fleet against itself with it agreed 100 %),
    silently; it is a one-line error now, and the incumbent may still park."""
    monkeypatch.chdir(tmp_path)
    base = ["shadow", "tiny", "--candidate", "rule_based", "--incumbent", "rule_based"]
    base += ["--steps", "20", "--out", "sh"]
    fails_cleanly(
        [*base, "--candidate-set", "policies.park_idle=0"],
        tmp_path,
        capsys,
        "--candidate-set policies.park_idle: the candidate's parking is never compared",
    )
    code, _, err = run_cli([*base, "--incumbent-set", "policies.park_idle=0"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "sh" / "shadow.json").read_text())
    assert report["incumbent"]["settings"]["policies.park_idle"] == 0.0
    assert "`task_swaps` or `park_idle`" not in README  # the README no longer offers it


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``warehouse run tiny`` of the rule-based fleet on seeds 0 and 1, 40 steps."""
    from warehouse.cli.main import main

    out = tmp_path_factory.mktemp("claims2") / "run"
    argv = ["run", "tiny", "--policy", "rule_based", "--seeds", "0,1", "--steps", "40"]
    try:
        main([*argv, "--out", str(out)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    return out


def test_compare_pairs_the_same_seeds_given_in_another_order(
    tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README: compare takes "two finished runs over the same seeds and steps, ... paired seed
    by seed". A run over ``--seeds 1,0`` holds the same seeds as one over ``0,1``; it was
    refused (``seeds: [1, 0] differ from ...'s [0, 1]``). Each seed is now paired with itself:
    a run against itself reordered differs by nothing."""
    report = json.loads((tiny_run / "report.json").read_text())
    assert report["seeds"] == [0, 1]
    swapped = json.loads(json.dumps(report))
    swapped["seeds"] = [1, 0]
    for run in swapped["runs"]:
        for summary in run["kpis"].values():
            summary["per_seed"] = summary["per_seed"][::-1]
    other = tmp_path / "report.json"
    other.write_text(json.dumps(swapped))
    scenario = (tiny_run / "scenario.yaml").read_text()
    assert "seeds: [0, 1]" in scenario
    (tmp_path / "scenario.yaml").write_text(scenario.replace("seeds: [0, 1]", "seeds: [1, 0]"))
    code, out, err = run_cli(["compare", str(tiny_run), str(other), "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["seeds"] == [0, 1]
    assert result["differ"] == {}  # (not "episode.seeds [0, 1] → [1, 0]": the same seeds)
    rows = result["pairs"]["rule_based"]
    assert rows["deliveries"]["diff"] == 0
    assert all(row["diff"] in (0, None) for row in rows.values())
    # seeds that are not the same are still refused
    swapped["seeds"] = [1, 2]
    other.write_text(json.dumps(swapped))
    code, _, err = run_cli(["compare", str(tiny_run), str(other)], capsys)
    assert code == 2 and "seeds: [1, 2] differ from" in err


def test_a_depleted_robot_draws_nothing_and_its_swapped_battery_is_no_charge_given() -> None:
    """README, batteries (Drain): "a depleted robot draws nothing, though ``energy_kwh`` still
    counts its idle load, and a swapped battery is not counted as charge given"."""
    claim = "a depleted robot draws nothing, though `energy_kwh` still counts its idle load"
    assert claim in README and "a swapped battery is not counted as charge given" in README
    a, p, s = NodeKind.AISLE, NodeKind.PICK, NodeKind.STATION
    grid = np.array([[s, a, a, a, a, p], [a, a, a, a, a, a]], np.int8)
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(energy_wh_per_metre=0.5, idle_power_w=1800.0),  # 0.5 Wh a step
        battery=BatteryConfig(
            capacity_wh=1.0, charge_w=5400.0, recharge_below=0.0, chargers=[[1, 0]], rescue_s=3.0
        ),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    place(sim, (1, 2))
    st = sim.state
    sim.step(np.array([2]))  # east: 0.5 Wh moving and 0.5 Wh idle: flat
    assert st.charge[0] == Charge.DEPLETED and st.soc_wh[0] == 0.0
    used = energy_kwh(sim)
    sim.step(np.array([0]))
    sim.step(np.array([0]))
    assert st.soc_wh[0] == 0.0 and st.charge[0] == Charge.DEPLETED  # draws nothing
    assert energy_kwh(sim) == pytest.approx(used + 2 * 0.5 / 1000)  # the idle load still counts
    sim.step(np.array([0]))  # 3 s after: swapped
    assert st.charge[0] == Charge.NONE and st.soc_wh[0] == 1.0
    assert st.charged_wh[0] == 0.0  # no charger gave it
