"""Colours of the viewer (RGB tuples) and the robot display states.

Robot colours encode the display state computed by :func:`robot_states` from the core's phase
and breakdown timer:

=====  ==========  =============================================
code   state       meaning
=====  ==========  =============================================
0      idle        no task
1      to_pick     driving to a pick location (or a goal)
2      picking     working at the shelf
3      carrying    carrying an order to its station
4      dropping    working at the station
5      broken      broken down (overrides the phase)
=====  ==========  =============================================
"""

from __future__ import annotations

import numpy as np

from warehouse.core.state import Phase
from warehouse.floor import NodeKind

Color = tuple[int, int, int]

BACKGROUND: Color = (24, 26, 30)
PANEL: Color = (34, 37, 43)
PANEL_EDGE: Color = (80, 86, 98)
TEXT: Color = (232, 234, 238)
TEXT_DIM: Color = (150, 156, 168)

#: Floor colour per :class:`NodeKind` code (BLOCKED is also used for cells without a node).
FLOOR = {
    NodeKind.AISLE: (206, 209, 214),
    NodeKind.PICK: (226, 214, 184),
    NodeKind.STATION: (98, 186, 120),
    NodeKind.BLOCKED: (72, 60, 52),
    NodeKind.PARKING: (176, 198, 226),
}
GRID_LINE: Color = (186, 189, 195)
ARROW: Color = (128, 132, 142)
CLOSED: Color = (40, 40, 40)
CUT_OFF: Color = (118, 118, 118)  #: open cells the scheduled closures cut off from the floor

STATE_NAMES = ("idle", "to_pick", "picking", "carrying", "dropping", "broken")
STATE_COLORS: tuple[Color, ...] = (
    (140, 146, 160),  # idle: slate grey
    (52, 120, 246),  # to_pick: blue
    (0, 200, 215),  # picking: cyan
    (245, 140, 20),  # carrying: orange
    (250, 215, 40),  # dropping: yellow
    (220, 30, 60),  # broken: red
)
STATE_RGB = np.array(STATE_COLORS, dtype=np.uint8)

#: Phase → display state (TO_GOAL of goal_visit mode draws like to_pick).
_PHASE_TO_STATE = np.zeros(max(Phase) + 1, dtype=np.int8)
_PHASE_TO_STATE[Phase.IDLE] = 0
_PHASE_TO_STATE[Phase.TO_PICK] = 1
_PHASE_TO_STATE[Phase.PICKING] = 2
_PHASE_TO_STATE[Phase.TO_DROP] = 3
_PHASE_TO_STATE[Phase.DROPPING] = 4
_PHASE_TO_STATE[Phase.TO_GOAL] = 1
BROKEN = 5

HEADING: Color = (20, 22, 26)
ORDER: Color = (200, 40, 160)  #: open order waiting at a pick location
SUBGOAL: Color = (150, 60, 230)  #: dispatcher waypoints
GOAL: Color = (20, 130, 60)  #: task goals
PATH: Color = (60, 60, 200)
SELECTED: Color = (255, 255, 255)
OBS_WINDOW: Color = (255, 80, 200)
COLLISION: Color = (255, 0, 0)
INTERVENTION: Color = (255, 170, 0)
STUCK: Color = (96, 96, 96)  #: corner mark: no progress for physics.stuck_after steps
JAMMED: Color = (0, 0, 0)  #: corner mark: no progress for physics.jam_after steps
HEAT: Color = (230, 30, 30)
QUEUE: Color = (20, 90, 40)
TIMELINE: Color = (70, 140, 240)

# -- the battery model (``battery``; drawn only while it is on) ------------------------------
CHARGER: Color = (150, 240, 60)  #: charger cells (lime); also the corner mark of a charging robot
CHARGE_WAIT: Color = (215, 250, 180)  #: corner mark: queued for or driving to a charger
DEPLETED: Color = (110, 10, 10)  #: corner mark: ran flat, stopped until rescued
#: :class:`~warehouse.core.state.Charge` code → name (the inspector)
CHARGE_NAMES = ("none", "queued", "driving to a charger", "charging", "depleted")
#: corner-mark colour per Charge code (none: no mark)
CHARGE_MARKS: tuple[Color | None, ...] = (None, CHARGE_WAIT, CHARGE_WAIT, CHARGER, DEPLETED)
_SOC_STOPS = np.array([[220, 40, 40], [240, 210, 40], [40, 190, 70]], dtype=np.float64)
_SOC_LUT = np.stack(
    [np.interp(np.linspace(0.0, 2.0, 101), [0, 1, 2], _SOC_STOPS[:, ch]) for ch in range(3)], 1
).astype(np.uint8)


def robot_states(phase: np.ndarray, broken: np.ndarray) -> np.ndarray:
    """Display state code (see module table) per robot."""
    states = _PHASE_TO_STATE[np.asarray(phase, dtype=np.int64)]
    return np.where(np.asarray(broken) > 0, BROKEN, states).astype(np.int8)


def soc_colors(soc: np.ndarray) -> np.ndarray:
    """``(n, 3)`` uint8 colour per state of charge (fraction 0..1): red, yellow, green."""
    idx = np.rint(np.clip(np.asarray(soc, dtype=np.float64), 0.0, 1.0) * 100.0).astype(np.int64)
    return _SOC_LUT[idx]


def floor_colors(kind: np.ndarray) -> np.ndarray:
    """``(n, 3)`` uint8 floor colour of every node."""
    lut = np.array([FLOOR[NodeKind(k)] for k in range(len(NodeKind))], dtype=np.uint8)
    return lut[np.asarray(kind, dtype=np.int64)]
