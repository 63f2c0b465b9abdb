"""Fleet KPIs: each a pure function of the simulation state, with stable names.

=================================  ============================================================
name                               definition (unit)
=================================  ============================================================
``deliveries``                     orders delivered (goal_visit: goals reached)
``throughput_per_hour``            deliveries per hour of simulated time (1/h)
``throughput_per_step``            deliveries per step
``collisions``                     collision incidents: vertex-conflict nodes + swapping pairs
``collisions_per_1k_robot_steps``  collisions × 1000 / (robots × steps)
``shield_interventions``           robot-steps in which the shield changed the proposed action
``cycle_time_p50``                 median order arrival → delivery time, delivered orders (s)
``cycle_time_p95``                 95th percentile of the same (s); both interpolate linearly
                                   between the closest ranks (``numpy.percentile``'s default)
``utilization``                    share of robot-steps spent with a task, the step that ends
                                   one included (0..1): in ``pickup_delivery`` the sum of the
                                   three phase shares below; one-shot runs leave out the steps
                                   a robot began holding its goal (its task done)
``empty_travel_share``             share of robot-steps spent driving to a pick (0..1)
``loaded_travel_share``            share of robot-steps spent carrying an order to its station
``handling_share``                 share of robot-steps spent picking or dropping
``blocked_share``                  share of robot-steps spent driving (to a pick, station or
                                   goal) without moving: traffic, a waiting navigator, a
                                   breakdown. Part of the two travel shares
``breakdowns``                     breakdown events (``faults.breakdown_prob``) in the run
``breakdown_share``                share of robot-steps begun broken down (0..1): the robot-time
                                   breakdowns cost. Overlaps the phase shares (a robot keeps
                                   its task while broken down) and ``blocked_share``
``charging_share``                 share of robot-steps begun queued for, driving to or at a
                                   charger (0..1; ``battery``): the robot-time charging costs.
                                   ``None`` without the battery model
``battery_depletions``             times a robot's charge reached 0 (it stops until rescued:
                                   ``battery.rescue_s``); ``None`` without the battery model
``min_soc``                        lowest state of charge any robot reached (fraction of
                                   capacity); ``None`` without the battery model
``distance_m``                     metres travelled by the whole fleet (m)
``energy_kwh``                     distance × ``physics.energy_wh_per_metre`` + robots × simulated
                                   time × ``physics.idle_power_w`` (kWh)
``stuck_robots``                   robots with a task and no progress towards its target for
                                   ``physics.stuck_after`` steps, at the end of the run (an idle
                                   robot driving to a sub-goal counts as one with a task, and so
                                   does one driving to or stepping off its charger:
                                   ``Battery.progress_phase``)
``stuck_robot_share``              share of robot-steps that ended with the robot stuck, as
                                   ``stuck_robots`` counts it after every step (0..1): the
                                   robot-time stuck over the whole run, where ``stuck_robots``
                                   is its last step alone
``jammed_robots``                  the same for ``physics.jam_after`` steps (300 by default):
                                   robots a jam holds, not traffic. A run that ends with a
                                   quarter of its fleet jammed is gridlocked (warehouse.report)
``oldest_open_order_s``            age of the oldest order still waiting for a robot at the end
                                   (s; 0 when none waits): the backlog's starvation, which
                                   cycle times over *delivered* orders do not show
``orders_arrived``                 orders that arrived during the run (the demand), lost ones
                                   included
``orders_lost``                    arrivals dropped because ``tasks.max_open_orders`` were open
``solved``                         one-shot MAPF (``tasks.assignment: one_shot``; ``None``
                                   otherwise, as the four below): 1 if every robot stands on
                                   its goal at the end of the run, else 0 (POGEMA's CSR)
``on_goal_share``                  share of robots on their goal at the end (POGEMA's ISR)
``makespan``                       when solved, the first step from which every robot stayed on
                                   its goal to the end (steps); else ``None``
``sum_of_costs``                   when solved, the sum over robots of the first step from which
                                   it stayed on its goal to the end (0 for a robot that never
                                   left a goal it started on; one pushed off and back counts
                                   its last arrival); else ``None``
``sum_of_costs_lb``                the sum over robots of the shortest path's steps from start
                                   to goal on the floor (closures aside): the usual lower bound,
                                   so ``sum_of_costs / sum_of_costs_lb`` is the suboptimality
                                   (``None`` when a goal cannot be reached)
``steps``, ``robots``              run length (steps) and fleet size
=================================  ============================================================

Cycle times are ``None`` when nothing was delivered, and they, ``oldest_open_order_s`` and the
order shares (empty travel, loaded travel, handling) are ``None`` in goal_visit mode, which has
no orders, so reports stay valid JSON. The time shares count each robot-step by what the robot
was doing when the step began; the robot-steps they leave out were idle. Loaded travel
and handling are set mostly by the orders served, so at saturation the empty travel and the
blocked steps are most of what a dispatcher or a navigator can win (docs/results.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .core.state import Phase

if TYPE_CHECKING:
    from .config import PhysicsConfig, TasksConfig
    from .core import Simulation

KPI_NAMES = (
    "deliveries",
    "throughput_per_hour",
    "throughput_per_step",
    "collisions",
    "collisions_per_1k_robot_steps",
    "shield_interventions",
    "cycle_time_p50",
    "cycle_time_p95",
    "utilization",
    "empty_travel_share",
    "loaded_travel_share",
    "handling_share",
    "blocked_share",
    "breakdowns",
    "breakdown_share",
    "charging_share",
    "battery_depletions",
    "min_soc",
    "distance_m",
    "energy_kwh",
    "stuck_robots",
    "stuck_robot_share",
    "jammed_robots",
    "oldest_open_order_s",
    "orders_arrived",
    "orders_lost",
    "solved",
    "on_goal_share",
    "makespan",
    "sum_of_costs",
    "sum_of_costs_lb",
    "steps",
    "robots",
)

#: The one-shot MAPF KPIs, ``None`` unless ``tasks.assignment`` is ``one_shot``.
ONE_SHOT_KPIS = ("solved", "on_goal_share", "makespan", "sum_of_costs", "sum_of_costs_lb")


def deliveries(sim: Simulation) -> int:
    return int(sim.state.deliveries.sum())


def throughput_per_step(sim: Simulation) -> float:
    return deliveries(sim) / sim.t if sim.t else 0.0


def throughput_per_hour(sim: Simulation) -> float:
    return deliveries(sim) * 3600.0 / sim.seconds if sim.t else 0.0


def collisions(sim: Simulation) -> int:
    return int(sim.incidents)


def collisions_per_1k_robot_steps(sim: Simulation) -> float:
    robot_steps = sim.n_robots * sim.t
    return 1000.0 * sim.incidents / robot_steps if robot_steps else 0.0


def shield_interventions(sim: Simulation) -> int:
    return int(sim.state.interventions.sum())


def cycle_times_s(sim: Simulation) -> np.ndarray:
    """Arrival → delivery of every delivered order, seconds."""
    ob = sim.orders
    done = ob.delivered_ids()
    return (ob.delivered[done] - ob.arrival[done]) * sim.config.physics.step_seconds


def _percentile(sim: Simulation, q: float) -> float | None:
    ct = cycle_times_s(sim)
    return float(np.percentile(ct, q)) if ct.size else None


def cycle_time_p50(sim: Simulation) -> float | None:
    return _percentile(sim, 50)


def cycle_time_p95(sim: Simulation) -> float | None:
    return _percentile(sim, 95)


def utilization(sim: Simulation) -> float:
    robot_steps = sim.n_robots * sim.t
    return float(sim.state.busy_steps.sum()) / robot_steps if robot_steps else 0.0


def _phase_share(sim: Simulation, *phases: Phase) -> float | None:
    if sim.config.tasks.mode == "goal_visit":
        return None
    robot_steps = sim.n_robots * sim.t
    counted = int(sim.state.phase_steps[list(phases)].sum())
    return counted / robot_steps if robot_steps else 0.0


def empty_travel_share(sim: Simulation) -> float | None:
    return _phase_share(sim, Phase.TO_PICK)


def loaded_travel_share(sim: Simulation) -> float | None:
    return _phase_share(sim, Phase.TO_DROP)


def handling_share(sim: Simulation) -> float | None:
    return _phase_share(sim, Phase.PICKING, Phase.DROPPING)


def blocked_share(sim: Simulation) -> float:
    robot_steps = sim.n_robots * sim.t
    return float(sim.state.blocked_steps[0]) / robot_steps if robot_steps else 0.0


def breakdowns(sim: Simulation) -> int:
    return int(sim.state.breakdowns.sum())


def breakdown_share(sim: Simulation) -> float:
    """Robot-steps begun broken down over all robot-steps: a breakdown of ``breakdown_steps``
    steps costs that many robot-steps (fewer when the run ends first)."""
    robot_steps = sim.n_robots * sim.t
    return float(sim.state.broken_steps.sum()) / robot_steps if robot_steps else 0.0


def charging_share(sim: Simulation) -> float | None:
    """Robot-steps begun queued for, driving to or at a charger over all robot-steps."""
    if sim.config.battery.capacity_wh is None:
        return None
    robot_steps = sim.n_robots * sim.t
    return float(sim.state.charge_steps.sum()) / robot_steps if robot_steps else 0.0


def battery_depletions(sim: Simulation) -> int | None:
    if sim.config.battery.capacity_wh is None:
        return None
    return int(sim.state.depletions.sum())


def min_soc(sim: Simulation) -> float | None:
    capacity = sim.config.battery.capacity_wh
    if capacity is None:
        return None
    low = sim.state.soc_min_wh
    return float(low.min()) / capacity if low.size else None


def distance_m(sim: Simulation) -> float:
    return float(sim.state.distance_m.sum())


def energy_kwh(sim: Simulation) -> float:
    p = sim.config.physics
    drive_wh = distance_m(sim) * p.energy_wh_per_metre
    base_wh = sim.n_robots * sim.seconds * p.idle_power_w / 3600.0
    return (drive_wh + base_wh) / 1000.0


def stalled(since_progress: np.ndarray, physics: PhysicsConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(stuck, jammed)`` bool per entry of ``since_progress`` (steps driving to a target and
    no progress, any shape): at least ``physics.stuck_after`` steps, and ``physics.jam_after``;
    the rule of :func:`stuck_robots` and :func:`jammed_robots` (and of the viewer's marks)."""
    return since_progress >= physics.stuck_after, since_progress >= physics.jam_after


def stuck_robots(sim: Simulation) -> int:
    return int(stalled(sim.state.since_progress, sim.config.physics)[0].sum())


def stuck_robot_share(sim: Simulation) -> float:
    """Robot-steps that ended stuck (:func:`stuck_robots`, counted after every step) over all
    robot-steps: ``stuck_robots / robots`` averaged over the steps."""
    robot_steps = sim.n_robots * sim.t
    return float(sim.state.stuck_steps.sum()) / robot_steps if robot_steps else 0.0


def jammed_robots(sim: Simulation) -> int:
    return int(stalled(sim.state.since_progress, sim.config.physics)[1].sum())


def oldest_open_order_s(sim: Simulation) -> float | None:
    if sim.config.tasks.mode == "goal_visit":
        return None
    ob = sim.orders
    if ob.open_ids.size == 0:
        return 0.0
    # open_ids are oldest first, but stay correct for any order
    age = sim.t - int(ob.arrival[ob.open_ids].min())
    return float(age * sim.config.physics.step_seconds)


def orders_arrived(sim: Simulation) -> int:
    """Orders that arrived during the run (the demand), those lost to the backlog cap too."""
    return int(sim.orders.count + sim.orders.lost)


def orders_lost(sim: Simulation) -> int:
    return int(sim.orders.lost)


def is_one_shot(tasks: TasksConfig) -> bool:
    """Whether runs of the ``tasks`` settings are one-shot MAPF instances, the runs that define
    :data:`ONE_SHOT_KPIS` (``tasks.assignment: one_shot``)."""
    return tasks.assignment == "one_shot" and tasks.mode == "goal_visit"


def _one_shot(sim: Simulation) -> np.ndarray | None:
    """Per robot, the clock since which it has stood on its goal (-1: off it); None unless the
    run is a one-shot MAPF instance."""
    if not is_one_shot(sim.config.tasks):
        return None
    return sim.state.goal_since


def solved(sim: Simulation) -> int | None:
    """1 if every robot stands on its goal now (a one-shot instance solved: the core's rule,
    :meth:`Simulation.solved`), else 0."""
    return None if _one_shot(sim) is None else int(bool(sim.solved()))


def on_goal_share(sim: Simulation) -> float | None:
    since = _one_shot(sim)
    if since is None:
        return None
    return float(np.count_nonzero(since >= 0)) / since.size if since.size else 0.0


def makespan(sim: Simulation) -> int | None:
    """The first step from which every robot stayed on its goal to now; None unless solved."""
    since = _one_shot(sim)
    if since is None or not solved(sim):
        return None
    return int(since.max()) if since.size else 0


def sum_of_costs(sim: Simulation) -> int | None:
    """Sum over robots of the first step from which each stayed on its goal to now; None
    unless solved."""
    since = _one_shot(sim)
    if since is None or not solved(sim):
        return None
    return int(since.sum())


def sum_of_costs_lb(sim: Simulation) -> int | None:
    """Sum over robots of the steps of a shortest path from start to goal (closures aside)."""
    return None if _one_shot(sim) is None else sim.sum_of_costs_lb


def steps(sim: Simulation) -> int:
    return int(sim.t)


def robots(sim: Simulation) -> int:
    return int(sim.n_robots)


KPI_FUNCTIONS = {name: globals()[name] for name in KPI_NAMES}


def compute_kpis(sim: Simulation) -> dict[str, float | int | None]:
    """Every KPI of :data:`KPI_NAMES`, in that order."""
    return {name: fn(sim) for name, fn in KPI_FUNCTIONS.items()}
