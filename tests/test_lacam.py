"""The ``lacam`` navigator (agents/lacam.py, agents/lacam_search.py): a complete one-shot MAPF
planner. Its plans are valid joint moves, its runs' KPIs agree with its plans, it solves the
reverse-order aisle that the PIBT-family planners cannot (tests/test_one_shot_liveness.py),
proves a 2-node swap unsolvable while the fleet keeps acting, replans when a robot is moved,
repeats bit for bit (its tie-breaks are a stream of its own, seeded by reset), is refused
outside one-shot runs, and solves warehouse instances along the search's first descent (its
generator lets a robot clear an aisle for one behind it: LaCAM*'s clear rule). With ``refine``
(LaCAM*'s anytime refinement) it finds cheaper plans than the first, and the optimum of a
brute-force search when its budget lets the search end."""

from __future__ import annotations

import csv
import heapq
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import TINY, fails_cleanly, run_cli

from agents import CHECKPOINT_NAVIGATORS, NAVIGATORS, make_navigator
from agents.lacam import LaCAMNavigator, plan_costs
from agents.lacam_search import seed_state
from scenarios import load_scenario
from scenarios.load import apply_overrides, build_floor
from warehouse import kpis
from warehouse.core import Simulation
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.floor.checks import one_way_moves

#: tests/test_one_shot_liveness.py's floor: a one-lane aisle (row 1, columns 1-7) between two
#: junctions (columns 0 and 8), each with a dead-end pocket above and below
AISLE = "type octile\nheight 3\nwidth 9\nmap\n.@@@@@@@.\n.........\n.@@@@@@@.\n"
#: :data:`AISLE` standing up: a one-lane aisle (column 1, rows 1-7) between two junctions
#: (rows 0 and 8), each with a dead-end pocket west and east
VAISLE = "type octile\nheight 9\nwidth 3\nmap\n...\n" + "@.@\n" * 7 + "...\n"
#: a path of two cells: two robots there can never exchange places
PAIR = "type octile\nheight 1\nwidth 2\nmap\n..\n"
#: the MovingAI warehouse of the results page (docs/results_mapf.md)
WAREHOUSE = Path(__file__).resolve().parents[2] / "shared/maps/movingai/warehouse-10-20-10-2-1.map"
#: a small open floor with a few shelves (random one-shot instances)
ROOM = "type octile\nheight 6\nwidth 7\nmap\n.......\n.@@.@@.\n.......\n.@.@.@.\n.......\n...@...\n"


def _fixed(folder: Path, drawing: str, starts, goals, collisions: str = "block", extra: str = ""):  # type: ignore[no-untyped-def]
    """A one-shot scenario on ``drawing`` with these start and goal cells, as a fleet driven
    by a ``lacam`` navigator."""
    (folder / "m.map").write_text(drawing)
    s, g = (json.dumps([list(c) for c in cells]) for cells in (starts, goals))
    (folder / "s.yaml").write_text(
        "layout: {type: file, path: m.map}\n"
        f"fleet: {{start_cells: {s}}}\n"
        f"tasks: {{mode: goal_visit, goals: {g}, assignment: one_shot}}\n" + extra
    )
    sc, src = load_scenario(folder / "s.yaml")
    sc = apply_overrides(sc, {"collisions": collisions}, src)
    return sc, src


def _fleet(sc, src, navigator: LaCAMNavigator | None = None) -> Fleet:  # type: ignore[no-untyped-def]
    nav = navigator if navigator is not None else LaCAMNavigator()
    fleet = Fleet(Simulation(build_floor(sc, src), sc.sim_config()), None, nav)
    fleet.reset(0)
    return fleet


def _random(folder: Path, robots: int, drawing: str = ROOM):  # type: ignore[no-untyped-def]
    (folder / "m.map").write_text(drawing)
    sc, src = load_scenario(folder / "m.map")
    over = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": robots}
    return apply_overrides(sc, over, src), src


def _check_plan(sim: Simulation, plan: np.ndarray) -> None:
    """Consecutive configurations are joint moves along allowed (directed) edges or waits,
    without vertex or swap conflicts."""
    f = sim.floor
    allowed = sim.move_mask(np.arange(f.n_nodes))
    for a, b in itertools.pairwise(plan):
        assert np.unique(b).size == b.size, "vertex conflict"
        for i in range(a.size):
            if a[i] != b[i]:
                step = (f.nbr[a[i]] == b[i]) & allowed[a[i]]
                step[0] = False
                assert step.any(), f"robot {i}: {a[i]} -> {b[i]} is no move of the floor"
        at = {int(v): i for i, v in enumerate(a)}
        for i in range(a.size):
            j = at.get(int(b[i]))
            if j is not None and j != i:
                assert b[j] != a[i], f"robots {i} and {j} swap"


def _solved_at(fleet: Fleet, steps: int) -> int | None:
    """The first step after which every robot stands on its goal (None: not within ``steps``):
    the stop of ``episode.stop_when_solved`` (:meth:`Fleet.run`)."""
    taken = fleet.run(steps, stop_when_solved=True)
    return taken if fleet.sim.solved() else None


def test_lacam_is_a_registered_navigator_without_weights() -> None:
    assert "lacam" in NAVIGATORS and "lacam" not in CHECKPOINT_NAVIGATORS
    nav = make_navigator("lacam", node_budget=7)
    assert isinstance(nav, LaCAMNavigator) and nav.node_budget == 7
    with pytest.raises(ValueError, match="node_budget"):
        make_navigator("lacam", node_budget=0)


@pytest.mark.parametrize("collisions", ["block", "physical", "pibt", "pibt_swap"])
def test_two_robots_whose_goals_lie_in_reverse_order_in_an_aisle_pass(
    collisions: str, tmp_path: Path
) -> None:
    """The strict xfail of tests/test_one_shot_liveness.py, solved: robot 0 at (1, 4) with its
    goal at (1, 5), robot 1 at (1, 5) with its goal at (1, 4). Both must leave the one-lane
    aisle at one end and come back in the other order; one search plans it, and the robots
    stay on their goals afterwards."""
    sc, src = _fixed(tmp_path, AISLE, [(1, 4), (1, 5)], [(1, 5), (1, 4)], collisions)
    fleet = _fleet(sc, src)
    solved = _solved_at(fleet, 300)
    nav = fleet.navigator
    assert solved is not None and solved == nav.stats["plan_length"], (solved, nav.stats)
    assert nav.stats["searches"] == 1 and nav.stats["found"]
    for _ in range(20):
        fleet.step()
    assert np.array_equal(fleet.sim.state.pos, fleet.sim.one_shot_goals)
    assert kpis.solved(fleet.sim) == 1 and kpis.makespan(fleet.sim) == solved


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_instances_plans_are_valid_and_the_kpis_agree(seed: int, tmp_path: Path) -> None:
    """On random one-shot instances the plan's configurations are valid joint moves, the run
    follows it without a replan, and the run's KPIs are the plan's: solved, makespan = plan
    length, sum of costs = each robot's last arrival in the plan."""
    sc, src = _random(tmp_path, 12)
    fleet = _fleet(sc, src)
    fleet.reset(seed)
    sim = fleet.sim
    start = sim.state.pos.copy()
    for _ in range(80):
        fleet.step()
    nav = fleet.navigator
    assert nav.stats["searches"] == 1 and nav.stats["replans"] == 0, nav.stats
    ((t0, plan),) = nav.plans
    assert t0 == 0 and np.array_equal(plan[0], start)
    assert np.array_equal(plan[-1], sim.one_shot_goals)
    _check_plan(sim, plan)
    assert kpis.solved(sim) == 1
    assert kpis.makespan(sim) == plan.shape[0] - 1 == nav.stats["plan_length"]
    on = plan == plan[-1]
    last = np.array([np.flatnonzero(~on[:, i]).max(initial=-1) + 1 for i in range(on.shape[1])])
    assert kpis.sum_of_costs(sim) == int(last.sum())


def test_one_way_aisles_are_followed(tmp_path: Path) -> None:
    """On a floor with one-way aisles (directed edges) the plan moves along them only."""
    sc, src = load_scenario("one_way_aisles")
    over = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": 10}
    sc = apply_overrides(sc, over, src)
    fleet = _fleet(sc, src)
    fleet.reset(3)
    assert one_way_moves(fleet.sim.floor)[0].size > 0
    fleet.step()
    nav = fleet.navigator
    assert nav.stats["found"], nav.stats
    _check_plan(fleet.sim, nav.plans[0][1])


def test_a_swap_on_two_cells_exhausts_the_search_and_the_fleet_keeps_acting(
    tmp_path: Path,
) -> None:
    """Two robots that must exchange the two cells of a path: no plan exists. The search
    explores every configuration and ends below its budget with no solution (complete); the
    navigator answers every step (the generator's step, then searches again later), and no
    move conflicts."""
    sc, src = _fixed(tmp_path, PAIR, [(0, 0), (0, 1)], [(0, 1), (0, 0)], "physical")
    fleet = _fleet(sc, src, LaCAMNavigator(node_budget=1000))
    for _ in range(30):
        step = fleet.step()
        assert step.proposed.shape == (2,)
    nav = fleet.navigator
    st = nav.stats
    assert st["found"] is False and st["solved"] == 0 and st["plan_length"] == -1
    assert 2 <= st["searches"] < 30  # retried, but not at every step
    assert st["expanded"] < 1000 * st["searches"]  # ended before the budget: exhausted
    assert st["fallback_steps"] == 30
    assert fleet.sim.incidents == 0 and kpis.solved(fleet.sim) == 0


def test_the_budget_is_a_count_and_a_tight_one_falls_back(tmp_path: Path) -> None:
    """With a budget too small to reach the goals (1 iteration), no plan is found, the
    generator moves the fleet, and later searches (fewer robots left to route) may
    succeed; the budget comes through ``policies.navigator_args``."""
    sc, src = _fixed(
        tmp_path,
        AISLE,
        [(1, 1), (1, 7)],
        [(1, 7), (0, 0)],
        extra="policies: {navigator: lacam, navigator_args: {lacam: {node_budget: 1}}}\n",
    )
    from warehouse.policies import build_policy, resolve_policy

    _, nav = build_policy(resolve_policy(None, sc, source=src), sc, src)
    assert isinstance(nav, LaCAMNavigator) and nav.node_budget == 1
    fleet = _fleet(sc, src, nav)
    fleet.reset(0)
    fleet.step()
    assert nav.stats["searches"] == 1 and not nav.stats["found"]
    assert nav.stats["fallback_steps"] == 1 and nav.stats["expanded"] == 1


def test_same_seed_same_actions(tmp_path: Path) -> None:
    """Two fleets on one random instance and seed propose the same actions at every step, and
    a reset repeats them."""
    sc, src = _random(tmp_path, 14)
    runs = []
    for _ in range(2):
        fleet = _fleet(sc, src)
        for _ in range(2):
            fleet.reset(5)
            runs.append(np.stack([fleet.step().proposed for _ in range(40)]))
    assert all(np.array_equal(runs[0], r) for r in runs[1:])


def test_a_displaced_robot_makes_it_replan_from_where_the_robots_are(tmp_path: Path) -> None:
    """A robot moved off the plan (as a shield or a script might) makes the next act search
    again from the robots' nodes; the new plan starts there and the run still ends solved."""
    sc, src = _random(tmp_path, 8)
    fleet = _fleet(sc, src)
    fleet.reset(1)
    sim, nav = fleet.sim, fleet.navigator
    for _ in range(2):
        fleet.step()
    assert nav.stats["searches"] == 1
    taken = set(sim.state.pos.tolist())
    f = sim.floor
    moved = None
    for r in range(sim.n_robots):  # a robot with a free neighbour: put it there
        for v in f.nbr[sim.state.pos[r], 1:][f.mask[sim.state.pos[r], 1:]]:
            if int(v) not in taken:
                moved = (r, int(v))
                break
        if moved:
            break
    assert moved is not None
    sim.state.pos[moved[0]] = moved[1]
    sim.state_changed()
    fleet.step()
    assert nav.stats["searches"] == 2 and nav.stats["replans"] == 1
    t, plan = nav.plans[-1]
    assert t == 2 and plan[0, moved[0]] == moved[1]
    _check_plan(sim, plan)
    assert _solved_at(fleet, 100) is not None


def test_a_lifelong_run_refuses_lacam_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    line = fails_cleanly(
        ["run", str(TINY), "--policy", "lacam", "--steps", "5", "--out", str(out)],
        tmp_path,
        capsys,
        "",
    )
    assert "tasks.assignment" in line and "one_shot" in line and "lacam" in line, line
    assert not out.exists()
    line = fails_cleanly(
        ["sweep", str(TINY), "--set", "fleet.robots=2,3", "--policy", "lacam", "--out", "o"],
        tmp_path,
        capsys,
        "",
    )
    assert "tasks.assignment" in line


def test_the_mesa_model_and_a_fleet_refuse_lacam_outside_one_shot_runs() -> None:
    from warehouse.model import WarehouseModel

    with pytest.raises(InputError, match=r"tasks\.assignment"):
        WarehouseModel("tiny", policy="lacam", steps=3)
    sc, src = load_scenario("tiny")
    fleet = Fleet(Simulation(build_floor(sc, src), sc.sim_config()), None, LaCAMNavigator())
    fleet.reset(0)
    with pytest.raises(InputError, match=r"tasks\.assignment: .*one_shot"):
        fleet.step()


def test_a_movingai_scen_file_runs_under_lacam(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``warehouse run FILE.scen --policy lacam``: the reverse-order aisle as a MovingAI
    scenario file, solved, the KPIs in kpis.csv."""
    (tmp_path / "aisle.map").write_text(AISLE)
    lines = ["version 1", "0\taisle.map\t9\t3\t4\t1\t5\t1\t1", "0\taisle.map\t9\t3\t5\t1\t4\t1\t1"]
    (tmp_path / "a.scen").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    argv = ["run", str(tmp_path / "a.scen"), "--policy", "lacam", "--steps", "60"]
    code, _, err = run_cli([*argv, "--seeds", "0", "--out", str(out)], capsys)
    assert code == 0, err
    with open(out / "kpis.csv", newline="") as f:
        row = list(csv.DictReader(f))[-1]  # the series' last row: the run's end
    assert row["solved"] == "1" and int(row["makespan"]) <= 20, row
    assert row["collisions"] == "0"


def test_a_robot_clears_the_aisle_for_one_that_must_pass_it(tmp_path: Path) -> None:
    """Robot 0 at the aisle's west junction (1, 0) must pass robot 1 (at (1, 1), its goal
    (1, 3)) to reach its goal (1, 5). The swap pulls robot 1 out to the junction; pushed back
    from there, robot 1 must step into a pocket (LaCAM*'s clear rule), not re-enter the aisle
    ahead of robot 0, which made the two shuttle for good. With a budget of one iteration
    the search never finds a plan, so the generator's steps alone move the fleet."""
    sc, src = _fixed(tmp_path, AISLE, [(1, 0), (1, 1)], [(1, 5), (1, 3)])
    nav = LaCAMNavigator(node_budget=1)
    fleet = _fleet(sc, src, nav)
    solved = _solved_at(fleet, 40)
    assert solved is not None and solved <= 12, (solved, nav.stats)
    assert nav.stats["fallback_steps"] >= solved - 1 and nav.stats["solved"] <= 1, nav.stats
    assert fleet.sim.incidents == 0


def test_the_tie_breaks_are_the_navigators_own_seeded_stream(tmp_path: Path) -> None:
    """The generator breaks ties between equally short moves by a stream of the navigator's
    own, seeded by ``reset(seed)``: the same seed gives the same plan, another seed (on the
    same instance) another plan, and acting leaves the simulation's streams alone."""
    sc, src = _random(tmp_path, 14)
    fleet = _fleet(sc, src)
    fleet.reset(4)
    sim, nav = fleet.sim, fleet.navigator
    mask = sim.action_mask()
    streams = [sim.rng, sim.rng_orders, sim.rng_goals, sim.rng_faults, sim.rng_start]
    before = [g.bit_generator.state for g in streams]
    plans = {}
    for seed in (0, 1, 2, 3, 0):
        nav.reset(seed)
        assert np.array_equal(nav._rng, seed_state(seed))
        nav.act(sim, None, mask)
        assert nav.stats["found"], nav.stats
        ((_, plan),) = nav.plans
        _check_plan(sim, plan)
        if seed in plans:
            assert np.array_equal(plans[seed], plan)
        plans[seed] = plan
    assert len({p.tobytes() for p in plans.values()}) > 1
    assert [g.bit_generator.state for g in streams] == before
    assert not np.array_equal(seed_state(0), seed_state(1))
    assert np.array_equal(seed_state(None), seed_state(0))


@pytest.mark.skipif(not WAREHOUSE.exists(), reason="the shared MovingAI maps are absent")
def test_a_warehouse_instance_is_solved_along_the_first_descent() -> None:
    """warehouse-10-20-10-2-1 with 200 robots (a random one-shot instance, as on the results
    page): the search finds a plan on its first descent, one iteration a step of the plan
    (before: 0 of 3 seeds within the 20,000-iteration budget, the generator's successors
    shuttling robots in and out of the aisles)."""
    sc, src = load_scenario(WAREHOUSE)
    over = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot", "fleet.robots": 200}
    sc = apply_overrides(sc, over, src)
    fleet = _fleet(sc, src)
    fleet.reset(0)
    fleet.step()
    st = fleet.navigator.stats
    assert st["found"] and st["searches"] == 1, st
    assert st["expanded"] <= st["plan_length"] + 50, st
    ((_, plan),) = fleet.navigator.plans
    _check_plan(fleet.sim, plan)
    assert np.array_equal(plan[-1], fleet.sim.one_shot_goals)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_robot_pushed_off_its_goal_does_not_always_take_the_same_equal_move(
    seed: int, tmp_path: Path
) -> None:
    """The aisle standing up (:data:`VAISLE`): robot 1 stands on its goal, the south junction
    (8, 1); robot 0, in the pocket west of it, must pass it into the aisle (goal (3, 1)).
    Pushed, robot 1 has two equally short moves: north into the aisle ahead of robot 0 (which
    the swap then undoes: robot 0 steps back, robot 1 is pulled home) or into the east pocket.
    A fixed tie-break (action index: north first) took the aisle at every step, for good; the
    navigator's seeded stream soon picks the pocket. The generator's steps alone move the
    fleet (a budget of one iteration)."""
    sc, src = _fixed(tmp_path, VAISLE, [(8, 0), (8, 1)], [(3, 1), (8, 1)])
    nav = LaCAMNavigator(node_budget=1)
    fleet = _fleet(sc, src, nav)
    fleet.reset(seed)
    solved = _solved_at(fleet, 60)
    assert solved is not None, nav.stats
    assert nav.stats["solved"] <= 1 and fleet.sim.incidents == 0, nav.stats


# ---------------------------------------------------------------------- LaCAM*'s refinement


def _joint_moves(sim: Simulation, config: tuple[int, ...]):  # type: ignore[no-untyped-def]
    """Every configuration one step from ``config`` under the project's movement rules: each
    robot waits or takes an allowed (directed) move, no two end on one node, no two swap
    (rotations and following allowed, as in ``block``)."""
    f = sim.floor
    allowed = sim.move_mask(np.arange(f.n_nodes))
    options = [
        [
            v,
            *(
                int(f.nbr[v, a])
                for a in range(1, f.nbr.shape[1])
                if allowed[v, a] and f.nbr[v, a] != v
            ),
        ]
        for v in config
    ]
    n = len(config)
    for nxt in itertools.product(*options):
        if len(set(nxt)) < n:
            continue
        if any(
            nxt[i] == config[j] and nxt[j] == config[i]
            for i, j in itertools.combinations(range(n), 2)
        ):
            continue
        yield nxt


def _optimal_costs(sim: Simulation) -> tuple[int, int]:
    """``(least sum of loss, least sum of costs)`` from the robots' nodes to their goals, by
    Dijkstra over joint configurations (brute force, for 2-3 robots on a tiny floor). The sum
    of costs: over states (configuration, robots finished), a robot finishing on its goal to
    stay there for good and every unfinished robot costing 1 a step."""
    start = tuple(int(v) for v in sim.state.pos)
    goals = tuple(int(v) for v in sim.one_shot_goals)
    n = len(start)
    best: dict[tuple[int, ...], int] = {start: 0}
    queue: list[tuple[int, tuple[int, ...]]] = [(0, start)]
    loss = -1
    while queue:
        d, c = heapq.heappop(queue)
        if d > best[c]:
            continue
        if c == goals:
            loss = d
            break
        for nxt in _joint_moves(sim, c):
            e = d + sum(not (c[i] == goals[i] == nxt[i]) for i in range(n))
            if e < best.get(nxt, e + 1):
                best[nxt] = e
                heapq.heappush(queue, (e, nxt))

    def finish(c: tuple[int, ...], done: int) -> list[int]:  # every way to finish some more
        can = [i for i in range(n) if not done >> i & 1 and c[i] == goals[i]]
        return [
            done | sum(1 << i for i in sub)
            for k in range(len(can) + 1)
            for sub in itertools.combinations(can, k)
        ]

    best2 = {(start, m): 0 for m in finish(start, 0)}
    queue2 = [(0, start, m) for m in finish(start, 0)]
    heapq.heapify(queue2)
    soc = -1
    while queue2:
        d, c, done = heapq.heappop(queue2)
        if d > best2[(c, done)]:
            continue
        if done == (1 << n) - 1:
            soc = d
            break
        e = d + n - bin(done).count("1")
        for nxt in _joint_moves(sim, c):
            if any(done >> i & 1 and nxt[i] != c[i] for i in range(n)):
                continue
            for m in finish(nxt, done):
                if e < best2.get((nxt, m), e + 1):
                    best2[(nxt, m)] = e
                    heapq.heappush(queue2, (e, nxt, m))
    return loss, soc


@pytest.mark.parametrize(
    ("starts", "goals"),
    [
        ([(2, 8), (1, 3)], [(1, 4), (1, 5)]),
        ([(1, 7), (0, 8), (1, 5)], [(2, 8), (1, 2), (1, 8)]),
    ],
)
def test_refinement_reaches_the_brute_force_optimum(starts, goals, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Instances on :data:`AISLE` whose first solution is not the cheapest: with a budget the
    search does not use up, refinement ends with an empty open list and its plan has the least
    sum of loss a brute-force search finds (here also the least sum of costs); the plan is
    valid, and the run that follows it reports that sum of costs as its KPI."""
    sc, src = _fixed(tmp_path, AISLE, starts, goals)
    nav = LaCAMNavigator(node_budget=200_000, refine=True)
    fleet = _fleet(sc, src, nav)
    sim = fleet.sim
    loss, soc = _optimal_costs(sim)
    solved = _solved_at(fleet, 100)
    st = nav.stats
    assert st["searches"] == 1 and st["found"], st
    assert st["expanded"] < 200_000, st  # the open list emptied: the plan is optimal
    assert st["first_cost"] > st["cost"] == loss, (st, loss)
    assert st["sum_of_costs"] == soc, (st, soc)
    ((_, plan),) = nav.plans
    _check_plan(sim, plan)
    assert plan_costs(plan, sim.one_shot_goals) == (loss, soc)
    assert solved == st["plan_length"] == kpis.makespan(sim)
    assert kpis.sum_of_costs(sim) == soc


def test_without_refinement_the_first_solution_is_the_plan(tmp_path: Path) -> None:
    """``refine`` is off by default: the search stops at its first solution, a costlier plan
    than the refined one on the same instance."""
    sc, src = _fixed(tmp_path, AISLE, [(2, 8), (1, 3)], [(1, 4), (1, 5)])
    nav = make_navigator("lacam")
    assert isinstance(nav, LaCAMNavigator) and nav.refine is False
    fleet = _fleet(sc, src, nav)
    fleet.step()
    st = nav.stats
    assert st["expanded"] == st["first_iterations"] and st["plan_length"] == st["first_plan_length"]
    assert (
        (st["first_cost"], st["first_sum_of_costs"]) == (st["cost"], st["sum_of_costs"]) == (21, 22)
    )


@pytest.mark.parametrize("seed", [0, 2])
def test_refinement_finds_a_cheaper_valid_plan_and_repeats_it(seed: int, tmp_path: Path) -> None:
    """A random instance of 8 robots on :data:`ROOM`: the refined plan costs less than the
    first solution (sum of loss and the sum of costs KPI), is valid, the run follows it and
    reports its sum of costs, the search spends its whole budget, and the same seed gives the
    same plan."""
    sc, src = _random(tmp_path, 8)
    plans = []
    for _ in range(2):
        nav = LaCAMNavigator(node_budget=3000, refine=True)
        fleet = _fleet(sc, src, nav)
        fleet.reset(seed)
        sim = fleet.sim
        solved = _solved_at(fleet, 100)
        st = nav.stats
        assert st["searches"] == 1 and st["expanded"] == 3000, st
        assert st["first_iterations"] < 100 and st["first_cost"] > st["cost"], st
        assert st["first_sum_of_costs"] > st["sum_of_costs"], st
        ((_, plan),) = nav.plans
        _check_plan(sim, plan)
        assert plan_costs(plan, sim.one_shot_goals) == (st["cost"], st["sum_of_costs"])
        assert solved == kpis.makespan(sim) == st["plan_length"]
        assert kpis.sum_of_costs(sim) == st["sum_of_costs"]
        plans.append(plan)
    assert np.array_equal(plans[0], plans[1])


def test_a_replan_refines_too(tmp_path: Path) -> None:
    """A displaced robot makes the navigator search again from where the robots are; that
    search refines as well (it spends its budget past its first solution)."""
    sc, src = _random(tmp_path, 8)
    nav = LaCAMNavigator(node_budget=500, refine=True)
    fleet = _fleet(sc, src, nav)
    fleet.reset(2)
    sim = fleet.sim
    fleet.step()
    free = sorted(set(range(sim.floor.n_nodes)) - set(sim.state.pos.tolist()))
    f = sim.floor
    robot, node = next(
        (r, int(v))
        for r in range(sim.n_robots)
        for v in f.nbr[sim.state.pos[r], 1:][f.mask[sim.state.pos[r], 1:]]
        if int(v) in free
    )
    sim.state.pos[robot] = node
    sim.state_changed()
    fleet.step()
    st = nav.stats
    assert st["replans"] == 1 and st["expanded"] == 1000, st
    assert st["first_iterations"] < 500 and st["cost"] <= st["first_cost"], st
    _check_plan(sim, nav.plans[-1][1])
    assert _solved_at(fleet, 100) is not None


def test_refine_comes_through_navigator_args_and_a_bad_value_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``policies.navigator_args.lacam.refine`` reaches the navigator; a value that is not
    true/false is a one-line error naming the field (exit 2, nothing written)."""
    from warehouse.policies import build_policy, resolve_policy

    sc, src = _fixed(
        tmp_path,
        AISLE,
        [(1, 4), (1, 5)],
        [(1, 5), (1, 4)],
        extra="policies: {navigator: lacam, navigator_args: {lacam: {refine: true}}}\n",
    )
    _, nav = build_policy(resolve_policy(None, sc, source=src), sc, src)
    assert isinstance(nav, LaCAMNavigator) and nav.refine is True
    monkeypatch.chdir(tmp_path)
    argv = ["run", "s.yaml", "--steps", "5", "--out", "out"]
    line = fails_cleanly(
        [*argv, "--set", "policies.navigator_args.lacam.refine=maybe"], tmp_path, capsys, ""
    )
    assert "policies.navigator_args.lacam.refine" in line, line
    with pytest.raises(ValueError, match="refine"):
        LaCAMNavigator(refine=1)  # type: ignore[arg-type]
