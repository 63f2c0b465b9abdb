"""The ``pibt_swap`` shield: PIBT plus LaCAM*'s swap, which lets robots pass in dead ends."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from swap_scenes import WAIT, E, N, W, at, dist_table, first_arrivals, grid_floor, shielded_step
from test_pibt import check_safe

import warehouse
from agents import RuleBasedNavigator
from hierarchy import GreedyDispatcher
from warehouse.core.physics import resolve_physical
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.kpis import compute_kpis
from warehouse.shield import make_shield
from warehouse.shield.pibt import PIBTShield
from warehouse.shield.pibt_swap import PIBTSwapShield
from warehouse.validate import validate_trajectory


class MiniSim:
    """The parts of a Simulation the shields read, with fixed targets (``-1``: none) and a
    greedy shortest-path navigator, stepped by hand."""

    closures_possible = False  # no cell ever closes (the swap reads the floor's moves)

    def __init__(self, floor, pos, target, since_goal, frozen=()):
        self.floor = floor
        n = len(pos)
        target = np.asarray(target, dtype=np.int32)
        slot = np.where(target >= 0, np.arange(n), -1).astype(np.int64)
        self.dist = SimpleNamespace(table=dist_table(floor, np.maximum(target, 0)))
        self._targets = (target, slot)
        self.state = SimpleNamespace(
            pos=np.asarray(pos, dtype=np.int32),
            target=target,
            since_goal=np.asarray(since_goal, dtype=np.int32),
            since_progress=np.zeros(n, np.int32),
        )
        self.frozen = np.zeros(n, bool)
        self.frozen[list(frozen)] = True

    def target_slots(self):
        return self._targets

    def mask(self) -> np.ndarray:
        mask = self.floor.mask[self.state.pos].copy()
        mask[self.frozen, 1:] = False
        return mask

    def greedy(self):
        """Proposals and preferences: the move that gets closest to the target, WAIT last
        among equals; robots without a target prefer WAIT."""
        target, slot = self._targets
        d = self.dist.table[np.maximum(slot, 0)[:, None], self.floor.nbr[self.state.pos]]
        score = -d.astype(np.float64)
        score[:, 0] -= 0.5
        score[target < 0] = 0.0
        score[target < 0, 0] = 1.0
        score = np.where(self.mask(), score, -np.inf)
        return score.argmax(axis=1), score

    def step(self, shield):
        """One step: returns the joint action after checking it is safe and allowed."""
        actions, prefs = self.greedy()
        mask = self.mask()
        out = shielded_step(self, shield, actions, prefs, mask)
        return out


# ---------------------------------------------------------------- a station in a dead end
#: a one-cell spur (the station, below column 1) off a short aisle
SPUR = ["....", "#.##"]


def spur_case(frozen=()):
    f = grid_floor(SPUR)
    station, mouth, out = at(f, 1, 1), at(f, 0, 1), at(f, 0, 3)
    # robot 0 waits at the mouth to enter the station, robot 1 leaves it for the east end;
    # robot 0 has waited longer (higher priority)
    return f, MiniSim(f, [mouth, station], [station, out], [10, 0], frozen=frozen)


def test_plain_pibt_locks_at_a_dead_end_and_swap_gets_both_through():
    f, sim = spur_case()
    first = first_arrivals(sim, PIBTShield(), 200)
    assert (first < 0).all(), "plain PIBT was expected to lock (robot 0 outranks robot 1)"
    assert sim.state.pos.tolist() == [at(f, 0, 1), at(f, 1, 1)]  # neither has moved

    f, sim = spur_case()
    first = first_arrivals(sim, PIBTSwapShield(), 10)
    assert (first > 0).all() and first.max() <= 6, first
    # the swap itself: robot 0 backs off (west: the east side is where robot 1 goes next and
    # both are equally far from the station) and pulls robot 1 out of the station
    f, sim = spur_case()
    out = sim.step(PIBTSwapShield())
    assert out[1] == N and out[0] in (W, E)


def test_a_frozen_robot_in_the_dead_end_is_never_pulled():
    f, sim = spur_case(frozen=[1])
    for _ in range(30):
        out = sim.step(PIBTSwapShield())
        assert out[1] == WAIT
    assert sim.state.pos[1] == at(f, 1, 1)


def test_no_swap_when_the_partner_does_not_want_out():
    """Robot 1 stands on its own target in the dead end: robot 0 must not pull it out."""
    f = grid_floor(SPUR)
    station, mouth = at(f, 1, 1), at(f, 0, 1)
    sim = MiniSim(f, [mouth, station], [station, station], [10, 0])
    for _ in range(20):
        out = sim.step(PIBTSwapShield())
        assert out[1] == WAIT


def test_no_swap_where_the_line_goes_on_past_the_pushers_target():
    """Robot 0 heads for (0, 3) through robot 1, which wants back past robot 0, and there is
    room to back off behind robot 0. LaCAM* swaps there (its pusher would stay on its goal for
    good); here the line goes on past (0, 3) round a ring, so robot 1 is pushed on instead, as
    under plain PIBT, and both get through."""
    f = grid_floor([".....", "..##.", "....."])  # a ring with room to back off at (0, 1)

    def sim():
        return MiniSim(f, [at(f, 0, 1), at(f, 0, 2)], [at(f, 0, 3), at(f, 2, 0)], [10, 0])

    s = sim()
    out = s.step(PIBTSwapShield())
    assert out.tolist() == [E, E]  # no back-off: robot 0 goes on and pushes robot 1 on
    np.testing.assert_array_equal(out, sim().step(PIBTShield()))
    first = first_arrivals(sim(), PIBTSwapShield(), 20)
    assert (first > 0).all(), first


# ---------------------------------------------------------------- one-way aisles
#: a ring: row 0 eastbound, row 3 westbound, the end columns two-way; (1, 2) is a dead end
#: below (0, 2)
RING = [".....", ".#.#.", ".###.", "....."]


def test_on_a_one_way_aisle_the_pusher_backs_off_only_the_allowed_way():
    f = grid_floor(RING, row_dirs={0: 1, 3: -1})
    mouth, spur, exit_ = at(f, 0, 2), at(f, 1, 2), at(f, 3, 2)
    assert not f.mask[mouth, W]  # row 0 is eastbound: no backing off west
    sim = MiniSim(f, [mouth, spur], [spur, exit_], [10, 0])
    out = sim.step(PIBTSwapShield())
    assert out.tolist() == [E, N]  # robot 0 goes on east (round the ring), robot 1 comes out
    first = first_arrivals(sim, PIBTSwapShield(), 40)
    assert (first > 0).all(), first


def test_no_swap_through_a_forbidden_reverse_move():
    """Robot 0 wants robot 1's node, robot 1's way on is blocked by a busy robot and its target
    is robot 0's node: a swap would be required and there is room to back off, but robot 1
    would have to move west on an eastbound row. So no swap: the same answer as plain PIBT."""
    f = grid_floor(["....", "..#.", "...."], row_dirs={0: 1, 2: -1})
    p, v, busy = at(f, 0, 1), at(f, 0, 2), at(f, 0, 3)
    assert not f.mask[v, W]

    def sim():
        return MiniSim(f, [p, v, busy], [v, p, busy], [10, 0, 0], frozen=[2])

    s = sim()
    actions, prefs = s.greedy()
    mask = s.mask()
    out = PIBTSwapShield()(s, actions, prefs, mask)
    check_safe(f, s.state.pos, out, mask)
    assert out[1] == WAIT and out[2] == WAIT
    s = sim()
    np.testing.assert_array_equal(out, PIBTShield()(s, actions, prefs, mask))


# ---------------------------------------------------------------- random floors
def random_case(rng):
    """A small floor with blocked cells and one-way rows/columns, robots with random targets
    (some idle, some frozen), greedy proposals that are sometimes replaced by random ones."""
    while True:
        h, w = int(rng.integers(1, 5)), int(rng.integers(2, 7))
        kinds = np.where(rng.random((h, w)) < 0.3, NodeKind.BLOCKED, NodeKind.AISLE)
        kinds[0, 0] = NodeKind.AISLE
        pick = [0, 0, 1, -1]
        rows = {r: d for r in range(h) if (d := pick[rng.integers(4)])}
        cols = {c: d for c in range(w) if (d := pick[rng.integers(4)])}
        try:
            floor = compile_floor(graph_from_grid(kinds, row_directions=rows, col_directions=cols))
        except InputError:  # a floor the rules refuse; any other error is a failure
            continue
        if floor.n_nodes >= 2:
            break
    n = int(rng.integers(2, min(floor.n_nodes, 10) + 1))
    pos = rng.permutation(floor.n_nodes)[:n]
    target = rng.integers(0, floor.n_nodes, n)
    target[rng.random(n) < 0.15] = -1
    frozen = np.flatnonzero(rng.random(n) < 0.15)
    sim = MiniSim(floor, pos, target, rng.integers(0, 20, n), frozen=frozen)
    actions, prefs = sim.greedy()
    mask = sim.mask()
    noisy = rng.random(n) < 0.3
    for i in np.flatnonzero(noisy):
        actions[i] = rng.choice(np.flatnonzero(mask[i]))
    return floor, sim, actions, prefs, mask


def test_random_floors_swap_is_safe_follows_the_mask_and_keeps_frozen_robots():
    rng = np.random.default_rng(7)
    changed = 0
    for _ in range(2000):
        floor, sim, actions, prefs, mask = random_case(rng)
        pos = sim.state.pos
        out = PIBTSwapShield()(sim, actions, prefs, mask)
        check_safe(floor, pos, out, mask)
        assert (out[sim.frozen] == WAIT).all()
        target = floor.nbr[pos, actions]
        res = resolve_physical(pos, target, floor.n_nodes)
        if not res.failed.any():
            np.testing.assert_array_equal(out, actions)  # nothing to fix: unchanged
        movers_ok = ~res.failed & (target != pos)
        np.testing.assert_array_equal(out[movers_ok], actions[movers_ok])
        changed += int(not np.array_equal(out, PIBTShield()(sim, actions, prefs, mask)))
    # 14 of 2000: the swap fires only where the line ahead of the pusher ends (30 when it also
    # fired where the pusher's target lay in a line that goes on)
    assert changed >= 10, f"the swap changed only {changed} of 2000 joint moves"


def test_a_shield_reused_from_step_to_step_decides_like_a_fresh_one():
    """The node-sized work arrays are kept between calls (PIBTScratch): each call must leave
    them all -1, whatever the search wrote (pushes, backtracks, swaps, pulls)."""
    rng = np.random.default_rng(11)
    kept = {PIBTShield: PIBTShield(), PIBTSwapShield: PIBTSwapShield()}
    for _ in range(1000):
        floor, sim, actions, prefs, mask = random_case(rng)
        for cls, shield in kept.items():
            out = shield(sim, actions, prefs, mask)
            np.testing.assert_array_equal(out, cls()(sim, actions, prefs, mask))
            sc = shield.scratch(floor.n_nodes, actions.size)
            assert (sc.occ == -1).all() and (sc.res == -1).all()


# ---------------------------------------------------------------- the simulation
SPUR_FLOOR = "#.pppp..\nS.####..\n#.pppp..\nS.......\n#.pppp..\nS.####..\n#.pppp..\n"


@pytest.fixture
def spur_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "spur.yaml"
    text = SPUR_FLOOR.replace("\n", "\\n")
    path.write_text(f'layout: {{type: ascii, map: "{text}"}}\nfleet: {{robots: 4}}\n')
    return path


def run_fleet(path: Path, mode: str, seed: int, steps: int):
    env = warehouse.make_env(path, collisions=mode)
    sim = env.sim
    fleet = Fleet(sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(seed)
    traj = [sim.state.pos.copy()]
    for _ in range(steps):
        fleet.step()
        traj.append(sim.state.pos.copy())
    return sim, np.stack(traj)


def test_station_spurs_lock_pibt_but_not_pibt_swap(spur_scenario: Path):
    """The floor of tests/test_floor_checks.py: one-cell station spurs. Under plain PIBT the
    rule-based fleet locks at a spur for good (no robot moves over the last 300 steps: every
    robot counts as jammed); under pibt_swap it keeps delivering, with no incident and a valid
    trajectory."""
    swap, traj = run_fleet(spur_scenario, "pibt_swap", 0, 600)
    plain, plain_traj = run_fleet(spur_scenario, "pibt", 0, 600)
    assert swap.incidents == 0
    assert validate_trajectory(swap.floor.graph, traj, swap.floor.nodes) == []
    k_swap, k_plain = compute_kpis(swap), compute_kpis(plain)
    assert (plain_traj[-300:] == plain_traj[-1]).all()
    assert k_plain["jammed_robots"] == 4 and k_swap["jammed_robots"] == 0
    assert k_swap["deliveries"] > 2 * k_plain["deliveries"]


def test_same_seed_same_trajectory(spur_scenario: Path):
    _, a = run_fleet(spur_scenario, "pibt_swap", 3, 200)
    _, b = run_fleet(spur_scenario, "pibt_swap", 3, 200)
    np.testing.assert_array_equal(a, b)


def test_registered_as_a_collision_mode_and_runs_the_pibt_network():
    """``--collisions pibt_swap`` is a collision mode; the hierarchy's navigator runs the network
    fine-tuned under PIBT there, as under ``pibt`` (not the offline one)."""
    from agents import make_navigator

    shield = make_shield("pibt_swap")
    assert isinstance(shield, PIBTSwapShield) and shield.name == "pibt_swap"
    nav = make_navigator("cql_tuned")
    assert nav.policy_for("pibt_swap") is nav.policy_for("pibt")
    assert nav.policy_for("pibt_swap") is not nav.policy_for("block")
