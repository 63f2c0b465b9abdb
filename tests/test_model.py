"""The Mesa model drives the core through a Fleet and only observes it."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from agents import make_navigator
from hierarchy import make_dispatcher
from scenarios import build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.kpis import KPI_NAMES, compute_kpis
from warehouse.model import ROBOT_COUNTERS, RobotAgent, StationAgent, WarehouseModel
from warehouse.policies import PRESETS, resolve_policy


def test_model_equals_a_plain_fleet_run() -> None:
    """The model adds no behaviour: same seed → same KPIs as stepping the Fleet directly."""
    model = WarehouseModel("tiny", seed=3, steps=80)
    via_model = model.run()
    sc, source = load_scenario("tiny")
    sim = Simulation(build_floor(sc, source), sc.sim_config())
    fleet = Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))
    fleet.reset(3)
    fleet.run(80)
    assert compute_kpis(sim) == via_model
    assert np.array_equal(sim.state.pos, model.sim.state.pos)


def test_mesa_rng_does_not_drive_the_simulation() -> None:
    a = WarehouseModel("tiny", seed=5, steps=60)
    b = WarehouseModel("tiny", seed=5, steps=60)
    b.rng.random(1000)  # draw from Mesa's own generators: must not matter
    b.random.random()
    assert a.run() == b.run()
    c = WarehouseModel("tiny", seed=6, steps=60)
    c.run()
    assert not np.array_equal(a.sim.state.pos, c.sim.state.pos) or a.kpis() != c.kpis()


def test_agents_read_the_core_arrays() -> None:
    model = WarehouseModel("tiny", seed=0, steps=30)
    model.run()
    robots = list(model.agents_by_type[RobotAgent])
    stations = list(model.agents_by_type[StationAgent])
    assert len(robots) == model.sim.n_robots
    assert len(stations) == model.sim.floor.stations.size
    s = model.sim.state
    for agent in robots:
        i = agent.index
        assert agent.node == s.pos[i]
        assert agent.cell == tuple(model.sim.floor.pos[s.pos[i]])
        assert agent.deliveries == s.deliveries[i]
        assert agent.distance_m == pytest.approx(s.distance_m[i])
        assert agent.busy_steps == s.busy_steps[i]
    queues = model.sim.station_queues()
    assert [a.queue for a in stations] == queues.tolist()


def test_data_collector_series_cadence_and_values() -> None:
    model = WarehouseModel("tiny", seed=1, steps=95, collect_every=10)
    final = model.run()
    series = model.series()
    assert series["step"].tolist() == [*range(10, 100, 10), 95]
    assert set(KPI_NAMES) <= set(series.columns) and "open_orders" in series.columns
    last = series.iloc[-1]
    for name in ("deliveries", "distance_m", "utilization", "shield_interventions"):
        assert last[name] == pytest.approx(final[name])
    assert (np.diff(series["deliveries"]) >= 0).all()
    robots = model.robot_series()
    assert set(ROBOT_COUNTERS) <= set(robots.columns)
    assert len(robots) == len(series) * model.sim.n_robots
    at_end = robots[robots["step"] == 95].sort_values("robot")
    assert at_end["deliveries"].sum() == final["deliveries"]
    assert at_end["distance_m"].to_numpy() == pytest.approx(model.sim.state.distance_m)


def test_visits_count_robot_steps_per_cell() -> None:
    model = WarehouseModel("tiny", seed=2, steps=40)
    model.run()
    assert model.visits.sum() == 40 * model.sim.n_robots
    grid = model.visits_grid()
    assert np.isnan(grid[model.sim.floor.cell_of < 0]).all()
    assert np.nansum(grid) == model.visits.sum()


def test_overrides_and_policy_flags_reach_the_core() -> None:
    model = WarehouseModel(
        "tiny", seed=0, steps=5, policy="random", collisions="physical", **{"fleet.robots": 3}
    )
    assert model.sim.n_robots == 3
    assert model.sim.config.physics.collisions == "physical"
    assert model.fleet.navigator.name == "random" and model.fleet.dispatcher.name == "random"


def test_policy_presets_and_navigator_fallback() -> None:
    sc, _ = load_scenario("tiny")
    assert resolve_policy("rule_based", sc).dispatcher == PRESETS["rule_based"][0]
    spec = resolve_policy("rule_based", sc, navigator="random", dispatcher="fifo")
    assert (spec.dispatcher, spec.navigator) == ("fifo", "random")
    default = resolve_policy(None, sc)
    assert default.name == "rule_based"  # the scenario's greedy + rule_based is the preset


def test_unknown_policy_parts_name_their_origin(tmp_path) -> None:
    """A bad part in the scenario file is reported against the file's field; a bad flag
    against the flag."""
    from scenarios import apply_overrides
    from warehouse.errors import InputError

    sc, _ = load_scenario("tiny")
    bad = apply_overrides(sc, {"policies.navigator": "nope"})
    src = tmp_path / "s.yaml"
    with pytest.raises(InputError) as err:
        resolve_policy(None, bad, source=src)
    assert (err.value.source, err.value.field) == (str(src), "policies.navigator")
    with pytest.raises(InputError) as err:
        resolve_policy(None, sc, dispatcher="nope", source=src)
    assert (err.value.source, err.value.field) == (None, "--dispatcher")


def test_batch_run_one_row_per_run() -> None:
    rows = mesa.batch_run(
        WarehouseModel,
        parameters={
            "scenario": "tiny",
            "seed": [0, 1],
            "steps": 12,
            "collect_every": 1,
            "per_robot": False,
            "fleet.robots": [2, 4],
        },
        max_steps=12,
        display_progress=False,
    )
    assert len(rows) == 4
    assert sorted((r["fleet.robots"], r["seed"]) for r in rows) == [(2, 0), (2, 1), (4, 0), (4, 1)]
    assert all(r["steps"] == 12 and r["robots"] == r["fleet.robots"] for r in rows)


def test_recorder_captures_every_step() -> None:
    model = WarehouseModel("tiny", seed=0, steps=15, recorder=True)
    model.run()
    assert model.recorder.steps == 15
    assert model.recorder.meta["seed"] == 0


@pytest.mark.parametrize("setting", ["steps", "collect_every"])
def test_zero_steps_or_cadence_is_refused_not_read_as_the_scenarios(setting: str) -> None:
    with pytest.raises(ValueError, match=f"{setting} must be at least 1"):
        WarehouseModel("tiny", **{setting: 0})
