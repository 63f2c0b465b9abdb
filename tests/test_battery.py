"""The battery and charging model (``battery``, warehouse/core/battery.py): drain, charging,
queues, depletion, dispatchers, KPIs, recordings, bad input; off by default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from sim_helpers import place

from agents import make_navigator
from hierarchy import make_dispatcher
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import (
    BatteryConfig,
    FleetConfig,
    PhysicsConfig,
    SimConfig,
    TasksConfig,
)
from warehouse.core import Phase, Simulation
from warehouse.core.state import Charge
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.kpis import compute_kpis, energy_kwh
from warehouse.recording import EpisodeRecorder, kpis_from_recording, load_recording

WAIT, NORTH, EAST, SOUTH, WEST = 0, 1, 2, 3, 4
A, P, S = NodeKind.AISLE, NodeKind.PICK, NodeKind.STATION
#: two rows: a station and a pick location above a free row
FLOOR = np.array([[S, A, A, A, A, P], [A, A, A, A, A, A]], np.int8)
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "results_battery" / "small_battery.yaml"


def scene(robots: int = 1, **battery) -> Simulation:
    """0.5 Wh per metre and per step idle (1800 W at 1 s), 1.5 Wh per step charging."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(energy_wh_per_metre=0.5, idle_power_w=1800.0),
        battery=BatteryConfig(**{"capacity_wh": 10.0, "charge_w": 5400.0, **battery}),
    )
    sim = Simulation(compile_floor(graph_from_grid(FLOOR)), cfg)
    sim.reset(seed=0)
    return sim


def test_drain_follows_the_energy_model_and_agrees_with_energy_kwh():
    sim = scene(recharge_below=0.0, chargers=[[1, 0]])
    place(sim, (1, 1))
    s = sim.state
    for a in (EAST, EAST, WAIT, EAST):
        sim.step(np.array([a]))
    assert s.pos[0] == sim.floor.cell_of[1, 4]
    # 3 metres at 0.5 Wh and 4 steps at 0.5 Wh: exactly 3.5 Wh used
    assert s.soc_wh[0] == 10.0 - 3.5
    assert energy_kwh(sim) * 1000 == pytest.approx(10.0 - s.soc_wh[0] + s.charged_wh[0])
    assert s.soc_min_wh[0] == s.soc_wh[0] and s.charge[0] == Charge.NONE


def test_a_low_robot_goes_to_the_nearest_charger_and_charges_the_right_number_of_steps():
    sim = scene(initial_soc=0.4, recharge_below=0.5, chargers=[[1, 0], [1, 5]])
    place(sim, (1, 3))
    s, f = sim.state, sim.floor
    sim.step(np.array([WAIT]))  # 4 - 0.5 = 3.5 Wh: below 5 Wh, no task: sent to (1, 5)
    assert s.charge[0] == Charge.TO_CHARGER and s.waypoint[0] == f.cell_of[1, 5]
    assert sim.idle_robots().size == 0
    sim.step(np.array([EAST]))
    sim.step(np.array([EAST]))  # arrives with 1.5 Wh
    assert s.pos[0] == f.cell_of[1, 5] and s.charge[0] == Charge.CHARGING
    assert s.waypoint[0] == -1 and s.soc_wh[0] == 1.5
    charging = 0
    while s.charge[0] == Charge.CHARGING:
        sim.step(np.array([WEST]))  # frozen on the charger: the move is refused
        assert s.pos[0] == f.cell_of[1, 5]
        charging += 1
        assert charging < 50
    # +1 Wh net per step from 1.5 Wh: 9 steps to reach 10 Wh
    assert charging == 9 and s.soc_wh[0] == 10.0
    assert s.charged_wh[0] == 8.5 + 9 * 0.5  # to full, and the idle draw meanwhile
    np.testing.assert_array_equal(sim.idle_robots(), [0])
    kpis = compute_kpis(sim)
    assert kpis["charging_share"] == pytest.approx(11 / 12)  # 2 driving + 9 charging of 12
    assert kpis["min_soc"] == pytest.approx(0.15) and kpis["battery_depletions"] == 0
    assert energy_kwh(sim) * 1000 == pytest.approx(4.0 - s.soc_wh[0] + s.charged_wh[0])
    # full: it steps off the charger to the nearest free cell that is not one
    assert s.waypoint[0] == f.cell_of[1, 4]
    sim.step(np.array([WEST]))
    assert s.pos[0] == f.cell_of[1, 4] and s.waypoint[0] == -1


def test_two_robots_one_charger_queue_without_collision():
    sim = scene(
        robots=2, capacity_wh=100.0, initial_soc=0.45, recharge_below=0.5, chargers=[[1, 5]]
    )
    assert sim.config.physics.collisions == "block"
    place(sim, (1, 3), (1, 1))
    s = sim.state
    fleet = Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))
    charged_in_turn = []
    for _ in range(200):
        fleet.step()
        at = np.flatnonzero(s.charge == Charge.CHARGING)
        assert at.size <= 1
        if at.size and (not charged_in_turn or charged_in_turn[-1] != at[0]):
            charged_in_turn.append(int(at[0]))
        assert (s.charge == Charge.TO_CHARGER).sum() <= 1  # one claim on the one charger
    assert sim.incidents == 0
    # first come (same step: lower id) first served; then they take turns
    assert charged_in_turn[:3] == [0, 1, 0]
    assert (s.charged_wh > 0).all() and (s.depletions == 0).all()


def test_depletion_stops_the_robot_until_rescued():
    sim = scene(capacity_wh=1.0, recharge_below=0.0, chargers=[[1, 0]], rescue_s=3.0)
    place(sim, (1, 2))
    s, f = sim.state, sim.floor
    sim.step(np.array([EAST]))  # 1 - 1 = 0 Wh
    assert s.charge[0] == Charge.DEPLETED and s.soc_wh[0] == 0.0 and s.depletions[0] == 1
    assert sim.idle_robots().size == 0 and not sim.action_mask()[0, 1:].any()
    for _ in range(2):
        sim.step(np.array([EAST]))
        assert s.pos[0] == f.cell_of[1, 3] and s.soc_wh[0] == 0.0
    sim.step(np.array([EAST]))  # 3 s after the depletion: battery swapped
    assert s.charge[0] == Charge.NONE and s.soc_wh[0] == 1.0
    kpis = compute_kpis(sim)
    assert kpis["battery_depletions"] == 1 and kpis["min_soc"] == 0.0
    stays = scene(capacity_wh=1.0, recharge_below=0.0, chargers=[[1, 0]], rescue_s=None)
    for _ in range(30):
        stays.step(np.array([EAST]))
    assert stays.state.charge[0] == Charge.DEPLETED and stays.state.depletions[0] == 1


def battery_fleet(dispatcher, steps: int = 0, **overrides) -> Fleet:
    sc, src = load_scenario(EXAMPLE)
    sc = apply_overrides(sc, {"battery.capacity_wh": 40, **overrides}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    return Fleet(sim, dispatcher, make_navigator("rule_based"))


@pytest.mark.parametrize("name", ["greedy", "hungarian", "ppo"])
def test_charging_robots_are_never_dispatched(name):
    if name == "ppo":
        from hierarchy.ppo_dispatcher import make_ppo_dispatcher

        dispatcher = make_ppo_dispatcher()
    else:
        dispatcher = make_dispatcher(name)
    fleet = battery_fleet(dispatcher)
    fleet.reset(3)
    sim, s = fleet.sim, fleet.sim.state
    given = 0
    seen_charging = False
    for _ in range(700):
        before_phase, before_charge = s.phase.copy(), s.charge.copy()
        fleet.step()
        took = (before_phase == Phase.IDLE) & (s.order >= 0)
        # a robot given an order was not queued for, driving to or at a charger
        assert (before_charge[took] == Charge.NONE).all()
        given += int(took.sum())
        busy = s.charge != Charge.NONE
        seen_charging |= bool(busy.any())
        assert not np.isin(np.flatnonzero(busy), sim.idle_robots()).any()
        assert (s.phase[s.charge == Charge.CHARGING] == Phase.IDLE).all()
    assert given > 50 and seen_charging and s.charge_steps.sum() > 0


def test_assign_refuses_a_charging_robot():
    sim = scene(initial_soc=0.4, recharge_below=0.5, chargers=[[1, 5]])
    place(sim, (1, 3))
    sim.orders.add(np.array([sim.floor.cell_of[0, 5]]), np.array([sim.floor.cell_of[0, 0]]), 0)
    sim.step(np.array([WAIT]))
    with pytest.raises(ValueError, match="charging"):
        sim.assign(np.array([0]), np.array([0]))
    sim.set_waypoints(np.array([0]), np.array([sim.floor.cell_of[1, 0]]))  # parking: ignored
    assert sim.state.waypoint[0] == sim.floor.cell_of[1, 5]


def test_off_by_default_and_no_stream_shifted():
    sc, src = load_scenario("small")
    assert sc.battery.capacity_wh is None
    off = Simulation(build_floor(sc, src), sc.sim_config())
    off.reset(seed=5)
    assert off.battery is None
    kpis = compute_kpis(off)
    assert kpis["charging_share"] is None and kpis["battery_depletions"] is None
    assert kpis["min_soc"] is None
    on_sc, _ = load_scenario(EXAMPLE)
    on = Simulation(build_floor(on_sc, EXAMPLE), on_sc.sim_config())
    on.reset(seed=5)
    before, after = off.rng_states(), on.rng_states()
    for name in ("rng", "rng_orders", "rng_goals", "rng_faults", "rng_start"):
        assert before[name] == after[name]  # the drawn starting charges left these alone
    assert before["rng_battery"] != after["rng_battery"]  # (drawn from its own stream)
    np.testing.assert_array_equal(off.state.pos, on.state.pos)
    assert len(np.unique(on.state.soc_wh)) == on.n_robots


def test_replayed_kpis_equal_live_kpis(tmp_path):
    fleet = battery_fleet(make_dispatcher("greedy"), **{"battery.rescue_s": 60})
    fleet.reset(1)
    rec = EpisodeRecorder(fleet.sim, meta={"scenario": "battery", "seed": 1})
    live = []
    for _ in range(600):
        rec.capture(fleet.sim, fleet.step())
        live.append(compute_kpis(fleet.sim))
    path = rec.save(tmp_path / "run.npz")
    loaded = load_recording(path)
    assert live[-1]["charging_share"] > 0 and live[-1]["battery_depletions"] > 0
    for k in (1, 250, 600):
        assert kpis_from_recording(loaded, k) == live[k - 1]


@pytest.mark.parametrize(
    ("battery", "field", "message"),
    [
        ("{capacity_wh: 100}", "battery.chargers", "at least one charger"),
        ("{capacity_wh: 100, chargers: [[1, 4]]}", "battery.chargers[0]", "not a floor cell"),
        ("{capacity_wh: 100, chargers: [[0, 0], [40, 0]]}", "battery.chargers[1]", "outside"),
        ("{capacity_wh: 100, chargers: [[0, 3]]}", "battery.chargers[0]", "pick location"),
        ("{capacity_wh: 100, chargers: [[1, 0]]}", "battery.chargers[0]", "station"),
        ("{capacity_wh: 100, chargers: [[0, 0], [0, 0]]}", "battery.chargers[1]", "same cell"),
        ("{capacity_wh: 100, charge_w: 60, chargers: [[0, 0]]}", "battery.charge_w", "exceed"),
        ("{capacity_wh: 0, chargers: [[0, 0]]}", "battery.capacity_wh", ""),
        ("{initial_soc: 0.5, initial_soc_min: 0.6}", "battery.initial_soc_min", "initial_soc"),
        ("{chargers: [[0, 0, 1]]}", "battery.chargers[0]", "[row, col]"),
        ("{recharge_below: 0.3, opportunity_below: 0.3}", "battery.opportunity_below", "exceed"),
        ("{recharge_below: 0.3, charge_to: 0.25}", "battery.charge_to", "recharge_below"),
        ("{opportunity_below: 0.6, charge_to: 0.5}", "battery.charge_to", "opportunity_below"),
        ("{charge_to: 1.2}", "battery.charge_to", ""),
        ("{interruptible: true}", "battery.interruptible", "opportunity_below"),
    ],
)
def test_bad_battery_settings_fail_in_one_line(tmp_path, capsys, battery, field, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\nbattery: {battery}\n")
    code, out, err = run_cli(["validate", str(path)], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: {field}: ")
    assert message in lines[0]


def test_goal_visit_is_refused(tmp_path, capsys):
    path = tmp_path / "gv.yaml"
    battery = "battery: {capacity_wh: 50, chargers: [[0, 0]]}"
    path.write_text(f"name: gv\ntasks: {{mode: goal_visit}}\n{battery}\n")
    code, _, err = run_cli(["validate", str(path)], capsys)
    assert code == 2
    assert "battery.capacity_wh: the battery model needs tasks.mode pickup_delivery" in err


def test_validate_lists_the_chargers(capsys):
    code, out, _ = run_cli(["validate", str(EXAMPLE)], capsys)
    assert code == 0
    assert "battery: 150 Wh per robot, recharge below 30%" in out
    assert "battery: 6 chargers: (0, 0), (6, 0), (12, 0), (0, 58), (6, 58), (12, 58)" in out


#: a one-lane aisle from a station to a pick location, a charger in a pocket off it at (1, 3)
X = NodeKind.BLOCKED
LANE = np.array([[S, A, A, A, A, P], [X, X, X, A, X, X]], np.int8)


def lane_scene() -> Simulation:
    """Robot 0 (low) at (0, 2), sent to the charger; robot 1 (full) at (0, 1) with an order to
    pick at (0, 5): it must pass robot 0. Robot 0 holds the higher PIBT priority (it has gone
    longer without reaching a goal), as the robots driving to chargers did in the gridlocks of
    docs/results_battery.md."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=2),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(energy_wh_per_metre=0.1, idle_power_w=360.0, collisions="pibt"),
        battery=BatteryConfig(
            capacity_wh=10.0,
            charge_w=5400.0,
            initial_soc=0.4,
            recharge_below=0.5,
            chargers=[[1, 3]],
            rescue_s=None,
        ),
    )
    sim = Simulation(compile_floor(graph_from_grid(LANE)), cfg)
    sim.reset(seed=0)
    place(sim, (0, 2), (0, 1))
    s, f = sim.state, sim.floor
    s.soc_wh[1] = 10.0
    order = sim.orders.add(np.array([f.cell_of[0, 5]]), np.array([f.cell_of[0, 0]]), 0)
    sim.assign(np.array([1]), order)
    s.since_goal[0] = 1000
    return sim


def run_waiting_navigator(sim: Simulation, steps: int) -> tuple[int, int]:
    """Step with a navigator that always proposes WAIT (the learned navigator did so for robots
    driving to a charger): only the shield's stall rescue moves anyone. Returns the steps at
    which robot 0 began charging and robot 1 reached its pick location (-1: never)."""
    s, f = sim.state, sim.floor
    charging = picked = -1
    for _ in range(steps):
        sim.step(np.zeros(2, dtype=np.int64))
        if charging < 0 and s.charge[0] == Charge.CHARGING:
            charging = sim.t
        if picked < 0 and s.pos[1] == f.cell_of[0, 5]:
            picked = sim.t
    return charging, picked


def test_a_robot_driving_to_its_charger_is_moved_by_the_stall_rescue():
    sim = lane_scene()
    charging, picked = run_waiting_navigator(sim, 100)
    s = sim.state
    assert s.charged_wh[0] > 0 and s.charge_steps[0] > 0  # charged (and stepped off again)
    # sent to the charger as step 1 ends, its count begins with step 2; then one rescued move
    # per 17 steps (16 without progress, then the rescue): 2 moves to the charger, at steps
    # 18 and 35; robot 1 follows through the freed lane, 4 moves
    assert charging == 35 and 35 < picked <= 4 * 17 + 2
    assert s.depletions[0] == 0  # it reached the charger in time


def _count_tasks_only(monkeypatch) -> None:
    """Undo the kernel's count of idle robots with a waypoint (``progress_kernel`` since the
    thirty-sixth session, which covers the robots below too): only robots with a task count,
    as before, so that the tests below show what ``Battery.progress_phase`` alone adds."""
    import warehouse.core.simulation as simulation

    real = simulation.progress_kernel

    def tasks_only(slot, table, pos, phase, waypoint, *rest):
        real(slot, table, pos, phase, np.full_like(waypoint, -1), *rest)

    monkeypatch.setattr(simulation, "progress_kernel", tasks_only)


def test_without_counting_its_stall_the_robot_to_the_charger_locks_the_lane(monkeypatch):
    """The mechanism of the gridlocks: a robot driving to its charger is IDLE, so its
    ``since_progress`` stayed 0 and the stall rescue never took it over; the highest-priority
    robot there, it kept its WAIT, and the robot behind it never passed (until it ran flat)."""
    from warehouse.core.battery import Battery

    monkeypatch.setattr(Battery, "progress_phase", lambda self, s: s.phase)
    _count_tasks_only(monkeypatch)
    sim = lane_scene()
    charging, picked = run_waiting_navigator(sim, 100)
    s = sim.state
    assert charging == picked == -1
    assert s.pos[0] == sim.floor.cell_of[0, 2] and s.charge[0] == Charge.DEPLETED
    assert s.since_progress[1] > 50


def test_idle_fraction_and_parking_leave_out_robots_with_battery_business():
    from hierarchy.features import global_features
    from hierarchy.parking import parking_moves

    sim = lane_scene()
    sim.step(np.zeros(2, dtype=np.int64))
    s = sim.state
    assert s.phase[0] == Phase.IDLE and s.charge[0] == Charge.TO_CHARGER
    assert global_features(sim)[8] == 0.0  # robot 0 is IDLE, but not available
    robots, _ = parking_moves(sim, 0, np.array([sim.floor.cell_of[0, 4]]))
    assert robots.size == 0  # nor sent parking (set_waypoints would refuse it anyway)


#: the one-lane aisle with the charger at (1, 3) in a nook of two cells: it has two neighbours
NOOK = np.array([[S, A, A, A, A, P], [X, X, X, A, A, X]], np.int8)


def charger_queue_scene() -> Simulation:
    """Robot 0 on the charger at (1, 3), robot 1 at (0, 5) in the one-lane aisle,
    both low: robot 0 takes the charger it stands on, robot 1 queues for it. Idle robots draw
    little (0.01 Wh a step), so the full robot 0 stays above the threshold for 500 steps."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=2),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(energy_wh_per_metre=0.1, idle_power_w=36.0, collisions="pibt"),
        battery=BatteryConfig(
            capacity_wh=10.0,
            charge_w=5400.0,
            initial_soc=0.45,
            recharge_below=0.5,
            chargers=[[1, 3]],
            rescue_s=None,
        ),
    )
    sim = Simulation(compile_floor(graph_from_grid(NOOK)), cfg)
    sim.reset(seed=0)
    place(sim, (1, 3), (0, 5))
    return sim


def run_queue(sim: Simulation, steps: int) -> tuple[int, int]:
    """Always WAIT; returns the steps at which robot 0 left the charger and robot 1 began
    charging (-1: never)."""
    s, f = sim.state, sim.floor
    left = charging = -1
    for _ in range(steps):
        sim.step(np.zeros(2, dtype=np.int64))
        if left < 0 and s.pos[0] != f.cell_of[1, 3]:
            left = sim.t
        if charging < 0 and s.charge[1] == Charge.CHARGING:
            charging = sim.t
    return left, charging


def test_a_full_robot_steps_off_its_charger_though_its_navigator_waits():
    sim = charger_queue_scene()
    s = sim.state
    sim.step(np.zeros(2, dtype=np.int64))
    assert s.charge[0] == Charge.CHARGING and s.charge[1] == Charge.QUEUED
    left, charging = run_queue(sim, 100)
    # full after 4 charging steps, then 16 steps without progress and the rescue's move
    assert 0 < left <= 4 + 17 + 1
    assert s.since_progress[0] == 0 and s.phase[0] == Phase.IDLE  # off it: plain idle again
    # robot 1 is handed the freed charger and the rescue takes it there (3 moves)
    assert left < charging <= left + 3 * 17 + 1
    assert s.charged_wh[1] > 0 and s.depletions.sum() == 0


def test_without_counting_its_stall_the_full_robot_blocks_its_charger(monkeypatch):
    """The gap this closes: a robot charged full is IDLE with a waypoint off the charger, its
    ``since_progress`` stayed 0, so a navigator that waits left it on the charger for good and
    the robot queued behind it waited (until it ran flat)."""
    from warehouse.core.battery import Battery

    def old(self, s):
        return np.where(s.charge == Charge.TO_CHARGER, np.int8(Phase.TO_PICK), s.phase)

    monkeypatch.setattr(Battery, "progress_phase", old)
    _count_tasks_only(monkeypatch)
    sim = charger_queue_scene()
    left, charging = run_queue(sim, 300)
    s = sim.state
    assert left == charging == -1
    assert s.pos[0] == sim.floor.cell_of[1, 3] and s.charge[0] == Charge.NONE
    assert s.charge[1] == Charge.QUEUED and s.since_progress[0] == 0
