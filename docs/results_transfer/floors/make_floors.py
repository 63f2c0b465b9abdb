"""Build the floors of docs/results_transfer.md in this folder: ``python make_floors.py``.

``user_graph`` (a grid waypoint graph), ``vertical`` (a drawing with north-south single-lane
pick aisles), ``open_hall`` (shelf pods on an open floor), ``ladder`` (a second corridor graph,
added in the twenty-eighth session after the navigator was fine-tuned on
``agents/scenarios/corridors.json``, to test that fine-tuning on a floor it never saw), and the
transposes ``user_graph_T``, ``vertical_T`` and ``ladder_T`` (rows and columns swapped). The
MovingAI floor of the page is a map target of ../shared/maps, not a file here.
"""

import itertools
import json
from pathlib import Path

HERE = Path(__file__).parent

# --- F1: a grid waypoint graph: three corridors, single-lane rungs every 3 columns, stations on
# little loops north of the top corridor. Only corridor cells are nodes.
W = 31
nodes, edges = {}, set()


def node(r, c, kind="aisle"):
    nodes[(r, c)] = kind


corr = [1, 9, 17]
for r in corr:
    for c in range(W):
        node(r, c)
for c in range(0, W, 3):
    for r in range(1, 18):
        if (r, c) not in nodes:
            node(r, c, "pick" if c not in (0, W - 1) else "aisle")
for c in range(1, W - 1, 6):
    node(0, c, "station")
    node(0, c + 1, "aisle")
for r, c in list(nodes):
    for dr, dc in ((0, 1), (1, 0)):
        if (r + dr, c + dc) in nodes:
            edges.add(((r, c), (r + dr, c + dc)))
g = {
    "directed": False,
    "graph": {"name": "user_graph", "cell_size": 1.0},
    "nodes": [{"id": f"n{r}_{c}", "pos": [r, c], "kind": k} for (r, c), k in nodes.items()],
    "edges": [{"source": f"n{a[0]}_{a[1]}", "target": f"n{b[0]}_{b[1]}"} for a, b in sorted(edges)],
}
(HERE / "user_graph.json").write_text(json.dumps(g))

# --- F2: a drawn floor with vertical (north-south) shelf blocks, single-lane vertical pick aisles,
# one two-lane cross aisle north, a single-lane one in the middle, stations on the south wall.
rows = []
H2, W2 = 27, 46
for r in range(H2):
    row = []
    for c in range(W2):
        ch = "."
        in_shelf_rows = 3 <= r <= 11 or 13 <= r <= 21
        col_in_block = (c - 2) % 3  # blocks of 2 shelf columns, aisle every 3rd column
        if in_shelf_rows and 2 <= c <= W2 - 3 and col_in_block in (1, 2):
            ch = "#"
        elif in_shelf_rows and 2 <= c <= W2 - 3 and col_in_block == 0:
            ch = "p"
        row.append(ch)
    rows.append(row)
for c in range(3, W2 - 3, 4):
    rows[H2 - 1][c] = "S"
(HERE / "vertical.txt").write_text("\n".join("".join(r) for r in rows) + "\n")

# --- F3: an open hall: 2x3 shelf pods with 3-cell gaps on a wide open floor (every cell beside a
# pod is a pick location), stations on the west wall.
H3, W3 = 27, 50
g3 = [["." for _ in range(W3)] for _ in range(H3)]
for r0 in range(3, H3 - 3, 6):
    for c0 in range(9, W3 - 5, 7):
        for r in range(r0, r0 + 2):
            for c in range(c0, c0 + 3):
                g3[r][c] = "#"
for r in range(H3):
    for c in range(W3):
        if g3[r][c] == "." and any(
            0 <= r + dr < H3 and 0 <= c + dc < W3 and g3[r + dr][c + dc] == "#"
            for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))
        ):
            g3[r][c] = "p"
for r in range(1, H3 - 1, 3):
    g3[r][0] = "S"
(HERE / "open_hall.txt").write_text("\n".join("".join(r) for r in g3) + "\n")


# --- F4: a second grid waypoint graph: four east-west corridors, single-lane rungs carrying the
# picks at staggered columns (those between the middle pair offset from the others), stations on
# little loops at both ends of the top three corridors. Only corridor cells are nodes.
W4, CORR4 = 37, (1, 7, 13, 19)
RUNGS4 = ((2, 7, 11, 16, 20, 25, 29, 34, 36), (2, 5, 9, 14, 18, 23, 27, 32, 36))
nodes4: dict[tuple[int, int], str] = {}
for r in CORR4:
    for c in range(2, W4):
        nodes4[(r, c)] = "aisle"
for i, (top, bottom) in enumerate(itertools.pairwise(CORR4)):
    for c in RUNGS4[i % 2]:
        for r in range(top + 1, bottom):
            nodes4[(r, c)] = "pick" if c not in (2, W4 - 1) else "aisle"
for r in CORR4[:-1]:
    nodes4.update({(r, 1): "aisle", (r, 0): "station", (r + 1, 0): "aisle", (r + 1, 1): "aisle"})
    nodes4.update({(r, W4): "station", (r + 1, W4): "aisle"})
edges4 = sorted(
    ((r, c), (r + dr, c + dc))
    for r, c in nodes4
    for dr, dc in ((0, 1), (1, 0))
    if (r + dr, c + dc) in nodes4
)
g4 = {
    "directed": False,
    "graph": {"name": "ladder", "cell_size": 1.0},
    "nodes": [
        {"id": f"n{r}_{c}", "pos": [r, c], "kind": k} for (r, c), k in sorted(nodes4.items())
    ],
    "edges": [{"source": f"n{a[0]}_{a[1]}", "target": f"n{b[0]}_{b[1]}"} for a, b in edges4],
}
(HERE / "ladder.json").write_text(json.dumps(g4))

# --- the transposes: rows and columns swapped (node ids kept)
t = json.loads((HERE / "user_graph.json").read_text())
t["graph"]["name"] = "user_graph_T"
for n in t["nodes"]:
    n["pos"] = n["pos"][::-1]
(HERE / "user_graph_T.json").write_text(json.dumps(t))
t4 = json.loads((HERE / "ladder.json").read_text())
t4["graph"]["name"] = "ladder_T"
for n in t4["nodes"]:
    n["pos"] = n["pos"][::-1]
(HERE / "ladder_T.json").write_text(json.dumps(t4))
drawn = (HERE / "vertical.txt").read_text().splitlines()
turned = ["".join(row[i] for row in drawn) for i in range(len(drawn[0]))]
(HERE / "vertical_T.txt").write_text("\n".join(turned) + "\n")
