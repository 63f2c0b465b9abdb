"""Warehouse floors: networkx graphs, their builders and their compiled array form."""

from .compiled import CompiledFloor, compile_floor
from .distances import NO_WAY_OUT, UNREACHABLE, DistanceCache
from .generator import WarehouseLayout, generate_warehouse
from .grid import graph_from_grid, infer_pick_and_station_cells
from .kinds import ACTION_NAMES, GRID_OFFSETS, NodeKind

__all__ = [
    "ACTION_NAMES",
    "GRID_OFFSETS",
    "NO_WAY_OUT",
    "UNREACHABLE",
    "CompiledFloor",
    "DistanceCache",
    "NodeKind",
    "WarehouseLayout",
    "compile_floor",
    "generate_warehouse",
    "graph_from_grid",
    "infer_pick_and_station_cells",
]
