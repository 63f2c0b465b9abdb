"""Checks of a loaded recording (:func:`warehouse.recording.load_recording`): every array has
its dtype and shape and holds values in range, and the JSON document agrees with them, so a
foreign or edited file is refused on loading, not in the middle of a replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import ValidationError

from .core.state import N_PHASES
from .errors import InputError
from .floor import NodeKind
from .recording import (
    _FINAL_COUNTERS,
    _FLOOR_FIELDS,
    _ORDER_FIELDS,
    FRAME_FIELDS,
    STEP_FIELDS,
    Recording,
)

#: dtype kind of every array: ``i`` whole numbers, ``b`` booleans, ``f`` floating point.
_KINDS = {
    **{f"floor_{k}": "i" for k in ("pos", "kind", "nbr", "cell_of")},
    **{f"floor_{k}": "b" for k in ("mask", "start_ok", "goal_ok")},
    "floor_length": "f",
    **dict.fromkeys(FRAME_FIELDS, "i"),
    "proposed": "i", "actions": "i", "intervened": "b", "collided": "b", "delivered": "b",
    "moved_m": "f", "preferences": "f", "incidents": "i", "new_orders": "i", "orders_lost": "i",
    "closed_nodes": "i", "closed_ptr": "i", "battery_soc": "f", "battery_charge": "i",
    **{f"orders_{k}": "i" for k in _ORDER_FIELDS},
}  # fmt: skip


def _kind_ok(array: np.ndarray, kind: str) -> bool:
    if kind == "i":
        return array.dtype.kind in "iu"
    if kind == "f":
        return array.dtype.kind in "iuf"
    return array.dtype.kind == "b"


def check_recording(rec: Recording, path: Path) -> None:
    """Every array has its dtype and shape and holds values in range, and the JSON document
    agrees with them: a foreign or edited file is refused here, not in the middle of a replay."""
    a = rec.arrays
    required = [f"floor_{k}" for k in _FLOOR_FIELDS] + [f"orders_{k}" for k in _ORDER_FIELDS]
    required += [*FRAME_FIELDS, *STEP_FIELDS, "incidents", "new_orders"]
    for k in required:
        if k not in a:
            raise InputError(path, k, "missing array")
    for k, array in a.items():
        if k in _KINDS and not _kind_ok(array, _KINDS[k]):
            what = {"i": "whole numbers", "f": "numbers", "b": "booleans"}[_KINDS[k]]
            raise InputError(path, k, f"expected {what}, got dtype {array.dtype}")

    def shape(k: str, want: tuple[int, ...]) -> None:
        if a[k].shape != want:
            raise InputError(path, k, f"shape {a[k].shape} != {want}")

    def within(k: str, lo: float, hi: float) -> None:
        """Values in ``lo`` … ``hi - 1`` (whole numbers) or ``lo`` … ``hi`` (floats, finite)."""
        x = a[k]
        if not x.size:
            return
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise InputError(path, k, "holds NaN or infinite values")
        top = hi if x.dtype.kind == "f" else hi - 1
        if x.min() < lo or x.max() > top:
            raise InputError(path, k, f"values outside {lo:g}..{top:g}")

    if a["floor_pos"].ndim != 2 or a["floor_pos"].shape[1:] != (2,) or not len(a["floor_pos"]):
        raise InputError(path, "floor_pos", "expected a (nodes, 2) array of cells")
    n_nodes = a["floor_pos"].shape[0]
    if a["floor_nbr"].ndim != 2 or a["floor_nbr"].shape[0] != n_nodes:
        raise InputError(path, "floor_nbr", f"expected a ({n_nodes}, actions) array")
    n_actions = a["floor_nbr"].shape[1]
    for k in ("mask", "length"):
        shape(f"floor_{k}", (n_nodes, n_actions))
    for k in ("kind", "start_ok", "goal_ok"):
        shape(f"floor_{k}", (n_nodes,))
    if a["floor_cell_of"].ndim != 2 or 0 in a["floor_cell_of"].shape:
        raise InputError(path, "floor_cell_of", "expected a (rows, cols) array")
    height, width = a["floor_cell_of"].shape
    within("floor_nbr", 0, n_nodes)
    within("floor_length", 0, np.inf)
    within("floor_cell_of", -1, n_nodes)
    within("floor_kind", 0, len(NodeKind))
    cells = a["floor_pos"]
    if (cells < 0).any() or (cells[:, 0] >= height).any() or (cells[:, 1] >= width).any():
        raise InputError(path, "floor_pos", f"cells outside the {height}x{width} floor")

    t1, n = a["pos"].shape if a["pos"].ndim == 2 else (-1, -1)
    if t1 < 1:
        raise InputError(path, "pos", "expected a (frames, robots) array with ≥ 1 frame")
    for k in FRAME_FIELDS:
        shape(k, (t1, n))
    for k in STEP_FIELDS:
        shape(k, (t1 - 1, n))
    if a["incidents"].shape != (t1 - 1,):
        raise InputError(path, "incidents", "one entry per step expected")
    if a["new_orders"].shape != (t1 - 1,):
        raise InputError(path, "new_orders", "one entry per step expected")
    if "orders_lost" in a and (a["orders_lost"].shape != (t1 - 1,) or (a["orders_lost"] < 0).any()):
        raise InputError(path, "orders_lost", "one non-negative entry per step expected")
    if "preferences" in a:
        shape("preferences", (t1 - 1, n, n_actions))
    if ("battery_soc" in a) != ("battery_charge" in a):
        missing = "battery_charge" if "battery_soc" in a else "battery_soc"
        raise InputError(path, missing, "missing array (the battery log has two)")
    if "battery_soc" in a:
        from .core.state import Charge

        shape("battery_soc", (t1, n))
        shape("battery_charge", (t1, n))
        within("battery_soc", 0, np.inf)
        within("battery_charge", 0, len(Charge))
    m = a["orders_pick"].shape
    if len(m) != 1:
        raise InputError(path, "orders_pick", "expected one entry per order")
    for k in _ORDER_FIELDS:
        shape(f"orders_{k}", m)
    within("pos", 0, n_nodes)
    within("phase", 0, N_PHASES)
    within("order", -1, m[0])
    for k in ("task_goal", "waypoint"):
        within(k, -1, n_nodes)
    for k in ("broken", "timer", "since_progress", "incidents", "new_orders"):
        within(k, 0, np.iinfo(np.int64).max)
    for k in ("proposed", "actions"):
        within(k, 0, n_actions)
    within("moved_m", 0, np.inf)
    for k in ("orders_pick", "orders_station"):
        within(k, 0, n_nodes)
    within("orders_arrival", 0, t1)
    for k in ("orders_assigned", "orders_delivered"):
        within(k, -1, t1)
    within("orders_robot", -1, n)
    if (np.diff(a["orders_arrival"]) < 0).any():
        raise InputError(path, "orders_arrival", "orders must come in the order they arrived")
    if ("closed_ptr" in a) != ("closed_nodes" in a):
        raise InputError(path, "closed_ptr", "closed_ptr and closed_nodes come together")
    if "closed_ptr" in a:
        ptr, closed = a["closed_ptr"], a["closed_nodes"]
        if ptr.shape != (t1 + 1,) or ptr[0] != 0 or (np.diff(ptr) < 0).any():
            raise InputError(path, "closed_ptr", f"expected {t1 + 1} non-decreasing offsets from 0")
        if closed.ndim != 1 or ptr[-1] != closed.size:
            raise InputError(path, "closed_nodes", "does not match closed_ptr")
        within("closed_nodes", 0, n_nodes)
    _check_doc(rec, path, n_nodes, n, t1)
    last = rec.frame_state(rec.steps)
    final = rec.doc["final"]
    for k in _FINAL_COUNTERS:
        if not np.array_equal(getattr(last, k), np.asarray(final[k], dtype=np.float64)):
            raise InputError(path, f"final.{k}", "per-step log does not add up to the counters")
    if "orders_lost" in a and int(a["orders_lost"].sum()) != int(final.get("orders_lost", 0)):
        raise InputError(path, "orders_lost", "per-step log does not add up to final.orders_lost")


def _check_doc(rec: Recording, path: Path, n_nodes: int, n: int, t1: int) -> None:
    """The JSON document: its sections have their types and agree with the arrays."""
    doc = rec.doc
    for section in ("meta", "config", "floor", "final"):
        if not isinstance(doc.get(section), dict):
            raise InputError(path, f"meta_json.{section}", "missing or not an object")
    try:
        config = rec.config
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(["meta_json.config", *(str(p) for p in err["loc"])])
        raise InputError(path, field, err["msg"]) from None
    fd = doc["floor"]
    if not isinstance(fd.get("name"), str):
        raise InputError(path, "meta_json.floor.name", "expected text")
    if not isinstance(fd.get("is_grid"), bool):
        raise InputError(path, "meta_json.floor.is_grid", "expected true or false")
    cell = fd.get("cell_size")
    if isinstance(cell, bool) or not isinstance(cell, int | float) or not 0 < cell < np.inf:
        raise InputError(path, "meta_json.floor.cell_size", "expected a finite number > 0")
    nodes = fd.get("nodes")
    if not isinstance(nodes, list) or len(nodes) != n_nodes or config.fleet.robots != n:
        raise InputError(path, "meta_json.floor", "does not match the arrays")
    try:
        keys = {tuple(v) if isinstance(v, list) else v for v in nodes}
    except TypeError:
        raise InputError(path, "meta_json.floor.nodes", "expected node ids or [row, col]") from None
    if len(keys) != n_nodes:
        raise InputError(path, "meta_json.floor.nodes", "node ids repeat")
    final = doc["final"]
    for k in _FINAL_COUNTERS:
        values = final.get(k)
        if (
            not isinstance(values, list)
            or len(values) != n
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        ):
            raise InputError(path, f"final.{k}", f"expected {n} numbers, one per robot")
