"""Node kinds of a warehouse floor and the compass actions of grid floors."""

from __future__ import annotations

from enum import IntEnum


class NodeKind(IntEnum):
    """What a floor node is. Stored on graph nodes as the lower-case name (``kind="pick"``)."""

    AISLE = 0  #: free travel cell
    PICK = 1  #: pick location: the aisle cell facing a shelf, where orders are picked
    STATION = 2  #: drop-off / packing station where orders are delivered
    BLOCKED = 3  #: shelf or obstacle; not traversable
    PARKING = 4  #: free travel cell where idle robots wait (``policies.park_idle``)

    @classmethod
    def parse(cls, value: str | int) -> NodeKind:
        if isinstance(value, str):
            return cls[value.strip().upper()]
        return cls(int(value))


#: Action ids on grid floors. Non-grid floors use WAIT plus neighbour slots 1..max_degree.
WAIT, NORTH, EAST, SOUTH, WEST = range(5)
ACTION_NAMES = ("wait", "north", "east", "south", "west")
#: (d_row, d_col) per grid action.
GRID_OFFSETS = ((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))
