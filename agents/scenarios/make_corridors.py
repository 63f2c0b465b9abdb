"""Build ``corridors.json``, the navigator's corridor-only training floor.

Run ``python make_corridors.py`` in this folder; it writes the same file byte for byte.

A grid waypoint graph in which only corridor cells are nodes: two east-west corridors (rows 2
and 12), single-lane north-south rungs every 4 columns carrying the pick locations, a half
cross corridor (row 7, west half) that makes junctions inside the rungs, and stations on little
loops south of the bottom corridor. ``corridors.yaml`` runs it as drawn and ``corridors_T.yaml``
turned about its diagonal (``layout.transpose``), so the long single lanes run both ways.

It is a training floor: the corridor graphs of docs/results_transfer.md (``user_graph``, three
corridors, rungs every 3 columns, stations north) stay held out.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent
WIDTH = 29
CORRIDORS = (2, 12)
HALF_CORRIDOR, HALF_END = 7, 12


def build() -> dict:
    """The node-link JSON of the floor (``pos`` per node, ``kind`` aisle, pick or station)."""
    nodes: dict[tuple[int, int], str] = {}
    for r in CORRIDORS:
        for c in range(WIDTH):
            nodes[(r, c)] = "aisle"
    for c in range(HALF_END + 1):
        nodes[(HALF_CORRIDOR, c)] = "aisle"
    for c in range(0, WIDTH, 4):
        for r in range(CORRIDORS[0] + 1, CORRIDORS[1]):
            # the outer rungs are bypasses without picks
            nodes.setdefault((r, c), "pick" if c not in (0, WIDTH - 1) else "aisle")
    for c in range(2, WIDTH - 2, 6):
        nodes[(CORRIDORS[1] + 1, c)] = "station"
        nodes[(CORRIDORS[1] + 1, c + 1)] = "aisle"
    edges = sorted(
        ((r, c), (r + dr, c + dc))
        for r, c in nodes
        for dr, dc in ((0, 1), (1, 0))
        if (r + dr, c + dc) in nodes
    )
    return {
        "directed": False,
        "graph": {"name": "corridors", "cell_size": 1.0},
        "nodes": [
            {"id": f"n{r}_{c}", "pos": [r, c], "kind": k} for (r, c), k in sorted(nodes.items())
        ],
        "edges": [{"source": f"n{a[0]}_{a[1]}", "target": f"n{b[0]}_{b[1]}"} for a, b in edges],
    }


if __name__ == "__main__":
    (HERE / "corridors.json").write_text(json.dumps(build()) + "\n", encoding="utf-8")
