"""Recording a fleet run: :class:`EpisodeRecorder` holds an episode in memory, step by step,
and saves it compactly as one ``.npz`` file; :func:`check_recording_fits` refuses before a run a
recording too large to load again. The file's arrays, and reading it back, are
:mod:`warehouse.recording`'s (whose size rule saving shares)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .atomic import atomic_path
from .config import SimConfig
from .core.state import FleetState
from .errors import InputError
from .floor import CompiledFloor
from .recording import (
    _FINAL_COUNTERS,
    _FLOOR_FIELDS,
    _ORDER_FIELDS,
    FORMAT,
    FRAME_FIELDS,
    MAX_RECORDING_BYTES,
    STEP_FIELDS,
    _edge_sets,
    _oversize,
)

if TYPE_CHECKING:
    from .core import Simulation
    from .fleet import FleetStep

#: The dtype each per-step array (:data:`~warehouse.recording.STEP_FIELDS`) is saved with.
_STEP_DTYPES = {
    "proposed": np.int8,
    "actions": np.int8,
    "intervened": np.bool_,
    "collided": np.bool_,
    "delivered": np.bool_,
    "moved_m": np.float32,
}


class EpisodeRecorder:
    """Collects one episode in memory; create it right after ``reset`` and call
    :meth:`capture` after every step.

    >>> fleet.reset(seed)
    >>> rec = EpisodeRecorder(fleet.sim, meta={"scenario": "small", "seed": seed})
    >>> for _ in range(steps):
    ...     rec.capture(fleet.sim, fleet.step())
    >>> rec.save("run.npz")
    """

    def __init__(
        self,
        sim: Simulation,
        *,
        meta: dict[str, Any],
        store_preferences: bool = True,
        expected_steps: int | None = None,
    ) -> None:
        """``expected_steps``: the episode's length where it is known; the columns are sized
        for it up front (up to what a loadable recording holds; more steps still fit: the
        columns grow)."""
        if sim.t != 0:
            raise ValueError("create the EpisodeRecorder right after sim.reset()")
        self.meta = dict(meta)
        self.store_preferences = store_preferences
        self.floor = sim.floor
        self.config = sim.config
        layout = _layout(
            sim.state, sim.floor.n_actions, store_preferences, battery=sim.battery is not None
        )
        step_bytes = sum(math.prod(shape) * dtype.itemsize for _, shape, dtype in layout.values())
        steps = min(int(expected_steps or 0), MAX_RECORDING_BYTES // max(step_bytes, 1))
        rows = 1 + max(steps, 15)  # (frames: one more than steps)
        #: every per-frame and per-step array (:func:`_layout`), one growing buffer each
        self._columns = {
            k: _Column(shape, dtype, rows - 1 + extra)
            for k, (extra, shape, dtype) in layout.items()
        }
        #: closed nodes of every frame, concatenated, and where each frame's start
        self._closed = _Column((), np.dtype(np.int32), rows)
        self._closed_ptr = _Column((), np.dtype(np.int64), rows + 1)
        self._closed_ptr.append(0)
        self._lost_before = int(sim.orders.lost)
        self._sim = sim
        self._routes = _routes(sim)
        self._edges = _edge_routes(sim)
        self._frame(sim)

    @property
    def steps(self) -> int:
        return self._columns["incidents"].n

    def _frame(self, sim: Simulation) -> None:
        s, cols = sim.state, self._columns
        for k in FRAME_FIELDS:
            cols[k].append(getattr(s, k))
        closed = sim.closed_nodes()
        self._closed.extend(closed)
        self._closed_ptr.append(self._closed.n)
        if sim.battery is not None:
            cols["battery_soc"].append(s.soc_wh)
            cols["battery_charge"].append(s.charge)

    def capture(self, sim: Simulation, fleet_step: FleetStep) -> None:
        """Log the step just taken (``fleet_step`` is what :meth:`Fleet.step` returned)."""
        if sim is not self._sim or sim.t != self.steps + 1:
            raise ValueError("capture() must follow every step of the recorded simulation")
        r, cols = fleet_step.result, self._columns
        src = {
            "proposed": fleet_step.proposed,
            "actions": r.actions,
            "intervened": r.intervened,
            "collided": r.collided,
            "delivered": r.delivered,
            "moved_m": r.moved_m,
        }
        for k in STEP_FIELDS:
            cols[k].append(np.asarray(src[k], dtype=_STEP_DTYPES[k]))
        if self.store_preferences:
            prefs = fleet_step.preferences
            if prefs is None:  # a navigator without scores: NaN rows
                prefs = np.full((sim.n_robots, sim.floor.n_actions), np.nan)
            cols["preferences"].append(np.asarray(prefs, dtype=np.float32))
        cols["new_orders"].append(int(r.new_orders))
        lost = int(sim.orders.lost)
        cols["orders_lost"].append(lost - self._lost_before)
        self._lost_before = lost
        cols["incidents"].append(int(r.incidents))  # (last: it counts the steps captured)
        self._frame(sim)

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything :meth:`save` writes, as arrays (``meta_json`` included), the caller's own."""
        return {k: v.copy() for k, v in self._arrays().items()}

    def _arrays(self) -> dict[str, np.ndarray]:
        """What :meth:`arrays` returns, the columns as views of the recorder's buffers."""
        sim, f = self._sim, self.floor
        if sim.t != self.steps:
            raise ValueError(
                f"the simulation is at step {sim.t} but {self.steps} steps were captured; "
                "save right after the last capture()"
            )
        out: dict[str, np.ndarray] = {
            f"floor_{k}": np.asarray(getattr(f, k)) for k in _FLOOR_FIELDS
        }
        split = f.edge_split  # a floor built with physics.speed_m_s (none: nothing written)
        if split is not None or f.transit.any():  # (or a saved split floor, run without it)
            out["floor_transit"] = np.asarray(f.transit, dtype=np.bool_)
        if f.charger.any():  # drawn chargers (none: nothing written, as before)
            out["floor_charger"] = np.asarray(f.charger, dtype=np.bool_)
        cols = self._columns
        for k in (*FRAME_FIELDS, *STEP_FIELDS):
            out[k] = cols[k].rows
        if self.store_preferences:
            out["preferences"] = cols["preferences"].rows
        out["closed_nodes"] = self._closed.rows
        out["closed_ptr"] = self._closed_ptr.rows
        if self._routes:
            sets = list(self._routes.values())
            out["route_clock"] = np.asarray(list(self._routes), dtype=np.int64)
            out["route_ptr"] = np.concatenate([[0], np.cumsum([c.size for c in sets])])
            out["route_ptr"] = out["route_ptr"].astype(np.int64)
            out["route_nodes"] = np.concatenate(sets).astype(np.int32)
        if self._edges:  # (none without closed edges: nothing written, as before)
            moves = list(self._edges.values())
            out["edge_clock"] = np.asarray(list(self._edges), dtype=np.int64)
            ptr = np.concatenate([[0], np.cumsum([m.shape[0] for m in moves])])
            out["edge_ptr"] = ptr.astype(np.int64)
            out["edge_moves"] = np.concatenate(moves).reshape(-1, 2).astype(np.int32)
        if "battery_soc" in cols:
            out["battery_soc"] = cols["battery_soc"].rows
            out["battery_charge"] = cols["battery_charge"].rows
        for k in ("incidents", "new_orders", "orders_lost"):
            out[k] = cols[k].rows
        ob = sim.orders
        for k in _ORDER_FIELDS:
            out[f"orders_{k}"] = np.asarray(getattr(ob, k)[: ob.count]).copy()
        doc = {
            "format": FORMAT,
            "meta": self.meta,
            "config": _config_doc(self.config),
            "floor": {
                "name": f.name,
                "is_grid": bool(f.is_grid),
                "cell_size": float(f.cell_size),
                "nodes": [_json_node(v) for v in f.nodes],
                **({} if split is None else {"edge_split": dataclasses.asdict(split)}),
                **({"notes": [str(x) for x in f.notes]} if f.notes else {}),
            },
            "final": {
                "t": int(sim.t),
                "incidents": int(sim.incidents),
                "orders_lost": int(ob.lost),
                **{k: getattr(sim.state, k).tolist() for k in _FINAL_COUNTERS},
            },
        }
        out["meta_json"] = np.asarray(json.dumps(doc))
        return out

    def save(self, path: str | Path) -> Path:
        """Write the recording atomically (temp file + rename) as a compressed ``.npz``.

        A recording :func:`~warehouse.recording.load_recording` would refuse as too large is not
        written: the :class:`InputError` names ``path`` and what to change."""
        path = Path(path)
        arrays = self._arrays()
        sizes = {k: int(v.nbytes) for k, v in arrays.items()}
        if refused := _oversize(sizes, {k: v.shape for k, v in arrays.items()}):
            _, total, rule = refused
            less = "fewer steps or robots" + (
                ", or without preferences (--no-record-preferences)" * self.store_preferences
            )
            why = f"the arrays would inflate to {total:,} bytes{rule}"
            raise InputError(path, None, f"not written, it could not be loaded ({why}): {less}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            # numpy's stubs match ``**arrays`` against the ``allow_pickle: bool`` parameter
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
        return path


class _Column:
    """One array recorded row by row: a preallocated buffer that doubles when it is full, so a
    row costs its raw bytes (amortized), not a Python object; :attr:`rows` is the filled part."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, capacity: int) -> None:
        self._buf = np.empty((max(capacity, 1), *shape), dtype=dtype)
        self.n = 0

    def _reserve(self, n: int) -> None:
        if n > self._buf.shape[0]:
            grown = np.empty(
                (max(n, 2 * self._buf.shape[0]), *self._buf.shape[1:]), self._buf.dtype
            )
            grown[: self.n] = self._buf[: self.n]
            self._buf = grown

    def append(self, row: Any) -> None:
        """Add one row (copied, cast to the column's dtype)."""
        if np.shape(row) != self._buf.shape[1:]:
            raise ValueError(f"a row of shape {np.shape(row)}, expected {self._buf.shape[1:]}")
        self._reserve(self.n + 1)
        self._buf[self.n] = row
        self.n += 1

    def extend(self, values: np.ndarray) -> None:
        """Add the entries of the 1-D ``values`` (cast to the column's dtype)."""
        self._reserve(self.n + values.size)
        self._buf[self.n : self.n + values.size] = values
        self.n += values.size

    @property
    def rows(self) -> np.ndarray:
        """The rows recorded so far (a view: later rows never change it)."""
        return self._buf[: self.n]


def _layout(
    state: FleetState, n_actions: int, preferences: bool, *, battery: bool
) -> dict[str, tuple[int, tuple[int, ...], np.dtype]]:
    """``{array: (rows beyond T, row shape, dtype)}`` for the arrays a recording of ``state``'s
    robots holds a row of per frame (``T+1`` rows) or per step (``T``)."""
    n = state.n
    out: dict[str, tuple[int, tuple[int, ...], np.dtype]] = {
        k: (1, (n,), getattr(state, k).dtype) for k in FRAME_FIELDS
    }
    out.update({k: (0, (n,), np.dtype(_STEP_DTYPES[k])) for k in STEP_FIELDS})
    if preferences:
        out["preferences"] = (0, (n, n_actions), np.dtype(np.float32))
    if battery:
        out["battery_soc"] = (1, (n,), state.soc_wh.dtype)
        out["battery_charge"] = (1, (n,), state.charge.dtype)
    out.update({k: (0, (), np.dtype(np.int32)) for k in ("incidents", "new_orders", "orders_lost")})
    return out


def check_recording_fits(
    path: str | Path,
    floor: CompiledFloor,
    robots: int,
    steps: int,
    *,
    preferences: bool = True,
    battery: bool = False,
) -> None:
    """Refuse, before the run, a recording that :func:`~warehouse.recording.load_recording`
    would refuse whatever happens in it: the arrays whose shapes the run's ``steps`` and
    ``robots`` fix (not the order book, closures or the JSON text, which only add to it) already
    inflate past the bound. The :class:`InputError` names ``path`` and the options to change."""
    arrays = {f"floor_{k}": np.asarray(getattr(floor, k)) for k in _FLOOR_FIELDS}
    shapes = {k: v.shape for k, v in arrays.items()}
    sizes = {k: int(v.nbytes) for k, v in arrays.items()}
    layout = _layout(FleetState.empty(robots), floor.n_actions, preferences, battery=battery)
    for k, (extra, shape, dtype) in layout.items():
        shapes[k] = (steps + extra, *shape)
        sizes[k] = math.prod(shapes[k]) * dtype.itemsize
    shapes["closed_ptr"] = (steps + 2,)
    sizes["closed_ptr"] = 8 * (steps + 2)
    if refused := _oversize(sizes, shapes):
        _, total, rule = refused
        why = f"its arrays would inflate to {total:,} bytes or more{rule}"
        run = f"a recording of {steps:,} steps of {robots:,} robots"
        less = "fewer --steps or --robots" + (", or --no-record-preferences" * preferences)
        raise InputError(path, "--record", f"{run} could not be loaded ({why}): {less}")


def _config_doc(config: SimConfig) -> dict[str, Any]:
    """The configuration as the JSON document keeps it: an entry of ``faults.closures`` that
    closes no edge leaves ``edges`` out (its default), so recordings without closed edges are
    written as before edges existed, byte for byte."""
    doc = json.loads(config.model_dump_json())
    for entry in doc.get("faults", {}).get("closures", []):
        if entry.get("edges") == []:
            del entry["edges"]
    return doc


def _json_node(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _routes(sim: Simulation) -> dict[int, np.ndarray]:
    """``{clock: nodes}``: the scheduled-closed sets the simulation's distances route around,
    from the clock each takes effect (empty without ``faults.closures``), resolved on the live
    floor exactly as :meth:`Simulation.reset` does."""
    faults = sim.config.faults
    if not faults.closures:
        return {}
    from .core.closure_entries import resolve_closures
    from .core.closures import closed_sets

    closures = resolve_closures(sim.floor, faults, sim.config.physics.step_seconds)
    return {int(t): nodes for t, nodes in sorted(closed_sets(closures).items())}


def _edge_routes(sim: Simulation) -> dict[int, np.ndarray]:
    """``{clock: moves}``: the moves ``(from, to)`` closed edges take away, from each clock at
    which the scheduled closures change (``closures.route_sets``), resolved on the live floor
    as :meth:`Simulation.reset` does; empty when no closure closes an edge."""
    return _edge_sets(sim.floor, sim.config)


__all__ = ["EpisodeRecorder", "check_recording_fits"]
