"""Scheduled closures (``faults.closures``), as a user and an operator expect them: node ids match
as written (``3`` and ``"3"``), a ``--set`` value the floor refuses names the ``--set``, and the
robots inside a closure that begins are sent out (idle ones to the nearest open cells, robots
driving to a closed pick hand their order back, loaded ones keep it and wait outside) while no
robot enters it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly

import warehouse.core.closures as closures_mod
from agents import RuleBasedNavigator
from hierarchy.dispatchers import GreedyDispatcher
from scenarios import build_floor, load_scenario
from warehouse.config import FaultsConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.core.closure_entries import resolve_closures
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.model import WarehouseModel

# ------------------------------------------------------------------ node ids as written


def graph_floor(tmp_path: Path, ids: list[str | int]):
    """A row of waypoints named ``ids`` (a station first, a pick last), one cell apart."""
    kinds = ["station"] + ["aisle"] * (len(ids) - 2) + ["pick"]
    graph = {
        "directed": False,
        "graph": {"name": "row"},
        "nodes": [
            {"id": v, "pos": [0, i], "kind": k}
            for i, (v, k) in enumerate(zip(ids, kinds, strict=True))
        ],
        "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(ids)],
    }
    (tmp_path / "row.json").write_text(json.dumps(graph))
    (tmp_path / "s.yaml").write_text("layout: {type: file, path: row.json}\nfleet: {robots: 1}\n")
    sc, src = load_scenario(tmp_path / "s.yaml")
    return build_floor(sc, src)


def closed_ids(floor, *names: str | int) -> list[str | int]:
    faults = FaultsConfig.model_validate({"closures": [{"nodes": list(names), "start_s": 0}]})
    (c,) = resolve_closures(floor, faults, 1.0, "s.yaml")
    return [floor.nodes[v] for v in c.nodes]


def test_node_ids_match_whether_written_as_text_or_as_numbers(tmp_path: Path) -> None:
    """Int ids 3, 4 and text ids "7", "a": either spelling names each; "03" is not "3"."""
    floor = graph_floor(tmp_path, [3, "a", "7", 4])
    assert closed_ids(floor, 3) == closed_ids(floor, "3") == [3]  # exact, and text for an int
    assert closed_ids(floor, "7") == closed_ids(floor, 7) == ["7"]  # exact, and int for text
    assert sorted(map(str, closed_ids(floor, "4", 7, "a"))) == ["4", "7", "a"]
    for name, shown in (("03", "'03'"), (" 3", "' 3'"), (5, "5")):
        with pytest.raises(InputError) as err:
            closed_ids(floor, "a", name)
        assert str(err.value) == (
            f"s.yaml: faults.closures[0].nodes[1]: {shown} is not a floor node: no node of the "
            "floor has this id"
        )
    with pytest.raises(InputError) as err:  # one node, written twice
        closed_ids(floor, 3, "a", "3")
    assert (
        str(err.value) == "s.yaml: faults.closures[0].nodes[2]: '3' is given twice (nodes[0] as 3)"
    )


def test_a_floor_with_both_3_and_text_3_makes_either_spelling_ambiguous(tmp_path: Path) -> None:
    floor = graph_floor(tmp_path, ["s", 3, "3", "p"])
    assert closed_ids(floor, "s") == ["s"]
    int_first = "a node 3 (0, 1) and a node '3' (0, 2)"
    for name, both in ((3, int_first), ("3", "a node '3' (0, 2) and a node 3 (0, 1)")):
        with pytest.raises(InputError) as err:
            closed_ids(floor, "s", name)
        assert str(err.value) == (
            f"s.yaml: faults.closures[0].nodes[1]: {name!r} is ambiguous: the floor has {both}; "
            "close the one you mean by its cell (cells: [[row, col]])"
        )
        assert "\n" not in str(err.value)


def test_the_cli_names_the_node_entry_of_the_file(tmp_path: Path, capsys, monkeypatch) -> None:
    graph_floor(tmp_path, ["s", 3, "3", "p"])
    (tmp_path / "s.yaml").write_text(
        "layout: {type: file, path: row.json}\nfleet: {robots: 1}\n"
        "faults: {closures: [{nodes: [s, '3'], start_s: 0}]}\n"
    )
    monkeypatch.chdir(tmp_path)
    for argv in (["validate", "s.yaml"], ["run", "s.yaml", "--steps", "3", "--out", "o"]):
        fails_cleanly(
            argv, tmp_path, capsys, "s.yaml: faults.closures[0].nodes[1]: '3' is ambiguous"
        )


# ------------------------------------------------------------------ --set blamed, not the file

BAD = "faults.closures=[{cells: [[999, 999]], start_s: 0, end_s: 60}]"
WHY = (
    "--set faults.closures[0].cells[0]: (999, 999) is not a floor cell: outside the floor "
    "(rows 0..12, cols 0..58)"
)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "small", "--set", BAD, "--steps", "5", "--out", "out"],
        ["sweep", "small", "--set", BAD, "--steps", "5", "--out", "out"],
        ["view", "small", "--set", BAD, "--headless-frames", "out", "--frames", "1"],
    ],
    ids=["run", "sweep", "view"],
)
def test_a_set_closure_off_the_floor_names_the_set_option(argv, tmp_path, capsys, monkeypatch):
    """The schema takes the value, the floor refuses it: the error names ``--set`` and the
    entry, not the built-in scenario's file; exit 2, nothing written."""
    monkeypatch.chdir(tmp_path)
    line = fails_cleanly(argv, tmp_path, capsys, WHY)
    assert line == f"error: {WHY}"


def test_a_sweep_checks_the_closures_of_every_combination(tmp_path, capsys, monkeypatch) -> None:
    """A sweep over closures checks each value (the floor check once per floor and faults)."""
    monkeypatch.chdir(tmp_path)
    good = "{cells: [[3, 3]], start_s: 0}"
    bad = "{cells: [[3, 300]], start_s: 0}"
    argv = ["sweep", "small", "--set", f"faults.closures=[{good}],[{bad}]", "--steps", "5"]
    line = fails_cleanly([*argv, "--out", "o"], tmp_path, capsys, "--set faults.closures[0]")
    assert "(3, 300) is not a floor cell" in line


def test_the_file_is_still_named_for_its_own_closures(tmp_path, capsys, monkeypatch) -> None:
    (tmp_path / "s.yaml").write_text(
        "layout: {type: generator, shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"
        "faults: {closures: [{cells: [[99, 0]], start_s: 0}]}\n"
    )
    monkeypatch.chdir(tmp_path)
    argv = ["run", "s.yaml", "--set", "fleet.robots=2", "--steps", "3", "--out", "o"]
    fails_cleanly(argv, tmp_path, capsys, "s.yaml: faults.closures[0].cells[0]: (99, 0)")


# ------------------------------------------------------------------ evacuation

CLOSE_AT, OPEN_AT = 1, 40  #: the hall's closure, in steps of 1 s
AREA = (slice(1, 4), slice(2, 6))  #: rows 1..3, cols 2..5


def hall(robots: int, collisions: str = "block", start: int = CLOSE_AT) -> Simulation:
    """A 5 × 9 hall of aisle cells; stations at (2, 0) and (2, 3) (inside the closure), pick
    locations at (0, 8), (4, 0) and (3, 4) (inside); rows 1..3, cols 2..5 closed from 1 s to
    40 s; no arrivals."""
    grid = np.full((5, 9), NodeKind.AISLE, np.int8)
    grid[2, 0] = grid[2, 3] = NodeKind.STATION
    grid[0, 8] = grid[4, 0] = grid[3, 4] = NodeKind.PICK
    closure = {"area": {"from": [1, 2], "to": [3, 5]}, "start_s": start, "end_s": OPEN_AT}
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0, pick_time=5, drop_time=1),
        physics=PhysicsConfig(step_seconds=1.0, collisions=collisions),
        faults=FaultsConfig.model_validate({"closures": [closure]}),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    return sim


def scene(sim: Simulation) -> None:
    """Robots 0..2 idle inside (one on the closing station, one deep inside); robot 3 outside,
    driving to the closing pick; robot 4 inside, driving to an open pick; robot 5 picking at the
    closing pick; robot 6 inside, carrying to the closing station; robots 7 and 8 outside,
    crossing the hall (waypoints)."""
    f, s = sim.floor, sim.state
    c = f.cell_of
    cells = [(2, 3), (2, 4), (1, 2), (2, 6), (2, 2), (3, 4), (1, 5), (0, 0), (4, 8)]
    s.pos[:] = [c[rc] for rc in cells]
    sim.state_changed()
    picks = [c[3, 4], c[0, 8], c[3, 4], c[4, 0]]
    stations = [c[2, 0], c[2, 0], c[2, 0], c[2, 3]]
    sim.orders.add(np.array(picks), np.array(stations), step=0)
    sim.assign(np.array([3, 4, 5, 6]), np.array([0, 1, 2, 3]))
    s.phase[6], s.task_goal[6] = Phase.TO_DROP, c[2, 3]  # robot 6 has picked order 3
    sim.set_waypoints(np.array([7, 8]), np.array([c[4, 8], c[0, 0]]))


def closed_cells(sim: Simulation) -> np.ndarray:
    out = np.zeros(sim.floor.n_nodes, dtype=bool)
    out[sim.floor.cell_of[AREA][sim.floor.cell_of[AREA] >= 0]] = True
    return out


@pytest.mark.parametrize("collisions", ["block", "pibt", "pibt_swap"])
def test_robots_inside_leave_and_none_enters_while_the_closure_lasts(collisions: str) -> None:
    """Within 12 steps of the closing every robot but the one still picking has left the
    closed area (that one leaves once its pick is done), no robot ever steps into it, and no
    robot collides. Robot 3 hands its order (a closing pick) back, robot 6 keeps its load and
    waits outside; after the reopening every order is delivered."""
    sim = hall(9, collisions)
    scene(sim)
    s, ob = sim.state, sim.orders
    area = closed_cells(sim)
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)
    fleet = Fleet(sim, GreedyDispatcher(), nav)
    inside_at: dict[int, int] = {}
    while sim.t < OPEN_AT:
        before = s.pos.copy()
        fleet.step()
        if sim.t > CLOSE_AT:  # a step that began with the cells closed
            assert not (area[s.pos] & ~area[before]).any(), sim.t  # nobody enters
        if sim.t >= CLOSE_AT:
            inside_at[sim.t] = int(area[s.pos].sum())
        if sim.t == CLOSE_AT:
            assert sim.dist.closed[area].all()
            assert s.phase[3] == Phase.IDLE and ob.robot[0] == -1  # handed back: held
            assert 0 in sim.open_orders() and 0 not in sim.dispatchable_orders()
            assert s.phase[5] == Phase.PICKING and s.order[6] == 3  # working, loaded: kept
            inside = area[s.pos]
            aimed = np.flatnonzero(inside & ((s.phase == Phase.IDLE) | (s.phase == Phase.TO_DROP)))
            assert {0, 1, 6} <= set(aimed.tolist())
            assert (s.waypoint[aimed] >= 0).all() and not area[s.waypoint[aimed]].any()
            assert np.unique(s.waypoint[aimed]).size == aimed.size  # one robot per cell
    # nobody but the picking robot is inside 12 steps on; it leaves once it has picked
    assert all(n <= 1 for t, n in inside_at.items() if t >= CLOSE_AT + 12), inside_at
    assert max(t for t, n in inside_at.items() if n > 0) <= CLOSE_AT + 20, inside_at
    assert s.order[6] == 3 and s.phase[6] == Phase.TO_DROP and not area[s.pos[6]]
    assert sim.incidents == 0
    for _ in range(80):
        fleet.step()
    assert (ob.delivered[: ob.count] >= 0).all()


def test_robots_placed_inside_a_closure_from_time_zero_are_sent_out_at_reset() -> None:
    grid = np.full((3, 7), NodeKind.AISLE, np.int8)
    grid[1, 0], grid[1, 6] = NodeKind.STATION, NodeKind.PICK
    closure = {"area": {"from": [0, 2], "to": [2, 4]}, "start_s": 0, "end_s": 50}
    cfg = SimConfig(
        fleet=FleetConfig(robots=12, start="spread"),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig.model_validate({"closures": [closure]}),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    s = sim.state
    inside = np.flatnonzero(sim.dist.closed[s.pos])
    assert inside.size >= 3
    assert (s.waypoint[inside] >= 0).all() and not sim.dist.closed[s.waypoint[inside]].any()
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)
    for _ in range(15):
        actions, prefs = nav.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
    assert not sim.dist.closed[s.pos].any()


def test_the_exit_search_runs_only_when_a_robot_needs_one(monkeypatch) -> None:
    """On ``small`` with a block of lanes closed for 200 steps, the search for open cells runs
    on a few steps (the closing, and when a robot's work inside ends), not on every step; and
    the run is deterministic."""
    calls: list[int] = []
    real = closures_mod.evacuation_moves

    def counted(sim, robots):
        calls.append(sim.t)
        return real(sim, robots)

    monkeypatch.setattr(closures_mod, "evacuation_moves", counted)
    block = {"area": {"from": [0, 3], "to": [6, 19]}, "start_s": 20, "end_s": 220}
    runs = []
    for _ in range(2):
        calls.clear()
        model = WarehouseModel("small", seed=3, steps=300, **{"faults.closures": [block]})
        for _ in range(300):
            model.step()
        s = model.sim.state
        runs.append((list(calls), s.pos.copy(), int(s.deliveries.sum())))
    assert runs[0][0] == runs[1][0] and np.array_equal(runs[0][1], runs[1][1])
    assert runs[0][0] and min(runs[0][0]) == 20  # the closing (1 s steps)
    assert len(runs[0][0]) < 40  # of the 200 steps the closure lasts


def test_random_closures_and_runs_without_a_schedule_never_evacuate(monkeypatch) -> None:
    def never(*_args):
        raise AssertionError("evacuation without a scheduled closure")

    monkeypatch.setattr(closures_mod, "closure_duties", never)
    monkeypatch.setattr("warehouse.core.simulation.closure_duties", never)
    model = WarehouseModel("small", seed=1, steps=200, **{"faults.closure_prob": 0.5})
    model.run_model()
    assert not model.sim.dist.leave.any()


def test_a_recording_replays_the_handed_back_orders_and_the_moves_out(tmp_path) -> None:
    """Replayed frames show an order handed back as open, and as held by its robot before (the
    log keeps only an order's last assignment), and the evacuation's masks, as live."""
    from warehouse.recording import EpisodeRecorder, load_recording

    sim = hall(9, start=4)
    f, s = sim.floor, sim.state
    cells = [(2, 3), (2, 4), (1, 2), (0, 8), (4, 0), (4, 8), (0, 0), (0, 4), (0, 6)]
    s.pos[:] = [f.cell_of[rc] for rc in cells]
    sim.state_changed()
    c = f.cell_of
    # order 0 (pick inside) arrives now and is given by the first dispatch; order 1 stays open
    sim.orders.add(np.array([c[3, 4], c[0, 8]]), np.array([c[2, 0], c[2, 0]]), step=0)
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)

    class Once:
        """Gives order 0 to robot 5 at the first dispatch (clock 0), nothing after."""

        name = "once"

        def reset(self, seed: int | None) -> None: ...

        def dispatch(self, sim: Simulation) -> None:
            if sim.t == 0:
                sim.assign(np.array([5]), np.array([0]))

    fleet = Fleet(sim, Once(), nav)
    rec = EpisodeRecorder(sim, meta={})
    live = [(sim.open_orders().copy(), sim.action_mask())]
    for _ in range(10):
        rec.capture(sim, fleet.step())
        live.append((sim.open_orders().copy(), sim.action_mask()))
    log = load_recording(rec.save(tmp_path / "r.npz"))
    assert [o.tolist() for o, _ in live[:6]] == [[0, 1], [1], [1], [1], [0, 1], [0, 1]]
    for k in range(log.n_frames):
        frame = log.frame_sim(k)
        np.testing.assert_array_equal(frame.open_orders(), live[k][0], err_msg=str(k))
        np.testing.assert_array_equal(frame.action_mask(), live[k][1], err_msg=str(k))
