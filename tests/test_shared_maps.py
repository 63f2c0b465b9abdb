"""Every public benchmark map in ``/work/shared/maps`` parses and compiles (skipped if absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from warehouse.floor import CompiledFloor, compile_floor
from warehouse.floor.formats import load_map

MAPS = [
    "movingai/warehouse-10-20-10-2-1.map",
    "movingai/warehouse-10-20-10-2-2.map",
    "movingai/warehouse-20-40-10-2-1.map",
    "movingai/warehouse-20-40-10-2-2.map",
    "lorr/warehouse_small.map",
    "lorr/warehouse_large.map",
    "lorr/sortation_large.map",
    "rhcr/kiva.map",
    "pogema/wfi_warehouse.txt",
    "pogema/wfi_warehouse.yaml",
]
#: Passable characters per format, to count the cells independently of the readers.
PASSABLE = {"movingai": ".GSE", "rhcr": ".er", "pogema": ".@$"}

_compiled: dict[str, CompiledFloor] = {}


def compiled(root: Path, rel: str) -> CompiledFloor:
    if rel not in _compiled:
        path = root / rel
        _compiled[rel] = compile_floor(load_map(path), source=path)
    return _compiled[rel]


def header_and_rows(path: Path) -> tuple[str, tuple[int, int], list[str]]:
    """(format, (H, W) from the header or the text, map rows), read without the library."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if path.parent.name in ("movingai", "lorr"):
        head = dict(line.split() for line in lines[:3])
        return "movingai", (int(head["height"]), int(head["width"])), lines[4:]
    if path.parent.name == "rhcr":
        rows, cols = map(int, lines[0].split(","))
        return "rhcr", (rows, cols), lines[4:]
    if path.suffix == ".yaml":
        (grid,) = yaml.safe_load(text).values()
        lines = grid.splitlines()
    return "pogema", (len(lines), len(lines[0])), lines


def test_every_shared_map_is_listed(shared_maps: Path):
    found = {
        str(p.relative_to(shared_maps))
        for p in shared_maps.rglob("*")
        if p.is_file() and p.suffix in (".map", ".txt", ".yaml")
    }
    assert found == set(MAPS)


#: Floors whose compilation takes several seconds; their compile check is marked slow.
LARGE = {
    "movingai/warehouse-20-40-10-2-2.map",
    "lorr/warehouse_large.map",
    "lorr/sortation_large.map",
}


@pytest.mark.parametrize("rel", MAPS)
def test_shared_map_parses(shared_maps: Path, rel: str):
    fmt, shape, rows = header_and_rows(shared_maps / rel)
    graph = load_map(shared_maps / rel)
    assert graph.graph["format"] == fmt
    assert graph.graph["grid_shape"] == shape
    assert graph.number_of_nodes() == shape[0] * shape[1]
    kinds = [d["kind"] for _, d in graph.nodes(data=True)]
    assert kinds.count("pick") > 0 and kinds.count("station") > 0
    passable = sum(sum(ch in PASSABLE[fmt] for ch in row) for row in rows)
    assert len(kinds) - kinds.count("blocked") == passable
    for (r, c), data in graph.nodes(data=True):
        assert (data["kind"] != "blocked") == (rows[r][c] in PASSABLE[fmt])


@pytest.mark.parametrize(
    "rel", [pytest.param(m, marks=pytest.mark.slow) if m in LARGE else m for m in MAPS]
)
def test_shared_map_compiles(shared_maps: Path, rel: str):
    path = shared_maps / rel
    fmt, shape, rows = header_and_rows(path)
    floor = compiled(shared_maps, rel)
    assert floor.shape == shape
    assert floor.is_grid and floor.n_actions == 5
    assert floor.picks.size > 0 and floor.stations.size > 0
    passable = sum(sum(ch in PASSABLE[fmt] for ch in row) for row in rows)
    # These floors are single connected warehouses: every free cell is kept.
    assert floor.n_nodes == passable and not floor.notes
    # Every kept node sits on a passable character of the file.
    r, c = floor.pos.T
    chars = np.array([list(row) for row in rows])
    assert np.isin(chars[r, c], list(PASSABLE[fmt])).all()
    # Pick faces (explicit or inferred) all face a shelf on some side.
    blocked = np.pad(floor.cell_of < 0, 1, constant_values=False)
    r, c = floor.pos[floor.picks].T + 1
    assert (blocked[r - 1, c] | blocked[r + 1, c] | blocked[r, c - 1] | blocked[r, c + 1]).all()


def test_kiva_and_wfi_warehouse_are_the_same_floor(shared_maps: Path):
    kiva = compiled(shared_maps, "rhcr/kiva.map")
    for rel in ("pogema/wfi_warehouse.txt", "pogema/wfi_warehouse.yaml"):
        wfi = compiled(shared_maps, rel)
        assert np.array_equal(kiva.cell_of, wfi.cell_of)
        assert np.array_equal(kiva.kind, wfi.kind)
        assert np.array_equal(kiva.nbr, wfi.nbr)
        # POGEMA's start-only ('@') cells are the pick faces, goal-only ('$') the stations.
        assert not wfi.goal_ok[wfi.picks].any() and wfi.start_ok[wfi.picks].all()
        assert not wfi.start_ok[wfi.stations].any() and wfi.goal_ok[wfi.stations].all()
    assert kiva.picks.size == kiva.graph.graph["rhcr_endpoints"] == 480
    assert kiva.stations.size == kiva.graph.graph["rhcr_agents"] == 192
