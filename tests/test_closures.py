"""Scheduled closures (``faults.closures``): when cells close and reopen, what robots and orders
do, that they share the random closures' mechanism and draw nothing, and how they are written,
listed and resolved on grid floors and waypoint graphs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from cli_helpers import TINY_LAYOUT, run_cli

import warehouse
from scenarios import build_floor, load_scenario
from warehouse.config import FaultsConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Observer, Phase, Simulation
from warehouse.core.closure_entries import resolve_closures
from warehouse.core.closures import NEVER
from warehouse.errors import InputError
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

WAIT, N, E, S, W = range(5)
# station, six aisle cells (cols 1..6), pick location (col 7)
CORRIDOR = np.array([[NodeKind.STATION] + [NodeKind.AISLE] * 6 + [NodeKind.PICK]], np.int8)


def corridor(*closures: dict, robots: int = 1, step_seconds: float = 1.0, **faults) -> Simulation:
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0, pick_time=1, drop_time=1),
        physics=PhysicsConfig(step_seconds=step_seconds),
        faults=FaultsConfig.model_validate({"closures": list(closures), **faults}),
    )
    sim = Simulation(compile_floor(graph_from_grid(CORRIDOR)), cfg)
    sim.reset(seed=0)
    return sim


def cols(sim: Simulation, nodes: np.ndarray) -> list[int]:
    return sorted(int(c) for c in sim.floor.pos[nodes, 1])


def test_cells_close_and_reopen_at_the_steps_of_their_times() -> None:
    """2 s per step: 4 s..9 s covers the steps that begin at 4, 6 and 8 s (clock 2, 3, 4); an
    area from 5 s on covers clock 3 to the end; closed cells are masked and observed."""
    sim = corridor(
        {"cells": [[0, 3], [0, 4]], "start_s": 4, "end_s": 9},
        {"area": {"from": [0, 6], "to": [0, 5]}, "start_s": 5},
        step_seconds=2.0,
    )
    f = sim.floor
    sim.state.pos[:] = f.cell_of[0, 2]
    seen = []
    for _ in range(8):
        closed = sim.closed_nodes()
        seen.append(cols(sim, closed))
        # the mask and the observation read the same closed cells
        assert sim.action_mask()[0, E] == (f.cell_of[0, 3] not in closed)
        obs = Observer(sim)()
        side = 2 * sim.config.observation.radius + 1
        centre = side // 2
        window = obs[0, : side * side].reshape(side, side)
        assert window[centre, centre + 1] == (1.0 if f.cell_of[0, 3] in closed else 0.0)
        sim.step(np.array([WAIT]))
    assert seen == [[], [], [3, 4], [3, 4, 5, 6], [3, 4, 5, 6], [5, 6], [5, 6], [5, 6]]
    assert sim.closed_until[f.cell_of[0, 5]] == NEVER
    # reset starts the schedule again
    sim.reset(seed=1)
    assert sim.closed_nodes().size == 0


def test_a_closure_from_time_zero_is_closed_at_reset() -> None:
    sim = corridor({"cells": [[0, 1]], "start_s": 0, "end_s": 1})
    assert cols(sim, sim.closed_nodes()) == [1]
    sim.step(np.array([WAIT]))
    assert sim.closed_nodes().size == 0


def test_no_robot_enters_a_closed_cell() -> None:
    """The robot asks to drive east every step; it stops before the closed stretch, its moves
    into it are refused (WAIT), and it goes on once the stretch reopens."""
    sim = corridor({"area": {"from": [0, 3], "to": [0, 5]}, "start_s": 0, "end_s": 6})
    f = sim.floor
    sim.state.pos[:] = f.cell_of[0, 1]
    path, refused = [], []
    for _ in range(9):
        res = sim.step(np.array([E]))
        path.append(int(f.pos[sim.state.pos[0], 1]))
        refused.append(bool(res.refused[0]))
    assert path == [2, 2, 2, 2, 2, 2, 3, 4, 5]
    assert refused == [False, True, True, True, True, True, False, False, False]


def test_a_robot_on_a_closing_cell_may_leave_outward_but_not_go_deeper() -> None:
    """Robot 0 stands on (0, 4), the middle of cols 3..5, as they close; robot 1 on (0, 5) at
    the stretch's end. Neither is moved by the closure itself: each may step onto a closed cell
    nearer the open ones (robot 0: either way) or an open one, never deeper; both are sent to
    the nearest open cells, one each (robot 1 to (0, 6), robot 0 to (0, 2))."""
    sim = corridor({"area": {"from": [0, 3], "to": [0, 5]}, "start_s": 2, "end_s": 5}, robots=2)
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[0, 4], f.cell_of[0, 5]]
    sim.state_changed()
    sim.step(np.array([WAIT, WAIT]))
    sim.step(np.array([WAIT, WAIT]))  # the cells close at the end of this step (clock 2)
    assert cols(sim, sim.closed_nodes()) == [3, 4, 5]
    assert cols(sim, s.pos) == [4, 5]  # nobody was moved off
    assert cols(sim, s.waypoint) == [2, 6] and s.waypoint[1] == f.cell_of[0, 6]
    assert sim.dist.leave[f.cell_of[0, 3:6]].tolist() == [1, 2, 1]
    mask = sim.action_mask()
    assert mask[0].tolist() == [True, False, True, False, True]  # outward both ways
    assert mask[1, E] and not mask[1, W]  # east is open, west is deeper
    sim.step(np.array([W, E]))
    assert [int(f.pos[p, 1]) for p in s.pos] == [3, 6]
    assert not sim.action_mask()[0, E]  # back in: deeper
    sim.step(np.array([E, WAIT]))
    assert int(f.pos[s.pos[0], 1]) == 3  # refused
    sim.step(np.array([W, WAIT]))
    assert [int(f.pos[p, 1]) for p in s.pos] == [2, 6] and (s.waypoint < 0).all()
    assert sim.closed_nodes().size == 0 and sim.t == 5
    sim.step(np.array([E, W]))  # reopened: any way
    assert [int(f.pos[p, 1]) for p in s.pos] == [3, 5]


def test_an_order_whose_pick_closes_goes_back_to_the_pool_and_waits_for_it_to_reopen() -> None:
    """The robot driving to the pick hands the order back as the pick closes (clock 2): the
    order keeps its pick location, is open again and held; given again once the pick reopens,
    it is picked and delivered."""
    sim = corridor({"cells": [[0, 7]], "start_s": 2, "end_s": 12})
    f, s, ob = sim.floor, sim.state, sim.orders
    s.pos[:] = f.cell_of[0, 3]
    pick, station = f.cell_of[0, 7], f.cell_of[0, 0]
    sim.orders.add(np.array([pick]), np.array([station]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    sim.step(np.array([E]))
    sim.step(np.array([E]))
    assert s.phase[0] == Phase.IDLE and s.order[0] == -1 and s.target[0] == -1
    assert ob.assigned[0] == -1 and ob.robot[0] == -1 and ob.pick[0] == pick
    assert sim.open_orders().tolist() == [0] and sim.dispatchable_orders().size == 0
    while sim.t < 12:
        sim.step(np.array([E]))
        assert s.pos[0] != pick
    assert sim.dispatchable_orders().tolist() == [0]
    sim.assign(np.array([0]), np.array([0]))
    for _ in range(12):
        sim.step(np.array([E if s.phase[0] == Phase.TO_PICK else W]))
    assert s.deliveries[0] == 1


def test_a_loaded_robot_keeps_its_delivery_and_waits_outside_a_closed_station() -> None:
    """The robot carries an order to the station (col 0) when cols 0..2 close (clock 4): it
    keeps the order, is sent nowhere (it is outside), waits at the edge and delivers after the
    reopening."""
    sim = corridor({"area": {"from": [0, 0], "to": [0, 2]}, "start_s": 4, "end_s": 30})
    f, s = sim.floor, sim.state
    s.pos[:] = f.cell_of[0, 6]
    sim.state_changed()
    sim.orders.add(np.array([f.cell_of[0, 7]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    sim.step(np.array([E]))  # onto the pick: picking (1 step) ...
    sim.step(np.array([WAIT]))  # ... carrying
    assert s.phase[0] == Phase.TO_DROP
    while sim.t < 30:
        sim.step(np.array([W]))
        assert s.phase[0] == Phase.TO_DROP and s.order[0] == 0 and s.waypoint[0] == -1
    assert s.pos[0] == f.cell_of[0, 3]
    for _ in range(5):
        sim.step(np.array([W]))
    assert s.deliveries[0] == 1


def test_random_closures_never_shorten_a_scheduled_one() -> None:
    """closure_prob 1: a random closure (1 step) hits an aisle cell every step; the schedule
    keeps all six aisle cells closed to its end anyway."""
    sim = corridor(
        {"area": {"from": [0, 1], "to": [0, 6]}, "start_s": 0, "end_s": 20},
        closure_prob=1.0,
        closure_steps=1,
    )
    for _ in range(19):
        assert cols(sim, sim.closed_nodes()) == [1, 2, 3, 4, 5, 6]
        sim.step(np.array([WAIT]))
    sim.step(np.array([WAIT]))
    assert sim.closed_nodes().size == 1  # only the random closure of this step


def test_a_schedule_draws_nothing_and_changes_nothing_before_it_begins() -> None:
    """A fleet with a closure that begins after the run is bit-for-bit the fleet without one:
    same random streams, positions and KPIs; with an early closure the streams still agree."""
    from agents import RuleBasedNavigator
    from hierarchy import GreedyDispatcher
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis

    def run(closures: list[dict]) -> tuple[dict, np.ndarray, dict]:
        env = warehouse.make_env(
            "tiny", **{"faults.breakdown_prob": 0.02, "faults.closure_prob": 0.05,
                       "faults.closures": closures}
        )  # fmt: skip
        fleet = Fleet(env.sim, GreedyDispatcher(), RuleBasedNavigator())
        fleet.reset(0)
        fleet.run(200)
        sim = env.sim
        return compute_kpis(sim), sim.state.pos.copy(), sim.rng_states()

    plain = run([])
    late = run([{"area": {"from": [0, 7], "to": [6, 7]}, "start_s": 500}])
    early = run([{"area": {"from": [0, 7], "to": [6, 7]}, "start_s": 20, "end_s": 120}])
    assert late[0] == plain[0] and np.array_equal(late[1], plain[1]) and late[2] == plain[2]
    assert early[2] == plain[2]  # no draw: the streams are where they were
    assert early[0]["orders_arrived"] == plain[0]["orders_arrived"]
    assert early[0] != plain[0]  # the closure did change the traffic


def test_closures_resolve_on_a_waypoint_graph_by_name_and_by_its_own_cells(tmp_path) -> None:
    """A graph whose positions start at (5, 10): cells are addressed as the file writes them
    (the compiled floor shifts them to (0, 0)), nodes by id; errors name the entry."""
    graph = {
        "directed": False,
        "graph": {"name": "hall"},
        "nodes": [
            {"id": "s1", "pos": [5, 10], "kind": "station"},
            {"id": "a1", "pos": [5, 11], "kind": "aisle"},
            {"id": "a2", "pos": [5, 12], "kind": "aisle"},
            {"id": "p1", "pos": [6, 12], "kind": "pick"},
        ],
        "edges": [
            {"source": "s1", "target": "a1"},
            {"source": "a1", "target": "a2"},
            {"source": "a2", "target": "p1"},
            {"source": "p1", "target": "s1", "length": 3.0},
        ],
    }
    (tmp_path / "hall.json").write_text(json.dumps(graph))
    (tmp_path / "s.yaml").write_text("layout: {type: file, path: hall.json}\nfleet: {robots: 1}\n")
    sc, src = load_scenario(tmp_path / "s.yaml")
    floor = build_floor(sc, src)
    assert floor.pos[floor.index_of("s1")].tolist() == [0, 0]

    def nodes(*closures: dict) -> list[list[str]]:
        faults = FaultsConfig.model_validate({"closures": list(closures)})
        found = resolve_closures(floor, faults, 1.0, "s.yaml")
        return [sorted(str(floor.nodes[v]) for v in c.nodes) for c in found]

    assert nodes({"cells": [[6, 12]], "start_s": 0}, {"nodes": ["a1", "s1"], "start_s": 1}) == [
        ["p1"],
        ["a1", "s1"],
    ]
    assert nodes({"area": {"from": [5, 11], "to": [6, 12]}, "start_s": 0}) == [["a1", "a2", "p1"]]
    with pytest.raises(InputError) as err:
        nodes({"cells": [[0, 0]], "start_s": 0})
    assert str(err.value) == (
        "s.yaml: faults.closures[0].cells[0]: (0, 0) is not a floor cell: outside the floor "
        "(rows 5..6, cols 10..12)"
    )
    with pytest.raises(InputError, match=r"nodes\[1\]: 'zz' is not a floor node"):
        nodes({"nodes": ["a1", "zz"], "start_s": 0})


def test_validate_lists_the_closures_and_the_run_keeps_them(tmp_path, monkeypatch, capsys):
    """``warehouse validate`` names each closure; the run folder's scenario.yaml keeps them and
    runs again to the same KPIs; a sweep over --set runs on such a scenario."""
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(
        TINY_LAYOUT + "fleet: {robots: 4}\nepisode: {steps: 40, seeds: [0]}\nfaults:\n  closures:\n"
        "    - {cells: [[3, 3], [3, 4]], start_s: 10, end_s: 30}\n"
        "    - {area: {from: [0, 7], to: [6, 7]}, start_s: 5}\n"
        "    - {cells: [[0, 0]], start_s: 100}\n"
    )
    code, out, err = run_cli(["validate", "s.yaml"], capsys)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("closure: ")]
    assert lines[0] == (
        "closure: faults.closures[0]: 2 cells closed from 10 s to 30 s (steps 10..29): "
        "(3, 3), (3, 4); 2 pick locations among them (their orders wait)"
    )
    assert lines[1].startswith(
        "closure: faults.closures[1]: 7 cells closed from 5 s to the end of the run (steps 5..)"
    )
    assert lines[2].endswith("begins after the episode's 40 steps, so it never closes")
    code, out, err = run_cli(["run", "s.yaml", "--policy", "rule_based", "--out", "a"], capsys)
    assert code == 0, err
    written = yaml.safe_load(Path("a/scenario.yaml").read_text())
    assert written["faults"]["closures"][1]["area"] == {"from": [0, 7], "to": [6, 7]}
    assert "- [3, 3]" in Path("a/scenario.yaml").read_text()  # a cell on one line
    code, _, err = run_cli(["run", "a/scenario.yaml", "--policy", "rule_based", "--out", "b"],
                           capsys)  # fmt: skip
    assert code == 0, err
    kpis = [json.loads(Path(f"{d}/report.json").read_text())["runs"][0]["kpis"] for d in "ab"]
    assert kpis[0] == kpis[1]
    code, _, err = run_cli(
        ["sweep", "s.yaml", "--set", "fleet.robots=2,4", "--steps", "20", "--out", "sw"], capsys
    )
    assert code == 0, err
    assert Path("sw").is_dir()


def test_a_recording_replays_scheduled_closures(tmp_path) -> None:
    """Recordings log closed cells per frame, scheduled ones included; the replayed frames mask
    the same moves."""
    from agents import RandomNavigator
    from hierarchy import GreedyDispatcher
    from warehouse.fleet import Fleet
    from warehouse.recording import EpisodeRecorder, load_recording

    env = warehouse.make_env(
        "tiny", **{"faults.closures": [{"cells": [[3, 3], [3, 4]], "start_s": 3, "end_s": 9}]}
    )
    fleet = Fleet(env.sim, GreedyDispatcher(), RandomNavigator())
    fleet.reset(2)
    rec = EpisodeRecorder(fleet.sim, meta={})
    live, masks = [fleet.sim.closed_nodes()], [fleet.sim.action_mask()]
    for _ in range(12):
        rec.capture(fleet.sim, fleet.step())
        live.append(fleet.sim.closed_nodes())
        masks.append(fleet.sim.action_mask())
    log = load_recording(rec.save(tmp_path / "r.npz"))
    assert [c.size for c in live] == [0, 0, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]
    for k in range(log.n_frames):
        np.testing.assert_array_equal(log.closed_at(k), live[k])
        np.testing.assert_array_equal(log.frame_sim(k).action_mask(), masks[k])
