"""Robot inspector: everything the viewer shows about one robot, as plain data.

:func:`inspect_robot` reads a :class:`~visualize.frame.Frame` and returns a
:class:`RobotInspection` (task, sub-goal, planned path, the observation window the robot sees
now, the preferences and actions of the step that led to the frame, and what the shield
changed). The drawing code (:mod:`visualize.draw`) only formats this data, so it is testable
without pygame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from warehouse.core import CHANNEL_NAMES, N_CHANNELS, Observer, Phase
from warehouse.floor import ACTION_NAMES, UNREACHABLE, CompiledFloor

from .frame import Frame, path_cells, plan_paths
from .palette import CHARGE_NAMES, STATE_NAMES, robot_states

MAX_PATH = 400


@dataclass(frozen=True)
class RobotInspection:
    """Inspector data of one robot at one frame."""

    robot: int
    t: int
    state: str  #: display state (palette names)
    phase: str  #: core phase name
    broken: int  #: steps left broken down
    timer: int  #: steps left picking / dropping
    node: int
    cell: tuple[int, int]
    order: int  #: -1 none
    task_goal: tuple[int, int] | None
    waypoint: tuple[int, int] | None  #: dispatcher sub-goal
    target: tuple[int, int] | None  #: where it drives now (waypoint, else task goal)
    steps_to_target: int | None
    path: np.ndarray  #: (k, 2) planned cells from the robot to its target
    window: np.ndarray  #: (channels, side, side) what it sees now
    channel_names: tuple[str, ...]
    action_names: tuple[str, ...]
    preferences: np.ndarray | None  #: (A,) scores of the last decision (higher is better)
    mask: np.ndarray | None  #: (A,) allowed actions at the last decision
    proposed: int | None  #: navigator action of the last step
    executed: int | None  #: action after the shield
    intervened: bool = False
    collided: bool = False
    since_progress: int = 0  #: steps with a task and no progress towards its target
    stall_note: str = ""  #: " (stuck)" or " (jammed)" past physics.stuck_after / jam_after
    soc: float | None = None  #: state of charge, a fraction of capacity (None: no battery model)
    soc_wh: float | None = None  #: charge left, Wh
    battery: str = ""  #: battery state (palette.CHARGE_NAMES): "none", "queued", ... "depleted"
    closed_note: str = ""  #: what closed cells (faults) do to this robot, if anything
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def shield_note(self) -> str:
        """One line on what the shield did in the last step."""
        if self.executed is None:
            return "no step yet"
        names = self.action_names
        if self.intervened and self.proposed is not None:
            return f"shield: {names[self.proposed]} -> {names[self.executed]}"
        return f"shield: kept {names[self.executed]}"

    @property
    def battery_note(self) -> str:
        """One line on the robot's battery ("" with the battery model off)."""
        if self.soc is None:
            return ""
        state = "" if self.battery == "none" else f"   {self.battery}"
        return f"battery {self.soc:.0%} ({self.soc_wh:.1f} Wh){state}"


def action_names(floor: CompiledFloor) -> tuple[str, ...]:
    if floor.is_grid:
        return ACTION_NAMES[: floor.n_actions]
    return ("wait", *(f"slot {k}" for k in range(1, floor.n_actions)))


class _ObserverCache:
    """One :class:`Observer` per floor (its window tables are the expensive part), pointed at
    the frame's simulation (live, or a recording's read-only stand-in) when asked. Its window
    is the navigator's (:attr:`Frame.observation_config`: a learned one brings its radius)."""

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._obs: Observer | None = None

    def window(self, frame: Frame, robot: int) -> np.ndarray:
        sim = frame.sim
        layout = frame.observation_config
        key = (id(frame.floor), int(layout.radius))
        if self._obs is None or self._key != key:
            # the window channels come first whether or not the intent channels follow
            self._obs = Observer(sim, layout.model_copy(update={"intent": False}))
            self._key = key
        obs = self._obs
        obs.sim = sim  # the observer only reads the simulation
        side = 2 * key[1] + 1
        full = obs()
        return full[robot, : N_CHANNELS * side * side].reshape(N_CHANNELS, side, side)


_OBSERVERS = _ObserverCache()


def _cell(floor: CompiledFloor, node: int) -> tuple[int, int] | None:
    if node < 0:
        return None
    r, c = floor.pos[node]
    return int(r), int(c)


def inspect_robot(frame: Frame, robot: int) -> RobotInspection:
    """Inspector data for ``robot`` at ``frame`` (see :class:`RobotInspection`)."""
    f = frame.floor
    if not 0 <= robot < frame.n_robots:
        raise IndexError(f"robot {robot} outside 0..{frame.n_robots - 1}")
    node = int(frame.pos[robot])
    target = int(frame.target[robot])
    steps = None
    path = f.pos[[node]]
    if target >= 0:
        d = int(frame.dist.lookup(np.array([target]), np.array([node]))[0])
        steps = None if d >= UNREACHABLE else d
        length = min(MAX_PATH, d if steps else 0)
        route = plan_paths(
            f, frame.dist, np.array([node]), np.array([target]), length, sim=frame.sim
        )[0]
        path = path_cells(f, route)
    st = frame.step
    prefs = mask = None
    proposed = executed = None
    intervened = collided = False
    if st is not None:
        executed = int(st.actions[robot])
        proposed = None if st.proposed is None else int(st.proposed[robot])
        prefs = None if st.preferences is None else np.asarray(st.preferences[robot], float)
        mask = None if st.mask is None else np.asarray(st.mask[robot], bool)
        intervened = bool(st.intervened[robot]) if st.intervened is not None else False
        collided = bool(st.collided[robot]) if st.collided is not None else False
    state = robot_states(frame.shown_phase[robot : robot + 1], frame.broken[robot : robot + 1])[0]
    stuck, jammed = (bool(flag[robot]) for flag in frame.stalled())
    battery: dict[str, Any] = {}
    if frame.battery:
        assert frame.soc_wh is not None and frame.charge is not None
        battery = {
            "soc": float(frame.soc[robot]),
            "soc_wh": float(frame.soc_wh[robot]),
            "battery": CHARGE_NAMES[int(frame.charge[robot])],
        }
    return RobotInspection(
        robot=int(robot),
        t=frame.t,
        state=STATE_NAMES[int(state)],
        phase=Phase(int(frame.phase[robot])).name.lower(),
        broken=int(frame.broken[robot]),
        timer=int(frame.timer[robot]),
        node=node,
        cell=_cell(f, node),  # type: ignore[arg-type]
        order=int(frame.order[robot]),
        task_goal=_cell(f, int(frame.task_goal[robot])),
        waypoint=_cell(f, int(frame.waypoint[robot])),
        target=_cell(f, target),
        steps_to_target=steps,
        path=path,
        window=_OBSERVERS.window(frame, robot),
        channel_names=CHANNEL_NAMES,
        action_names=action_names(f),
        preferences=prefs,
        mask=mask,
        proposed=proposed,
        executed=executed,
        intervened=intervened,
        collided=collided,
        since_progress=int(frame.since_progress[robot]),
        stall_note=" (jammed)" if jammed else " (stuck)" if stuck else "",
        closed_note=_closed_note(frame, node, target),
        **battery,
    )


def _closed_note(frame: Frame, node: int, target: int) -> str:
    """What closures (faults) do to the robot: it stands on a closed cell or in a part they
    cut off (shut in), its target is closed or cut off."""
    closed = np.isin([node, target], frame.closed)
    cut = np.isin([node, target], frame.cut_off)
    if closed[0]:
        return "stands on a closed cell"
    if cut[0]:
        return "shut in: the closures cut its part of the floor off"
    if target >= 0 and closed[1]:
        return "its target is closed"
    return "its target is cut off by the closures" if target >= 0 and cut[1] else ""


def robot_at_cell(frame: Frame, row: int, col: int) -> int | None:
    """The robot standing on cell ``(row, col)``, if any."""
    hit = np.flatnonzero(
        (frame.floor.pos[frame.pos, 0] == row) & (frame.floor.pos[frame.pos, 1] == col)
    )
    return int(hit[0]) if hit.size else None
