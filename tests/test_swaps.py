"""Task swaps (``policies.task_swaps``): robots driving to their picks trade orders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from hierarchy.dispatchers import GreedyDispatcher
from hierarchy.swaps import TaskSwaps, best_exchange, swap_candidates
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid


def crossed_sim(robots: int = 2) -> tuple[Simulation, np.ndarray, np.ndarray]:
    """A 3 × 9 hall with a shelf at each end of the middle row and a station on top. Robot 0
    stands next to the west shelf, robot 1 next to the east one; orders 0 (east) and 1 (west)
    are open."""
    grid = np.full((3, 9), NodeKind.AISLE, np.int8)
    grid[1, 0] = grid[1, 8] = NodeKind.PICK
    grid[0, 4] = NodeKind.STATION
    cfg = SimConfig(fleet=FleetConfig(robots=robots), tasks=TasksConfig(arrival_rate=0.0))
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    f = sim.floor
    sim.state.pos[:2] = [f.cell_of[1, 1], f.cell_of[1, 7]]
    if robots > 2:
        sim.state.pos[2:] = f.cell_of[2, 2 : 2 + robots - 2]
    sim.state_changed()
    east, west = f.cell_of[1, 8], f.cell_of[1, 0]
    station = np.array([f.cell_of[0, 4]] * 2)
    sim.orders.add(np.array([east, west]), station, step=0)
    return sim, np.array([east, west]), station


def test_crossed_robots_trade_orders_and_nothing_else_changes() -> None:
    sim, picks, _ = crossed_sim()
    sim.assign(np.array([0, 1]), np.array([0, 1]))  # each to the far shelf: 7 + 7 steps
    s, ob = sim.state, sim.orders
    s.since_progress[:] = 5
    assigned = ob.assigned[:2].copy()
    robots, orders = best_exchange(sim)
    assert sim.state.order.tolist() == [0, 1]  # best_exchange is pure
    assert dict(zip(robots.tolist(), orders.tolist(), strict=True)) == {0: 1, 1: 0}
    sim.exchange_orders(robots, orders)
    assert s.order[:2].tolist() == [1, 0]
    assert s.task_goal[:2].tolist() == [picks[1], picks[0]]  # each drives to the near shelf
    assert (s.phase[:2] == Phase.TO_PICK).all()
    assert ob.robot[:2].tolist() == [1, 0]
    assert ob.assigned[:2].tolist() == assigned.tolist()  # assignment time is kept
    assert sim.open_orders().size == 0
    assert s.since_progress[:2].tolist() == [0, 0]  # a new target: progress measured afresh
    assert s.best_dist[:2].tolist() == [1, 1]
    assert sim.target_distance()[:2].tolist() == [1, 1]
    assert best_exchange(sim)[0].size == 0  # already the shortest arrangement


def test_no_trade_when_it_is_not_shorter() -> None:
    sim, _, _ = crossed_sim()
    sim.assign(np.array([0, 1]), np.array([1, 0]))  # each to the near shelf already
    assert best_exchange(sim)[0].size == 0
    # a robot with a sub-goal keeps its order, so a lone candidate has no one to trade with
    sim2, _, _ = crossed_sim()
    sim2.assign(np.array([0, 1]), np.array([0, 1]))
    sim2.set_waypoints(np.array([1]), np.array([sim2.floor.cell_of[2, 4]]))
    robots, orders = swap_candidates(sim2)
    assert robots.tolist() == [0] and orders.tolist() == [0]
    assert best_exchange(sim2)[0].size == 0


def test_an_idle_robot_takes_an_order_over_from_a_farther_one() -> None:
    """Robot 2 idles next to the west shelf while robot 0 drives there from the east end: robot
    2 takes the order over and robot 0 becomes idle, free for new work."""
    sim, picks, _ = crossed_sim(robots=3)
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[1, 7], f.cell_of[0, 7], f.cell_of[1, 1]]
    sim.state_changed()
    sim.assign(np.array([0]), np.array([1]))  # the west order to the robot at the east end
    robots, orders = best_exchange(sim)
    assert dict(zip(robots.tolist(), orders.tolist(), strict=True)) == {2: 1}
    sim.exchange_orders(robots, orders)
    assert s.phase.tolist() == [Phase.IDLE, Phase.IDLE, Phase.TO_PICK]
    assert s.order.tolist() == [-1, -1, 1] and s.task_goal.tolist() == [-1, -1, picks[1]]
    assert sim.orders.robot[1] == 2 and sim.idle_robots().tolist() == [0, 1]
    assert sim.open_orders().tolist() == [0]  # the other order is still open, untouched
    assert best_exchange(sim)[0].size == 0


def test_a_broken_down_robot_hands_its_order_to_an_idle_one() -> None:
    """Repair time counts as steps: an idle robot farther from the shelf than a broken-down
    holder takes the order over when the repair would take longer than its drive."""
    sim, _, _ = crossed_sim(robots=3)
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[1, 1], f.cell_of[0, 8], f.cell_of[1, 4]]
    sim.state_changed()
    sim.assign(np.array([0]), np.array([1]))  # robot 0: 1 step from the west shelf
    assert best_exchange(sim)[0].size == 0  # robot 2 is 4 steps away
    s.broken[0] = 10
    robots, orders = best_exchange(sim)
    assert dict(zip(robots.tolist(), orders.tolist(), strict=True)) == {2: 1}


def test_exchange_orders_refuses_what_is_not_a_rearrangement() -> None:
    sim, _, station = crossed_sim(robots=3)
    f = sim.floor
    sim.orders.add(np.array([f.cell_of[1, 8]]), station[:1], step=0)  # order 2 stays open
    sim.assign(np.array([0, 1]), np.array([0, 1]))
    before = sim.state.order.copy()
    with pytest.raises(ValueError, match="held by robots"):
        sim.exchange_orders(np.array([0, 1]), np.array([0, 2]))  # order 2 is open
    with pytest.raises(ValueError, match="one to one"):
        sim.exchange_orders(np.array([0, 1]), np.array([1, 1]))
    with pytest.raises(ValueError, match="one to one"):
        sim.exchange_orders(np.array([0, 0]), np.array([1, 0]))
    with pytest.raises(ValueError, match="out of range"):
        sim.exchange_orders(np.array([0, 5]), np.array([1, 0]))
    with pytest.raises(ValueError, match="out of range"):
        sim.exchange_orders(np.array([0, 1]), np.array([1, 9]))
    with pytest.raises(ValueError, match="hand its order on"):
        sim.exchange_orders(np.array([0]), np.array([1]))  # robot 0 would drop order 0
    sim.state.broken[2] = 5
    with pytest.raises(ValueError, match="idle or driving"):
        sim.exchange_orders(np.array([2]), np.array([0]))  # robot 2 is broken down
    sim.state.broken[2] = 0
    sim.state.phase[2] = Phase.DROPPING
    with pytest.raises(ValueError, match="idle or driving"):
        sim.exchange_orders(np.array([2]), np.array([0]))
    sim.state.phase[2] = Phase.IDLE
    assert (sim.state.order == before).all()  # nothing half-applied
    assert sim.open_orders().tolist() == [2]


class _Crossed:
    """An inner dispatcher that sends each robot to the far shelf."""

    name = "crossed"

    def reset(self, seed: int | None) -> None:
        pass

    def dispatch(self, sim: Simulation) -> None:
        if sim.idle_robots().size == 2 and sim.open_orders().size == 2:
            sim.assign(np.array([0, 1]), np.array([0, 1]))


def test_the_wrapper_swaps_right_after_the_inner_dispatcher_decides() -> None:
    sim, _, _ = crossed_sim()
    d = TaskSwaps(_Crossed())
    assert d.name == "crossed"
    d.reset(0)
    d.dispatch(sim)
    assert sim.state.order[:2].tolist() == [1, 0] and d.swaps == 2
    d.dispatch(sim)  # nothing new: no further trade
    assert d.swaps == 2
    d.reset(1)
    assert d.swaps == 0


def _run(swaps: bool, seed: int, steps: int = 250) -> tuple[Simulation, TaskSwaps | None, list]:
    """``small`` at peak load with the greedy dispatcher, recording after every step the orders
    held by robots driving to a pick."""
    from agents import make_navigator
    from warehouse.fleet import Fleet

    sc, src = load_scenario("small")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 1.0}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    disp: TaskSwaps | GreedyDispatcher = GreedyDispatcher()
    if swaps:
        disp = TaskSwaps(disp)
    fleet = Fleet(sim, disp, make_navigator("rule_based"))
    fleet.reset(seed)
    held = []
    for _ in range(steps):
        fleet.step()
        to_pick = sim.state.phase == Phase.TO_PICK
        held.append((sim.t, set(sim.state.order[to_pick].tolist())))
    return sim, disp if swaps else None, held


def test_swaps_shorten_the_empty_drive_and_are_reproducible() -> None:
    """On a loaded floor the greedy dispatcher leaves crossed assignments that swaps undo:
    fewer robot-steps driving empty per delivery, every held order still delivered or held,
    and the same seed gives the same run."""
    plain, _, _ = _run(False, 0)
    swapped, disp, held = _run(True, 0)
    assert disp is not None and disp.swaps > 0

    def empty_per_delivery(sim: Simulation) -> float:
        return sim.state.phase_steps[Phase.TO_PICK] / max(1, sim.state.deliveries.sum())

    assert empty_per_delivery(swapped) < 0.9 * empty_per_delivery(plain)
    ob = swapped.orders
    # every order ever held by a robot driving to its pick was delivered or is still in work
    in_work = set(swapped.state.order[swapped.state.order >= 0].tolist())
    for _, orders in held:
        for o in orders:
            assert ob.delivered[o] >= 0 or o in in_work
    # the robot an order names is the one holding it
    for r in np.flatnonzero(swapped.state.order >= 0):
        assert ob.robot[swapped.state.order[r]] == r
    again, _, _ = _run(True, 0)
    assert np.array_equal(again.state.pos, swapped.state.pos)
    assert np.array_equal(again.orders.delivered, swapped.orders.delivered)


def test_warehouse_run_turns_swaps_on_from_the_scenario(tmp_path: Path, capsys) -> None:
    base = ["run", "small", "--policy", "rule_based", "--seeds", "0", "--steps", "250",
            "--set", "tasks.arrival_rate=1.0"]  # fmt: skip
    out = {}
    for name, extra in (("off", []), ("on", ["--set", "policies.task_swaps=true"])):
        code, _, err = run_cli([*base, *extra, "--out", str(tmp_path / name)], capsys)
        assert code == 0, err
        out[name] = json.loads((tmp_path / name / "report.json").read_text())
    kpi = {k: v["runs"][0]["kpis"]["empty_travel_share"]["mean"] for k, v in out.items()}
    assert kpi["on"] < kpi["off"]
    code, _, err = run_cli([*base, "--set", "policies.task_swaps=maybe",
                            "--out", str(tmp_path / "bad")], capsys)  # fmt: skip
    assert code == 2 and "policies.task_swaps" in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()


def test_the_env_and_a_recording_see_the_swaps(tmp_path: Path) -> None:
    """The PettingZoo env builds its dispatcher with swaps from the scenario, and a recorded
    run with swaps gives back the live KPIs exactly (one core drives both)."""
    import warehouse
    from agents import make_navigator
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis
    from warehouse.recording import EpisodeRecorder, kpis_from_recording, load_recording

    env = warehouse.make_env("tiny", **{"policies.task_swaps": True})
    assert isinstance(env.dispatcher, TaskSwaps)
    sc, src = load_scenario("small")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 1.0}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    disp = TaskSwaps(GreedyDispatcher())
    fleet = Fleet(sim, disp, make_navigator("rule_based"))
    fleet.reset(3)
    rec = EpisodeRecorder(sim, meta={"scenario": "small", "seed": 3})
    live = [compute_kpis(sim)]
    for _ in range(150):
        rec.capture(sim, fleet.step())
        live.append(compute_kpis(sim))
    rec.save(tmp_path / "run.npz")
    assert disp.swaps > 0
    log = load_recording(tmp_path / "run.npz")
    for k in (1, 60, 150):
        assert kpis_from_recording(log, k) == live[k]
        held = log.arrays["order"][k]
        robots = np.flatnonzero(held >= 0)
        assert (log.frame_orders(k).robot[held[robots]] == robots).all()  # the holder then


def test_the_training_env_trades_orders_after_each_decision() -> None:
    """``DispatchEnv(task_swaps=True)`` (``warehouse train-dispatcher --task-swaps``): the
    caller's crossed assignment is traded before the robots move, as in a deployed fleet."""
    from agents import make_navigator
    from hierarchy.smdp import DispatchEnv

    sim, _, _ = crossed_sim()
    env = DispatchEnv(sim, make_navigator("rule_based"), horizon=50, task_swaps=True)
    env.sim.assign(np.array([0, 1]), np.array([0, 1]))
    env.fleet.step()
    assert sim.state.order[:2].tolist() == [1, 0]
    plain, _, _ = crossed_sim()
    env = DispatchEnv(plain, make_navigator("rule_based"), horizon=50)
    env.sim.assign(np.array([0, 1]), np.array([0, 1]))
    env.fleet.step()
    assert plain.state.order[:2].tolist() == [0, 1]


class _FarFirst:
    """Gives the west order to robot 0 (at the east end) on the first call, then nothing."""

    name = "far_first"

    def reset(self, seed: int | None) -> None:
        self.done = False

    def dispatch(self, sim: Simulation) -> None:
        if not self.done:
            sim.assign(np.array([0]), np.array([1]))
            self.done = True


def test_a_recording_replays_an_order_taken_over(tmp_path: Path) -> None:
    """The robot whose order was taken over is idle from that step on, in the live counters and
    in the ones rebuilt from the log."""
    from agents import make_navigator
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis
    from warehouse.recording import EpisodeRecorder, kpis_from_recording, load_recording

    sim, picks, station = crossed_sim(robots=3)
    f = sim.floor
    fleet = Fleet(sim, TaskSwaps(_FarFirst()), make_navigator("rule_based"))
    fleet.reset(0)  # reset empties the floor: set the scene again
    sim.state.pos[:] = [f.cell_of[1, 7], f.cell_of[0, 7], f.cell_of[1, 1]]
    sim.orders.add(picks, station, step=0)
    sim.state.broken[2] = 3  # robot 2 is under repair while robot 0 starts its drive
    sim.state_changed()
    rec = EpisodeRecorder(sim, meta={})
    live = [compute_kpis(sim)]
    phases = [sim.state.phase.copy()]
    for _ in range(12):
        rec.capture(sim, fleet.step())
        live.append(compute_kpis(sim))
        phases.append(sim.state.phase.copy())
    assert fleet.dispatcher.swaps == 1 and sim.orders.robot[1] == 2
    robot0 = [int(p[0]) for p in phases]
    k = robot0.index(Phase.IDLE, 1)  # robot 0 drove, then its order was taken over
    assert k > 1 and set(robot0[1:k]) == {Phase.TO_PICK}
    rec.save(tmp_path / "run.npz")
    log = load_recording(tmp_path / "run.npz")
    for k in range(13):
        assert kpis_from_recording(log, k) == live[k]
