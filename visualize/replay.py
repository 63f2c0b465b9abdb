"""Replay a recorded episode in the viewer, with a timeline to scrub forwards and backwards.

>>> from warehouse.recording import load_recording
>>> replay_viewer(load_recording("run.npz")).run()

Frames come from :meth:`Recording.frame_sim`, so the HUD's KPIs are recomputed from the log
with the functions of :mod:`warehouse.kpis`; the heatmap is rebuilt from the logged positions
when the timeline jumps, equal to the one of the run played up to that frame (so a frame looks
the same however the timeline reached it: :meth:`~visualize.frame.Congestion.rebuild`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warehouse.core.state import drive_target

from .draw import Timeline
from .frame import Congestion, Frame, frame_from_recording, recorded_chargers


class ReplaySource:
    """A :class:`~warehouse.recording.Recording` as a viewer source (random access)."""

    replay = True

    def __init__(self, rec: Any, *, label: str = "") -> None:
        self.rec = rec
        self.floor = rec.floor
        meta = rec.meta
        self.label = (
            label
            or " | ".join(str(meta[k]) for k in ("scenario", "policy") if k in meta)
            + (f"  seed {meta['seed']}" if "seed" in meta else "")
            + "  (replay)"
        )
        self.k = 0
        self.congestion = Congestion(self.floor.n_nodes)
        a = rec.arrays
        self._targets = drive_target(a["waypoint"], a["task_goal"])
        self._events = np.flatnonzero(a["incidents"] > 0)
        self._frame: Frame | None = None
        self._chargers = recorded_chargers(rec)  #: None: recorded with the battery off

    @property
    def n_frames(self) -> int:
        return int(self.rec.n_frames)

    @property
    def t(self) -> int:
        return self.k

    def seek(self, k: int) -> None:
        self.k = int(np.clip(k, 0, self.n_frames - 1))

    def advance(self) -> bool:
        if self.k >= self.n_frames - 1:
            return False
        self.k += 1
        return True

    def back(self) -> bool:
        if self.k <= 0:
            return False
        self.k -= 1
        return True

    def restart(self, seed: int | None = None) -> None:
        self.seek(0)

    def frame(self) -> Frame:
        if self._frame is None or self._frame.t != self.k:
            self._frame = frame_from_recording(
                self.rec, self.k, label=self.label, chargers=self._chargers
            )
        return self._frame

    def heat(self, frame: Frame) -> np.ndarray:
        c = self.congestion
        last = c._t
        if last is not None and frame.t in (last, last + 1):
            return c.update(frame)
        return c.rebuild(self.rec.positions, self._targets, frame.t)

    def timeline(self) -> Timeline:
        return Timeline(k=self.k, n_frames=self.n_frames, events=self._events)


def replay_viewer(rec: Any, *, start: int = 0, **viewer_kw: Any) -> Any:
    """A :class:`~visualize.viewer.Viewer` over a recording, positioned at frame ``start``."""
    from .viewer import Viewer

    src = ReplaySource(rec)
    src.seek(start)
    return Viewer(src, **viewer_kw)
