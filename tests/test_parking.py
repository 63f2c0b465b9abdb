"""Parking (``policies.park_idle``): idle robots wait at spots spread over the floor."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from agents import make_navigator
from hierarchy.dispatchers import GreedyDispatcher
from hierarchy.parking import IdleParking, dead_end_nodes, parking_moves, parking_spots
from scenarios import build_floor, load_scenario
from warehouse.config import FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid


def hall(robots: int = 2) -> Simulation:
    """A 3 × 9 hall, no arrivals: pick cells at (0, 2), (0, 6), (2, 2) and (2, 6), a station
    at (1, 0). Robot 0 stands at (1, 1) next to the station, robot 1 at (1, 8), any more along
    the middle row from (1, 3)."""
    grid = np.full((3, 9), NodeKind.AISLE, np.int8)
    for r, c in ((0, 2), (0, 6), (2, 2), (2, 6)):
        grid[r, c] = NodeKind.PICK
    grid[1, 0] = NodeKind.STATION
    cfg = SimConfig(fleet=FleetConfig(robots=robots), tasks=TasksConfig(arrival_rate=0.0))
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    f = sim.floor
    cells = [f.cell_of[1, 1], f.cell_of[1, 8], *f.cell_of[1, 3 : 3 + robots - 2]]
    sim.state.pos[:] = cells[:robots]
    sim.state_changed()
    return sim


def test_idle_robots_wait_then_take_the_nearest_free_spots() -> None:
    sim = hall()
    f, s = sim.floor, sim.state
    spots = np.array([f.cell_of[0, 2], f.cell_of[2, 6]], np.int32)
    s.since_goal[:] = 4
    assert parking_moves(sim, 5, spots)[0].size == 0  # not idle long enough yet
    s.since_goal[:] = 5
    robots, to = parking_moves(sim, 5, spots)
    assert dict(zip(robots.tolist(), to.tolist(), strict=True)) == {
        0: f.cell_of[0, 2],  # 2 steps (the other spot: 6)
        1: f.cell_of[2, 6],  # 3 steps (the other spot: 7)
    }
    assert (s.waypoint < 0).all()  # parking_moves is pure


def test_taken_spots_busy_and_routed_robots_are_left_alone() -> None:
    sim = hall(robots=3)
    f, s = sim.floor, sim.state
    spots = np.array([f.cell_of[0, 2], f.cell_of[2, 6]], np.int32)
    s.since_goal[:] = 50
    s.pos[2] = f.cell_of[0, 2]  # robot 2 is parked on the first spot
    sim.state_changed()
    robots, to = parking_moves(sim, 0, spots)
    # one free spot left: it goes to the robot nearer to it (robot 1: 3 steps; robot 0: 6)
    assert robots.tolist() == [1] and to.tolist() == [f.cell_of[2, 6]]
    s.broken[1] = 10
    assert parking_moves(sim, 0, spots)[0].tolist() == [0]  # a broken-down robot stays put
    s.broken[1] = 0
    s.waypoint[1] = f.cell_of[2, 6]  # already driving there: the spot is not free either
    assert parking_moves(sim, 0, spots)[0].size == 0
    s.waypoint[1] = -1
    s.phase[1] = Phase.TO_PICK  # a robot with a task is not idle
    assert parking_moves(sim, 0, spots)[0].tolist() == [0]
    with pytest.raises(ValueError, match=r"after_s must be a finite number ≥ 0, got -1\.0"):
        IdleParking(GreedyDispatcher(), -1.0)


def test_a_parked_robot_is_called_back_by_an_order() -> None:
    """Through the wrapper and the rule-based navigator: the idle robot drives to a spot and
    stays idle there; an order drops the sub-goal (``Simulation.assign``) and the robot heads
    for the pick."""
    sim = hall(robots=1)
    f, s = sim.floor, sim.state
    fleet = Fleet(sim, IdleParking(GreedyDispatcher(), after_s=2.0), make_navigator("rule_based"))
    spots = parking_spots(f, 1)
    assert set(spots.tolist()) <= set(np.flatnonzero(f.kind == NodeKind.PICK).tolist())
    for _ in range(2):  # since_goal counts from reset: 2 steps idle, then parking
        fleet.step()
        assert s.waypoint[0] < 0
    fleet.step()
    assert s.waypoint[0] in spots
    for _ in range(10):
        fleet.step()
    assert s.pos[0] in spots and s.waypoint[0] < 0 and s.phase[0] == Phase.IDLE
    parked = s.pos[0]
    far = f.cell_of[2, 6] if parked != f.cell_of[2, 6] else f.cell_of[0, 2]
    sim.state.waypoint[0] = far  # as if on its way to another spot when the order arrives
    sim.orders.add(np.array([far]), np.array([f.cell_of[1, 0]]), step=sim.t)
    sim.assign(np.array([0]), np.array([0]))
    assert s.waypoint[0] == -1 and s.task_goal[0] == far and s.phase[0] == Phase.TO_PICK
    assert sim.state.target[0] == far


def test_parking_spots_spread_over_the_pick_cells() -> None:
    sc, src = load_scenario("small")
    floor = build_floor(sc, src)
    n = sc.fleet.robots
    spots = parking_spots(floor, n)
    picks = np.flatnonzero(floor.kind == NodeKind.PICK)
    stations = np.flatnonzero(floor.kind == NodeKind.STATION)
    assert np.unique(spots).size == spots.size and np.isin(spots, picks).all()
    assert n <= spots.size <= 2 * n + 2 * np.ceil(np.sqrt(2 * n)) + 1
    sim = Simulation(floor, sc.sim_config())
    to_spot = sim.dist.lookup(spots[:, None], picks[None, :]).min(axis=0)
    to_station = sim.dist.lookup(stations[:, None], picks[None, :]).min(axis=0)
    # a robot on a spot is 2-3 steps from a typical pick; one at a station about 15
    assert to_spot.mean() < 0.25 * to_station.mean()
    assert parking_spots(floor, n) is spots  # cached per floor and fleet size


def test_computed_spots_stay_out_of_dead_ends() -> None:
    """A stub off the hall (rows 3-5 of column 3) holds pick cells; a robot parked in it or at
    its mouth (2, 3) could shut in the cells behind it, so no computed spot lies there."""
    from warehouse.floor.formats import parse_ascii

    drawing = "S..p.p..\n.#.#.#..\nS..p.p..\n###p####\n###p####\n###p####\n"
    floor = compile_floor(parse_ascii(drawing))
    stub = [floor.cell_of[r, 3] for r in (2, 3, 4, 5)]
    dead = dead_end_nodes(floor)
    # rows 2-4 are cut nodes and row 5 the end; the hall around the shelves has loops
    assert dead[stub].all() and dead.sum() == 4
    spots = parking_spots(floor, 30)  # a grid fine enough to reach every pick cell
    picks = np.flatnonzero(floor.kind == NodeKind.PICK)
    assert set(spots.tolist()) == set(picks.tolist()) - set(stub)


def _run(park: float | None, seed: int = 0, steps: int = 600) -> Simulation:
    sc, src = load_scenario("small")
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    disp = GreedyDispatcher() if park is None else IdleParking(GreedyDispatcher(), park)
    fleet = Fleet(sim, disp, make_navigator("rule_based"))
    fleet.reset(seed)
    fleet.run(steps)
    return sim


def test_parked_robots_reach_orders_sooner_and_runs_repeat() -> None:
    """On ``small`` (arrival-capped: a third of the fleet idle) parking cuts the steps driven
    empty per delivery and the orders' cycle time; the same seed gives the same run."""
    from warehouse.kpis import compute_kpis

    plain, parked = _run(None), _run(5.0)

    def empty_per_delivery(sim: Simulation) -> float:
        return sim.state.phase_steps[Phase.TO_PICK] / max(1, sim.state.deliveries.sum())

    assert empty_per_delivery(parked) < 0.8 * empty_per_delivery(plain)
    kp, kq = compute_kpis(plain), compute_kpis(parked)
    assert kq["cycle_time_p50"] < kp["cycle_time_p50"]
    again = _run(5.0)
    assert np.array_equal(again.state.pos, parked.state.pos)
    assert compute_kpis(again) == kq


def test_warehouse_run_and_the_env_take_the_setting(tmp_path: Path, capsys) -> None:
    import warehouse

    env = warehouse.make_env("tiny", **{"policies.park_idle": 5})
    assert isinstance(env.dispatcher, IdleParking) and env.dispatcher.after_s == 5.0
    base = ["run", "small", "--policy", "rule_based", "--seeds", "0", "--steps", "200"]
    code, _, err = run_cli([*base, "--set", "policies.park_idle=5", "--out", str(tmp_path / "on")],
                           capsys)  # fmt: skip
    assert code == 0, err
    written = (tmp_path / "on" / "scenario.yaml").read_text()
    assert "park_idle: 5" in written  # re-running the written file parks again
    report = json.loads((tmp_path / "on" / "report.json").read_text())
    assert report["runs"][0]["kpis"]["deliveries"]["mean"] > 0
    code, _, err = run_cli([*base, "--set", "policies.park_idle=-3",
                            "--out", str(tmp_path / "bad")], capsys)  # fmt: skip
    assert code == 2 and "policies.park_idle" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_shadow_may_park_one_side_only() -> None:
    """``policies.park_idle`` is a per-side setting (``warehouse shadow --incumbent-set``; the
    command refuses it for the candidate, whose waypoints never reach the floor)."""
    from warehouse.errors import InputError
    from warehouse.policies import PolicySpec, check_side_settings

    spec = PolicySpec("rule_based", "greedy", "rule_based")
    check_side_settings(spec, ["policies.park_idle"], "--incumbent-set")
    with pytest.raises(InputError, match="can differ"):
        check_side_settings(spec, ["tasks.arrival_rate"], "--candidate-set")


def test_the_env_with_parking_passes_the_api_checks_and_stays_in_its_spaces() -> None:
    """Idle robots with a parking sub-goal are a new state for the env's observations; the
    PettingZoo checker passes, and 2,000 random masked steps stay in the observation space."""
    from pettingzoo.test import parallel_api_test

    import warehouse

    parallel_api_test(warehouse.make_env("tiny", **{"policies.park_idle": 0}), num_cycles=300)
    env = warehouse.make_env("tiny", **{"policies.park_idle": 0})
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    space = env.observation_space("robot_0")
    parked = 0
    for _ in range(2000):
        assert all(space.contains(o) for o in obs.values())
        masks = np.stack([o["action_mask"] for o in obs.values()])
        picks = np.where(masks == 1, rng.random(masks.shape), -1.0).argmax(axis=1)
        obs, _, term, trunc, _ = env.step(dict(zip(env.agents, picks.tolist(), strict=True)))
        s = env.sim.state
        parked += int(((s.phase == Phase.IDLE) & (s.waypoint >= 0)).sum())
        if any(term.values()) or any(trunc.values()):
            obs, _ = env.reset()
    assert parked > 0  # robots did drive to spots


def test_parking_cells_drawn_on_the_map_are_the_spots(tmp_path: Path) -> None:
    """``P`` in an ASCII drawing marks parking cells: they are the spots (no computed ones),
    robots drive on them like aisles, and idle robots end up there."""
    from scenarios import apply_overrides
    from visualize.palette import floor_colors
    from warehouse.floor.formats import load_map, parse_ascii, save_graph
    from warehouse.policies import scenario_dispatcher

    drawing = "S...pp....\n.##..PPP..\nS...pp....\n"
    floor = compile_floor(parse_ascii(drawing))
    parking = np.flatnonzero(floor.kind == NodeKind.PARKING)
    assert [tuple(floor.pos[v].tolist()) for v in parking] == [(1, 5), (1, 6), (1, 7)]
    assert parking_spots(floor, 30).tolist() == parking.tolist()
    assert floor_colors(floor.kind).shape == (floor.n_nodes, 3)  # every kind has a colour
    for ext in (".json", ".graphml"):  # the kind survives the graph file formats
        back = compile_floor(load_map(save_graph(parse_ascii(drawing), tmp_path / f"f{ext}")))
        assert np.array_equal(back.kind, floor.kind)
    sc, src = load_scenario("tiny")
    layout = {"type": "ascii", "map": drawing}
    sc = apply_overrides(sc, {"layout": layout, "fleet.robots": 3, "tasks.arrival_rate": 0.0,
                              "policies.park_idle": 0}, src)  # fmt: skip
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(sim, scenario_dispatcher("greedy", sc, src), make_navigator("rule_based"))
    fleet.reset(0)
    fleet.run(40)
    spots = np.flatnonzero(sim.floor.kind == NodeKind.PARKING)
    assert sorted(sim.state.pos.tolist()) == spots.tolist()


def test_a_robot_whose_spot_was_taken_looks_for_another() -> None:
    """An idle robot pushed aside may stop on the spot another robot is driving to; that robot
    is matched to another free spot, or drops its sub-goal when none is left."""
    sim = hall(robots=3)
    f, s = sim.floor, sim.state
    spots = np.array([f.cell_of[0, 2], f.cell_of[2, 6], f.cell_of[0, 6]], np.int32)
    s.since_goal[:] = 50
    s.pos[2] = f.cell_of[2, 6]  # robot 2 stands (idle, no sub-goal) on robot 1's spot
    s.waypoint[1] = f.cell_of[2, 6]
    s.waypoint[0] = f.cell_of[0, 2]  # robot 0 drives to a free spot: left alone
    sim.state_changed()
    robots, to = parking_moves(sim, 0, spots)
    assert dict(zip(robots.tolist(), to.tolist(), strict=True)) == {1: f.cell_of[0, 6]}
    s.pos[0] = f.cell_of[0, 6]  # robot 0 parks on it first: with only the two spots taken,
    s.waypoint[0] = -1
    sim.state_changed()
    robots, to = parking_moves(sim, 0, spots[1:])
    # robot 1 drops its sub-goal; robot 0, on a spot already, stays
    assert dict(zip(robots.tolist(), to.tolist(), strict=True)) == {1: -1}


def test_parking_cells_may_close_and_a_closed_spot_is_not_free() -> None:
    """Aisle closures (``faults.closure_prob``) also close parking cells, and no idle robot is
    sent to a closed spot."""
    from warehouse.floor.formats import parse_ascii

    floor = compile_floor(parse_ascii("S...pp....\n.##..PPP..\nS...pp....\n"))
    cfg = SimConfig(fleet=FleetConfig(robots=2), tasks=TasksConfig(arrival_rate=0.0))
    cfg = cfg.model_copy(update={"faults": cfg.faults.model_copy(update={"closure_prob": 1.0})})
    sim = Simulation(floor, cfg)
    sim.reset(seed=0)
    parking = np.flatnonzero(floor.kind == NodeKind.PARKING)
    closed_parking = 0
    for _ in range(100):
        sim.step(np.zeros(2, np.int64))
        closed_parking += int(np.isin(sim.closed_nodes(), parking).sum())
    assert closed_parking > 0
    sim = hall()
    f, s = sim.floor, sim.state
    spots = np.array([f.cell_of[0, 2], f.cell_of[2, 6]], np.int32)
    s.since_goal[:] = 5
    sim.closed_until[f.cell_of[2, 6]] = sim.t + 10
    robots, to = parking_moves(sim, 5, spots)  # one open spot: the robot nearer to it
    assert robots.tolist() == [0] and to.tolist() == [f.cell_of[0, 2]]
