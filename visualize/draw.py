"""Drawing a :class:`~visualize.frame.Frame` onto a pygame Surface (viewer, env.render, replay).

Layers, bottom to top:

1. the static floor (node kinds, grid lines, one-way arrows), cached as one Surface per zoom
   level (or scaled from a one-pixel-per-cell image for floors too large to cache);
2. the congestion heatmap (a per-cell alpha image scaled to the zoom);
3. markers painted with numpy straight into the canvas pixels, all robots at once: chargers
   (battery model on), cells the closures cut off (grey), closed cells, closed edges (a bar
   across), open orders, sub-goals, planned paths, collision / shield flashes, robots (filled
   cells or discs by state colour, or by charge with the ``battery`` overlay), their headings
   and corner marks (stuck / jammed; charging, waiting for a charger, depleted). No per-robot
   Python loop on this path;
4. text and lines only where they stay cheap: robot ids when zoomed in, station queues, the
   selected robot's path, targets and observation window;
5. the HUD bar (step, time, FPS, live KPIs, legend), the inspector panel, the replay timeline,
   the help overlay.

The renderer reads the frame only; it owns no simulation state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from warehouse.floor import GRID_OFFSETS, CompiledFloor
from warehouse.floor.checks import one_way_moves

from . import palette as pal
from .backend import require_pygame
from .frame import Frame, plan_paths
from .inspector import RobotInspection
from .layout import View

HUD_H = 62
TIMELINE_H = 30
PANEL_W = 300
MAX_STATIC_PIXELS = 24_000_000
HELP_LINES = (
    ("space", "pause / resume"),
    ("right", "one step (paused)"),
    ("left", "one step back (replay)"),
    ("+ / -", "speed (also = and the keypad)"),
    ("click", "inspect a robot (click empty floor: close)"),
    ("timeline", "click / drag: go to a frame (replay)"),
    ("h", "congestion heatmap"),
    ("p", "planned paths"),
    ("g", "sub-goals and goals"),
    ("b", "robots coloured by charge (battery)"),
    ("r", "restart: a new seed (live), frame 0 (replay)"),
    ("s", "screenshot (PNG)"),
    ("v", "start / stop GIF or MP4 capture"),
    ("wheel / drag", "zoom / pan    f: fit"),
    ("?", "this help"),
    ("esc / q", "quit"),
)


@dataclass
class Overlays:
    """Which optional layers are on."""

    heatmap: bool = False
    paths: bool = False
    subgoals: bool = False
    battery: bool = False  #: robots coloured by state of charge (battery model on only)
    flashes: bool = True
    help: bool = False


@dataclass(frozen=True)
class Timeline:
    """Replay position: frame ``k`` of ``n_frames``; ``events``: steps with collisions."""

    k: int
    n_frames: int
    events: np.ndarray


# ---------------------------------------------------------------------------------- shapes
def _square(size: int) -> np.ndarray:
    d = np.arange(size)
    return np.stack(np.meshgrid(d, d, indexing="ij"), axis=-1).reshape(-1, 2)


def _rect(width: int, height: int) -> np.ndarray:
    """Pixel offsets ``(dx, dy)`` of a ``width`` × ``height`` rectangle."""
    dx, dy = np.meshgrid(np.arange(width), np.arange(height), indexing="ij")
    return np.stack([dx, dy], axis=-1).reshape(-1, 2)


def _disc(size: int) -> np.ndarray:
    sq = _square(size)
    c = (size - 1) / 2.0
    keep = ((sq[:, 0] - c) ** 2 + (sq[:, 1] - c) ** 2) <= (size / 2.0) ** 2 + 0.25
    return sq[keep]


class Pixels:
    """The canvas pixels as a flat uint32 array (row-major), for vectorized painting."""

    def __init__(self, pg: Any, surface: Any) -> None:
        self._view = pg.surfarray.pixels2d(surface)  # (W, H), locks the surface
        self.width = int(self._view.shape[0])
        self.flat = self._view.T.reshape(-1)  # a view: rows of pixels are contiguous
        if not np.shares_memory(self.flat, self._view):  # pragma: no cover - odd pitch
            raise RuntimeError("canvas pixels are not contiguous")
        self.shifts = np.array(surface.get_shifts()[:3], dtype=np.uint32)

    def pack(self, colors: Any) -> np.ndarray:
        """RGB ``(3,)`` or ``(n, 3)`` → pixel values of the canvas format."""
        c = np.asarray(colors, dtype=np.uint32)
        return np.bitwise_or.reduce(c << self.shifts, axis=-1)

    def release(self) -> None:
        del self.flat
        del self._view


def paint(
    px: Pixels,
    xs: np.ndarray,
    ys: np.ndarray,
    shape: np.ndarray,
    colors: Any,
    clip: tuple[int, int, int, int],
) -> None:
    """Paint ``shape`` (``(k, 2)`` pixel offsets dx, dy) at every top-left ``(xs[i], ys[i])``
    in one vectorized write; ``colors`` is one RGB or ``(n, 3)``. Clipped to ``clip``."""
    xs = np.asarray(xs, dtype=np.int64)
    ys = np.asarray(ys, dtype=np.int64)
    if xs.size == 0 or shape.size == 0:
        return
    values = px.pack(colors)
    per_item = values.ndim == 1
    w = px.width
    x0, y0, x1, y1 = clip
    ext = shape.max(axis=0) + 1
    inside = (xs >= x0) & (ys >= y0) & (xs + ext[0] <= x1) & (ys + ext[1] <= y1)
    off = shape[:, 1].astype(np.int64) * w + shape[:, 0]
    if inside.any():
        idx = (ys[inside] * w + xs[inside])[:, None] + off[None, :]
        px.flat[idx] = values[inside][:, None] if per_item else values
    edge = ~inside & (xs + ext[0] > x0) & (xs < x1) & (ys + ext[1] > y0) & (ys < y1)
    if edge.any():
        xx = xs[edge][:, None] + shape[None, :, 0]
        yy = ys[edge][:, None] + shape[None, :, 1]
        ok = (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
        vals = np.broadcast_to(values[edge][:, None], xx.shape) if per_item else values
        px.flat[(yy * w + xx)[ok]] = vals[ok] if per_item else vals


def _one_way_moves(floor: CompiledFloor) -> np.ndarray:
    """``(k, 3)`` rows (node, d_row, d_col) of grid moves whose reverse is not allowed."""
    if not floor.is_grid:
        return np.zeros((0, 3), dtype=np.int64)
    nodes, actions = one_way_moves(floor)
    offsets = np.array(GRID_OFFSETS, dtype=np.int64).reshape(-1, 2)[actions]
    return np.column_stack([nodes, offsets]).astype(np.int64)


def _graph_edges(floor: CompiledFloor) -> np.ndarray:
    """``(k, 3)`` rows (node, node, one-way) of the moves of a floor that is not a grid (its
    edges are not implied by the cells, so they are drawn); each two-way edge once."""
    if floor.is_grid:
        return np.zeros((0, 3), dtype=np.int64)
    pairs = set(zip(*(m.tolist() for m in floor.moves()), strict=True))
    rows = [
        (a, b, int((b, a) not in pairs)) for a, b in sorted(pairs) if a < b or (b, a) not in pairs
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


# ---------------------------------------------------------------------------------- renderer
def kpi_line(frame: Frame) -> str:
    """The HUD's second line: the live KPIs of the frame. A one-shot MAPF instance
    (``tasks.assignment: one_shot``) shows its own (robots on their goal, solved since which
    step, the sum of costs against its lower bound) instead of orders and throughput."""
    k = frame.kpis
    # recordings made before the jammed_robots KPI have no such entry
    jammed = f" ({k['jammed_robots']} jammed)" if k.get("jammed_robots") else ""
    safety = f"collisions {k['collisions']}   shield {k['shield_interventions']}   "
    if k.get("solved") is not None:
        on_goal = round(k["on_goal_share"] * frame.n_robots)
        solved = f"solved at step {k['makespan']}" if k["solved"] else "not solved"
        soc = k.get("sum_of_costs")
        return (
            f"on goal {on_goal}/{frame.n_robots}   {solved}   "
            f"sum of costs {'-' if soc is None else soc} (bound {k['sum_of_costs_lb']})   "
            f"{safety}stuck {k['stuck_robots']}{jammed}   {k['distance_m']:.0f} m"
        )
    p50 = k.get("cycle_time_p50")
    return (
        f"delivered {k['deliveries']}   {k['throughput_per_hour']:.0f}/h   {safety}"
        f"util {k['utilization']:.0%}   stuck {k['stuck_robots']}{jammed}   "
        f"open orders {frame.open_picks.size}   "
        f"cycle p50 {'-' if p50 is None else f'{p50:.0f}s'}   {k['distance_m']:.0f} m"
    )


class Renderer:
    """Draws frames of one floor onto an offscreen canvas of ``size`` pixels."""

    def __init__(
        self, floor: CompiledFloor, size: tuple[int, int] = (1280, 800), *, timeline: bool = False
    ) -> None:
        self.pg = require_pygame()
        self.floor = floor
        self.size = (int(size[0]), int(size[1]))
        self.timeline = timeline
        self.canvas = self.pg.Surface(self.size)
        self.view = View(floor.shape, self.map_rect())
        self.view.fit()
        self.overlays = Overlays()
        self.fps = 0.0
        self.status = ""  #: extra HUD text (speed, paused, capture) set by the viewer
        self.message = ""  #: transient line at the bottom (screenshot saved, ...)
        height, width = floor.shape
        img = np.empty((height, width, 3), dtype=np.uint8)
        img[:] = pal.FLOOR[pal.NodeKind.BLOCKED]
        img[floor.pos[:, 0], floor.pos[:, 1]] = pal.floor_colors(floor.kind)
        self._cell_rgb = img
        self._one_way = _one_way_moves(floor)
        self._edges = _graph_edges(floor)
        self._static: tuple[int, Any] | None = None
        self._fonts: dict[int, Any] = {}
        self._texts: dict[tuple[str, int, tuple[int, int, int]], Any] = {}
        self._shapes: dict[tuple[str, int], np.ndarray] = {}

    # -- geometry --------------------------------------------------------------------------
    def map_rect(self) -> tuple[int, int, int, int]:
        w, h = self.size
        bottom = TIMELINE_H if self.timeline else 0
        return (0, HUD_H, w, max(1, h - HUD_H - bottom))

    def free_rect(self) -> tuple[int, int, int, int]:
        """The map area left of the inspector panel."""
        x, y, w, h = self.map_rect()
        return (x, y, max(1, w - PANEL_W), h)

    def reveal(self, frame: Frame, robot: int) -> None:
        """Pan so ``robot`` is not hidden by the inspector panel."""
        x, _ = self.robot_screen_center(frame, robot)
        fx, _, fw, _ = self.free_rect()
        if not fx <= x < fx + fw - self.view.cell:
            r, c = self.floor.pos[frame.pos[robot]]
            self.view.center_on(float(r), float(c), self.free_rect())

    def robot_screen_center(self, frame: Frame, robot: int) -> tuple[int, int]:
        r, c = self.floor.pos[frame.pos[robot]]
        return self.view.cell_center(int(r), int(c))

    def _shape(self, kind: str, size: int) -> np.ndarray:
        key = (kind, size)
        if key not in self._shapes:
            self._shapes[key] = _disc(size) if kind == "disc" else _square(size)
        return self._shapes[key]

    # -- text ----------------------------------------------------------------------------
    def font(self, size: int) -> Any:
        if size not in self._fonts:
            self._fonts[size] = self.pg.font.Font(None, size)
        return self._fonts[size]

    def text(self, s: str, size: int = 18, color: pal.Color = pal.TEXT) -> Any:
        key = (s, size, color)
        surf = self._texts.get(key)
        if surf is None:
            if len(self._texts) > 4096:
                self._texts.clear()
            surf = self._texts[key] = self.font(size).render(s, True, color)
        return surf

    # -- static floor ----------------------------------------------------------------------
    def _static_layer(self) -> Any | None:
        c = self.view.cell
        if self._static is not None and self._static[0] == c:
            return self._static[1]
        pg = self.pg
        height, width = self.floor.shape
        layer = None
        if width * height * c * c <= MAX_STATIC_PIXELS:
            small = pg.surfarray.make_surface(self._cell_rgb.transpose(1, 0, 2))
            layer = pg.transform.scale(small, (width * c, height * c))
            if c >= 8:
                for r in range(height + 1):
                    pg.draw.line(layer, pal.GRID_LINE, (0, r * c), (width * c, r * c))
                for col in range(width + 1):
                    pg.draw.line(layer, pal.GRID_LINE, (col * c, 0), (col * c, height * c))
            if c >= 10:
                self._draw_arrows(layer, c)
            if c >= 4 and len(self._edges):
                self._draw_edges(layer, c)
        self._static = (c, layer)
        return layer

    def _draw_edges(self, layer: Any, c: int) -> None:
        """The moves of a floor that is not a grid: a line per edge, a head on one-way ones."""
        pg, pos = self.pg, self.floor.pos.astype(np.float64)
        centre = pos[:, ::-1] * c + c / 2  # (x, y) per node
        for a, b, one_way in self._edges.tolist():
            (x0, y0), (x1, y1) = centre[a], centre[b]
            pg.draw.line(layer, pal.ARROW, (x0, y0), (x1, y1), max(1, c // 8))
            if one_way:
                mx, my = (x0 + x1) / 2, (y0 + y1) / 2
                length = max(1e-9, ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5)
                ux, uy, h = (x1 - x0) / length, (y1 - y0) / length, c * 0.3
                tip = (mx + ux * h, my + uy * h)
                left = (mx - ux * h * 0.6 - uy * h * 0.7, my - uy * h * 0.6 + ux * h * 0.7)
                right = (mx - ux * h * 0.6 + uy * h * 0.7, my - uy * h * 0.6 - ux * h * 0.7)
                pg.draw.polygon(layer, pal.ARROW, (tip, left, right))

    def _draw_arrows(self, layer: Any, c: int) -> None:
        pg, pos = self.pg, self.floor.pos
        h = c * 0.28
        for node, dr, dc in self._one_way.tolist():
            cx = pos[node, 1] * c + c / 2
            cy = pos[node, 0] * c + c / 2
            tip = (cx + dc * h, cy + dr * h)
            left = (cx - dc * h * 0.6 - dr * h * 0.8, cy - dr * h * 0.6 + dc * h * 0.8)
            right = (cx - dc * h * 0.6 + dr * h * 0.8, cy - dr * h * 0.6 - dc * h * 0.8)
            pg.draw.polygon(layer, pal.ARROW, (tip, left, right))

    def _blit_floor(self) -> None:
        v = self.view
        layer = self._static_layer()
        if layer is not None:
            self.canvas.blit(layer, (v.ox, v.oy))
            return
        r0, r1, c0, c1 = v.visible_cells()
        if r1 <= r0 or c1 <= c0:
            return
        crop = self._cell_rgb[r0:r1, c0:c1]
        small = self.pg.surfarray.make_surface(crop.transpose(1, 0, 2))
        big = self.pg.transform.scale(small, ((c1 - c0) * v.cell, (r1 - r0) * v.cell))
        self.canvas.blit(big, (v.ox + c0 * v.cell, v.oy + r0 * v.cell))

    def _blit_heat(self, heat: np.ndarray) -> None:
        pg, v, f = self.pg, self.view, self.floor
        r0, r1, c0, c1 = v.visible_cells()
        if r1 <= r0 or c1 <= c0 or heat.max() <= 0:
            return
        grid = np.zeros(f.shape, dtype=np.float64)
        grid[f.pos[:, 0], f.pos[:, 1]] = heat
        crop = grid[r0:r1, c0:c1]
        alpha = np.clip(crop / max(float(heat.max()), 3.0), 0.0, 1.0) * 210.0
        surf = pg.Surface((c1 - c0, r1 - r0), pg.SRCALPHA)
        rgb = pg.surfarray.pixels3d(surf)
        rgb[:] = pal.HEAT
        del rgb
        a = pg.surfarray.pixels_alpha(surf)
        a[:] = alpha.T.astype(np.uint8)
        del a
        big = pg.transform.scale(surf, ((c1 - c0) * v.cell, (r1 - r0) * v.cell))
        self.canvas.blit(big, (v.ox + c0 * v.cell, v.oy + r0 * v.cell))

    # -- the frame ---------------------------------------------------------------------------
    def draw(
        self,
        frame: Frame,
        *,
        heat: np.ndarray | None = None,
        selected: int | None = None,
        inspection: RobotInspection | None = None,
        timeline: Timeline | None = None,
    ) -> Any:
        """Draw ``frame`` and return the canvas Surface."""
        pg, canvas = self.pg, self.canvas
        canvas.fill(pal.BACKGROUND)
        mx, my, mw, mh = self.map_rect()
        canvas.set_clip(pg.Rect(mx, my, mw, mh))
        self._blit_floor()
        if self.overlays.heatmap and heat is not None:
            self._blit_heat(heat)
        w, h = canvas.get_size()  # (a map area that runs past a small canvas is cut to it)
        self._paint_markers(frame, (mx, my, min(mx + mw, w), min(my + mh, h)))
        self._draw_labels(frame)
        if selected is not None and 0 <= selected < frame.n_robots:
            self._draw_selected(frame, selected, inspection)
        canvas.set_clip(None)
        self._draw_hud(frame)
        if inspection is not None:
            self._draw_inspector(inspection)
        if timeline is not None and self.timeline:
            self._draw_timeline(timeline)
        if self.overlays.help:
            self._draw_help()
        if self.message:
            surf = self.text(self.message, 18)
            y = my + mh - surf.get_height() - 6
            pg.draw.rect(
                canvas, pal.PANEL, (6, y - 3, surf.get_width() + 10, surf.get_height() + 6)
            )
            canvas.blit(surf, (11, y))
        return canvas

    def _visible(self, nodes: np.ndarray) -> np.ndarray:
        """Bool mask of nodes inside the map area."""
        r0, r1, c0, c1 = self.view.visible_cells()
        p = self.floor.pos[nodes]
        return (p[:, 0] >= r0) & (p[:, 0] < r1) & (p[:, 1] >= c0) & (p[:, 1] < c1)

    def _xy(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.view.cell_to_screen(self.floor.pos[nodes])

    def _centered(self, nodes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._xy(nodes)
        off = (self.view.cell - size) // 2
        return x + off, y + off

    def _paint_markers(self, frame: Frame, clip: tuple[int, int, int, int]) -> None:
        pg, c, f = self.pg, self.view.cell, self.floor
        ov = self.overlays
        states = pal.robot_states(frame.shown_phase, frame.broken)
        colors = pal.STATE_RGB[states]
        px = Pixels(pg, self.canvas)
        try:
            if frame.chargers.size:  # the battery model is on: a lime cell with a dark plug
                x, y = self._xy(frame.chargers)
                d = 1 if c >= 8 else 0  # keep the grid lines
                paint(px, x + d, y + d, self._shape("sq", c - d), pal.CHARGER, clip)
                if c >= 8:
                    k = max(2, c // 5)
                    x, y = self._centered(frame.chargers, k)
                    paint(px, x, y, self._shape("sq", k), pal.HEADING, clip)
            if frame.cut_off.size:
                x, y = self._xy(frame.cut_off)
                paint(px, x, y, self._shape("sq", c), pal.CUT_OFF, clip)
            if frame.closed.size:
                x, y = self._xy(frame.closed)
                paint(px, x, y, self._shape("sq", c), pal.CLOSED, clip)
            if frame.closed_edges.size:
                self._paint_closed_edges(px, frame.closed_edges, clip)
            if frame.open_picks.size:
                picks = np.unique(frame.open_picks)
                k = max(2, c // 3)
                x, y = self._centered(picks, k)
                paint(px, x, y, self._shape("sq", k), pal.ORDER, clip)
            if ov.paths:
                self._paint_paths(px, frame, colors, clip)
            if ov.subgoals:
                self._paint_goals(px, frame, colors, clip)
            vis = np.flatnonzero(self._visible(frame.pos))
            nodes = frame.pos[vis]
            margin = 0 if c <= 3 else max(1, c // 8)
            size = c - 2 * margin
            st = frame.step
            if ov.flashes and st is not None:
                for flag, color in (
                    (st.intervened, pal.INTERVENTION),
                    (st.collided, pal.COLLISION),
                ):
                    if flag is None:
                        continue
                    hit = nodes[np.asarray(flag)[vis]]
                    ring = c + (2 if margin == 0 else 0)
                    x, y = self._xy(hit)
                    d = (c - ring) // 2
                    paint(px, x + d, y + d, self._shape("sq", ring), color, clip)
            kind = "disc" if size >= 6 else "sq"
            x, y = self._xy(nodes)
            fill = colors[vis]
            if ov.battery and frame.battery:
                fill = pal.soc_colors(frame.soc[vis])
            paint(px, x + margin, y + margin, self._shape(kind, size), fill, clip)
            if size >= 5:  # stuck and jammed robots: a mark in the cell's top-right corner
                k = max(2, size // 3)
                for flag, color in zip(frame.stalled(), (pal.STUCK, pal.JAMMED), strict=True):
                    hit = flag[vis]
                    cx, cy = x[hit] + margin + size - k, y[hit] + margin
                    paint(px, cx, cy, self._shape("sq", k), color, clip)
                if frame.charge is not None:  # battery: a mark in the bottom-left corner
                    code = frame.charge[vis]
                    for value, mark in enumerate(pal.CHARGE_MARKS):
                        hit = code == value
                        if mark is None or not hit.any():
                            continue
                        cx, cy = x[hit] + margin, y[hit] + margin + size - k
                        paint(px, cx, cy, self._shape("sq", k), mark, clip)
            if size >= 5 and f.is_grid and st is not None:
                a = np.asarray(st.actions)[vis]
                moving = (a > 0) & (a < len(GRID_OFFSETS))
                off = np.asarray(GRID_OFFSETS)[a[moving]]
                k = max(2, size // 6)
                reach = size // 2 - k // 2 - (1 if kind == "disc" else 0)
                cx = x[moving] + c // 2 - k // 2 + off[:, 1] * reach
                cy = y[moving] + c // 2 - k // 2 + off[:, 0] * reach
                paint(px, cx, cy, self._shape("sq", k), pal.HEADING, clip)
        finally:
            px.release()

    def _paint_closed_edges(self, px: Pixels, moves: np.ndarray, clip) -> None:
        """A bar in the closed colour across each closed edge (``faults.closures[].edges``),
        at the middle between its two cells: across the shared side of two neighbouring cells,
        a square half a cell wide for other moves (diagonal, or into a long edge)."""
        c = self.view.cell
        pairs = np.unique(np.sort(np.asarray(moves, dtype=np.int64), axis=1), axis=0)
        a, b = self.floor.pos[pairs[:, 0]], self.floor.pos[pairs[:, 1]]
        xa, ya = self.view.cell_to_screen(a)
        xb, yb = self.view.cell_to_screen(b)
        cx, cy = (xa + xb + c) // 2, (ya + yb + c) // 2  # the middle between the two centres
        d = b - a
        thick = max(2, c // 4)
        across = max(2, c - 2 * max(1, c // 8)) if c >= 6 else c
        kinds = (
            (d[:, 0] == 0) & (np.abs(d[:, 1]) == 1),  # side by side: a vertical bar
            (d[:, 1] == 0) & (np.abs(d[:, 0]) == 1),  # one above the other: a horizontal bar
        )
        other = ~(kinds[0] | kinds[1])
        for hit, w, h in ((kinds[0], thick, across), (kinds[1], across, thick)):
            if hit.any():
                paint(px, cx[hit] - w // 2, cy[hit] - h // 2, _rect(w, h), pal.CLOSED, clip)
        if other.any():
            k = max(2, c // 2)
            paint(
                px, cx[other] - k // 2, cy[other] - k // 2, self._shape("sq", k), pal.CLOSED, clip
            )

    def _paint_paths(self, px: Pixels, frame: Frame, colors: np.ndarray, clip) -> None:
        c = self.view.cell
        robots = np.flatnonzero(frame.target >= 0)
        if robots.size == 0:
            return
        length = 60 if frame.n_robots <= 200 else 16
        routes = plan_paths(
            self.floor, frame.dist, frame.pos[robots], frame.target[robots], length, sim=frame.sim
        )
        step = routes[:, 1:]
        fresh = step != routes[:, :-1]
        who = np.broadcast_to(np.arange(robots.size)[:, None], step.shape)[fresh]
        k = max(1, c // 4)
        x, y = self._centered(step[fresh], k)
        dark = (colors[robots].astype(np.uint16) * 3 // 5).astype(np.uint8)
        paint(px, x, y, self._shape("sq", k), dark[who], clip)

    def _paint_goals(self, px: Pixels, frame: Frame, colors: np.ndarray, clip) -> None:
        c = self.view.cell
        k = max(2, c // 3)
        goal = frame.task_goal >= 0
        if goal.any():
            x, y = self._centered(frame.task_goal[goal], k + 2)
            paint(px, x, y, self._shape("sq", k + 2), pal.HEADING, clip)
            paint(px, x + 1, y + 1, self._shape("sq", k), colors[goal], clip)
        wp = frame.waypoint >= 0
        if wp.any():
            x, y = self._centered(frame.waypoint[wp], k)
            paint(px, x, y, self._shape("disc", k), pal.SUBGOAL, clip)

    def _draw_labels(self, frame: Frame) -> None:
        pg, c, canvas = self.pg, self.view.cell, self.canvas
        if c >= 6:
            queues = frame.station_queues()
            busy = np.flatnonzero(queues > 0)
            size = min(max(c, 12), 20)
            for node, q in zip(
                self.floor.stations[busy].tolist(), queues[busy].tolist(), strict=True
            ):
                surf = self.text(str(q), size, pal.TEXT)
                cx, cy = self.view.cell_center(*self.floor.pos[node])
                box = surf.get_rect(center=(cx, cy))
                if c >= 16:  # robot ids are drawn: the count goes to a corner, off the id
                    box.bottomright = (cx + (c + 1) // 2 - 3, cy + (c + 1) // 2 - 2)
                pg.draw.rect(canvas, pal.QUEUE, box.inflate(4, 2))
                canvas.blit(surf, box)
        if c >= 16:
            vis = np.flatnonzero(self._visible(frame.pos))
            if vis.size <= 400:
                size = int(np.clip(c * 0.6, 11, 22))
                for i in vis.tolist():
                    surf = self.text(str(i), size, pal.HEADING)
                    canvas.blit(surf, surf.get_rect(center=self.robot_screen_center(frame, i)))

    def _draw_selected(self, frame: Frame, robot: int, inspection: RobotInspection | None) -> None:
        pg, canvas, v = self.pg, self.canvas, self.view
        c = v.cell
        if inspection is not None and len(inspection.path) > 1:
            pts = [v.cell_center(int(r), int(col)) for r, col in inspection.path]
            pg.draw.lines(canvas, pal.PATH, False, pts, max(2, c // 5))
        for node, color in (
            (frame.task_goal[robot], pal.GOAL),
            (frame.waypoint[robot], pal.SUBGOAL),
        ):
            if node >= 0:
                x, y = v.cell_to_screen(self.floor.pos[node])
                pg.draw.rect(canvas, color, (int(x) - 2, int(y) - 2, c + 4, c + 4), 3)
        radius = int(frame.observation_config.radius)
        r, col = self.floor.pos[frame.pos[robot]]
        x, y = v.cell_to_screen(np.array([r - radius, col - radius]))
        side = (2 * radius + 1) * c
        pg.draw.rect(canvas, pal.OBS_WINDOW, (int(x), int(y), side, side), 2)
        x, y = v.cell_to_screen(np.array([r, col]))
        pg.draw.rect(canvas, pal.SELECTED, (int(x) - 3, int(y) - 3, c + 6, c + 6), 2)

    # -- HUD, panels ---------------------------------------------------------------------------
    def _draw_hud(self, frame: Frame) -> None:
        pg, canvas = self.pg, self.canvas
        w = self.size[0]
        pg.draw.rect(canvas, pal.PANEL, (0, 0, w, HUD_H))
        pg.draw.line(canvas, pal.PANEL_EDGE, (0, HUD_H - 1), (w, HUD_H - 1))
        minutes, secs = divmod(frame.seconds, 60.0)
        fps = f"{self.fps:4.0f} FPS   " if self.fps > 0 else ""  # none measured (headless)
        head = f"step {frame.t}   {int(minutes)}:{secs:04.1f} sim   {fps}"
        head += f"{frame.n_robots} robots   "
        if frame.charge is not None:  # the battery model is on
            n = np.bincount(frame.charge.astype(np.int64), minlength=len(pal.CHARGE_NAMES))
            head += f"charging {n[3]}  to charger {n[1] + n[2]}  depleted {n[4]}   "
        if frame.closed.size:  # random or scheduled closures (faults)
            head += f"{frame.closed.size} cell{'s' if frame.closed.size != 1 else ''} closed   "
        if frame.closed_edges.size:  # closed edges (faults.closures[].edges)
            m = int(np.unique(np.sort(frame.closed_edges, axis=1), axis=0).shape[0])
            head += f"{m} edge{'s' if m != 1 else ''} closed   "
        if frame.cut_off.size:  # open cells the scheduled closures cut off
            cut = frame.cut_off.size
            head += f"{cut} cell{'s' if cut != 1 else ''} cut off   "
        head += self.status
        if frame.label:
            head = f"{frame.label}   {head}"
        canvas.blit(self.text(head, 18), (8, 5))
        canvas.blit(self.text(kpi_line(frame), 18, pal.TEXT_DIM), (8, 24))
        x = 8
        filled = [*zip(pal.STATE_NAMES, pal.STATE_COLORS, strict=True)]
        filled += [("order", pal.ORDER), ("sub-goal", pal.SUBGOAL)]
        for name, color in filled:
            x = self._legend_entry(x, name, color, (0, 0, 11, 11))
        for name, color in (("stuck", pal.STUCK), ("jammed", pal.JAMMED)):
            x = self._legend_entry(x, name, color, (5, 0, 6, 6))
        for name, color in (("shield", pal.INTERVENTION), ("collision", pal.COLLISION)):
            x = self._legend_entry(x, name, color, (0, 0, 11, 11), width=2)
        if frame.closed.size or frame.closed_edges.size or frame.cut_off.size:
            self.pg.draw.rect(canvas, pal.PANEL_EDGE, (x - 1, 44, 13, 13))  # (closed: dark)
            for name, color in (("closed", pal.CLOSED), ("cut off", pal.CUT_OFF)):
                x = self._legend_entry(x, name, color, (0, 0, 11, 11))
        if frame.battery:
            self._draw_battery_legend(x)

    def _legend_entry(
        self, x: int, name: str, color: pal.Color, box: tuple[int, int, int, int], width: int = 0
    ) -> int:
        """One legend entry of the HUD at ``x``: a swatch (``box`` relative to the entry, an
        outline of ``width`` when > 0) and its name; returns where the next one starts."""
        dx, dy, w, h = box
        self.pg.draw.rect(self.canvas, color, (x + dx, 45 + dy, w, h), width)
        surf = self.text(name, 16, pal.TEXT_DIM)
        self.canvas.blit(surf, (x + 15, 44))
        return x + 15 + surf.get_width() + 12

    def _draw_battery_legend(self, x: int) -> None:
        """Legend entries of the battery model: the charger cell, the corner marks and, with
        the ``battery`` overlay, the charge colour scale."""
        pg, canvas = self.pg, self.canvas
        pg.draw.rect(canvas, pal.CHARGER, (x, 45, 11, 11))
        pg.draw.rect(canvas, pal.HEADING, (x + 4, 49, 3, 3))
        surf = self.text("charger", 16, pal.TEXT_DIM)
        canvas.blit(surf, (x + 15, 44))
        x += 15 + surf.get_width() + 12
        marks = (("charging", pal.CHARGER), ("to charger", pal.CHARGE_WAIT))
        for name, color in (*marks, ("depleted", pal.DEPLETED)):
            pg.draw.rect(canvas, color, (x, 50, 6, 6))
            surf = self.text(name, 16, pal.TEXT_DIM)
            canvas.blit(surf, (x + 10, 44))
            x += 10 + surf.get_width() + 12
        if self.overlays.battery:
            scale = pal.soc_colors(np.linspace(0.0, 1.0, 40))
            for i, color in enumerate(scale.tolist()):
                pg.draw.line(canvas, color, (x + i, 45), (x + i, 55))
            canvas.blit(self.text("0-100% charge", 16, pal.TEXT_DIM), (x + 44, 44))

    def _draw_inspector(self, ins: RobotInspection) -> None:
        pg, canvas = self.pg, self.canvas
        w, _ = self.size
        _, my, _, mh = self.map_rect()
        x0 = w - PANEL_W
        panel = pg.Rect(x0, my, PANEL_W, mh)
        pg.draw.rect(canvas, pal.PANEL, panel)
        pg.draw.line(canvas, pal.PANEL_EDGE, (x0, my), (x0, my + mh))
        canvas.set_clip(panel)
        x, y = x0 + 10, my + 8
        color = pal.STATE_COLORS[pal.STATE_NAMES.index(ins.state)]
        pg.draw.rect(canvas, color, (x, y + 2, 14, 14))
        canvas.blit(self.text(f"robot {ins.robot}  {ins.state}", 24), (x + 20, y))
        y += 26

        def cell(c: tuple[int, int] | None) -> str:
            return "-" if c is None else f"({c[0]}, {c[1]})"

        lines = [
            f"phase {ins.phase}" + (f"  timer {ins.timer}" if ins.timer else ""),
            f"at {cell(ins.cell)}   node {ins.node}",
            f"order {ins.order if ins.order >= 0 else '-'}   task goal {cell(ins.task_goal)}",
            f"sub-goal {cell(ins.waypoint)}",
            f"target {cell(ins.target)}   steps "
            f"{'-' if ins.steps_to_target is None else ins.steps_to_target}",
        ]
        if ins.broken:
            lines.append(f"BROKEN: {ins.broken} steps left")
        if ins.since_progress:
            lines.append(f"no progress for {ins.since_progress} steps" + ins.stall_note)
        if ins.battery_note:
            lines.append(ins.battery_note)
        if ins.closed_note:
            lines.append(ins.closed_note)
        lines.append(ins.shield_note + ("   COLLIDED" if ins.collided else ""))
        for line in lines:
            hl = line.startswith("shield:") and ins.intervened
            canvas.blit(self.text(line, 18, pal.INTERVENTION if hl else pal.TEXT), (x, y))
            y += 19
        y += 6
        canvas.blit(self.text("sees now (observation window)", 16, pal.TEXT_DIM), (x, y))
        y += 16
        y = self._draw_window(ins, x, y) + 8
        title = "last decision (preferences)" if ins.preferences is not None else "last decision"
        canvas.blit(self.text(title, 16, pal.TEXT_DIM), (x, y))
        y += 17
        self._draw_bars(ins, x, y)
        canvas.set_clip(None)

    def _draw_window(self, ins: RobotInspection, x: int, y: int) -> int:
        pg, canvas = self.pg, self.canvas
        n_ch, side, _ = ins.window.shape
        px = max(2, min(10, 64 // side))
        for ch in range(n_ch):
            img = ins.window[ch]
            if ins.channel_names[ch] == "cost_to_go":
                # diverging: blue (closer to target) - white - red (farther / blocked)
                t = np.clip(img, -1.0, 1.0)
                rgb = np.empty((*img.shape, 3), dtype=np.float64)
                rgb[..., 0] = np.where(t < 0, 255 * (1 + t), 255)
                rgb[..., 1] = 255 * (1 - np.abs(t))
                rgb[..., 2] = np.where(t > 0, 255 * (1 - t), 255)
            else:
                rgb = np.repeat((np.clip(img, 0, 1) * 255.0)[..., None], 3, axis=2)
            surf = pg.surfarray.make_surface(rgb.astype(np.uint8).transpose(1, 0, 2))
            surf = pg.transform.scale(surf, (side * px, side * px))
            xx = x + ch * (side * px + 8)
            canvas.blit(surf, (xx, y))
            pg.draw.rect(canvas, pal.PANEL_EDGE, (xx - 1, y - 1, side * px + 2, side * px + 2), 1)
            canvas.blit(self.text(ins.channel_names[ch], 14, pal.TEXT_DIM), (xx, y + side * px + 2))
        return y + side * px + 14

    def _draw_bars(self, ins: RobotInspection, x: int, y: int) -> None:
        pg, canvas = self.pg, self.canvas
        names = ins.action_names
        prefs = ins.preferences
        allowed = np.ones(len(names), bool) if ins.mask is None else ins.mask
        if prefs is not None:
            allowed = allowed & np.isfinite(prefs)
        vals = np.zeros(len(names))
        if prefs is not None and allowed.any():
            lo, hi = prefs[allowed].min(), prefs[allowed].max()
            vals = np.where(allowed, (prefs - lo) / (hi - lo) if hi > lo else 1.0, 0.0)
        for a, name in enumerate(names):
            mark = ""
            if a == ins.executed:
                mark = " executed"
            if a == ins.proposed and ins.proposed != ins.executed:
                mark = " proposed"
            color = pal.TEXT if allowed[a] else pal.TEXT_DIM
            canvas.blit(self.text(name, 16, color), (x, y))
            bar_color = pal.GOAL if a == ins.executed else pal.TIMELINE
            if a == ins.proposed and ins.proposed != ins.executed:
                bar_color = pal.INTERVENTION
            if prefs is not None and allowed[a]:
                length = 6 + int(150 * vals[a])
                pg.draw.rect(canvas, bar_color, (x + 50, y + 2, length, 11))
                canvas.blit(
                    self.text(f"{prefs[a]:.2f}{mark}", 14, pal.TEXT_DIM), (x + 60 + length, y + 1)
                )
            else:
                label = "masked" if not allowed[a] else ""
                canvas.blit(self.text(f"{label}{mark}", 14, pal.TEXT_DIM), (x + 50, y + 1))
            y += 16

    def _draw_timeline(self, tl: Timeline) -> None:
        pg, canvas = self.pg, self.canvas
        w, h = self.size
        y0 = h - TIMELINE_H
        pg.draw.rect(canvas, pal.PANEL, (0, y0, w, TIMELINE_H))
        x0, x1 = 10, w - 150
        bar = pg.Rect(x0, y0 + 10, x1 - x0, 10)
        pg.draw.rect(canvas, pal.PANEL_EDGE, bar)
        last = max(tl.n_frames - 1, 1)
        fill = int((x1 - x0) * tl.k / last)
        pg.draw.rect(canvas, pal.TIMELINE, (x0, y0 + 10, fill, 10))
        if tl.events.size:
            xs = (x0 + (x1 - x0) * (tl.events + 1) / last).astype(int)
            for xx in np.unique(xs).tolist():
                pg.draw.line(canvas, pal.COLLISION, (xx, y0 + 6), (xx, y0 + 24))
        pg.draw.rect(canvas, pal.TEXT, (x0 + fill - 2, y0 + 5, 5, 20))
        canvas.blit(self.text(f"frame {tl.k} / {tl.n_frames - 1}", 18), (x1 + 12, y0 + 8))

    def timeline_frame(self, x: float, n_frames: int) -> int:
        """Frame under screen ``x`` on the timeline bar."""
        x0, x1 = 10, self.size[0] - 150
        u = np.clip((x - x0) / max(x1 - x0, 1), 0.0, 1.0)
        return int(np.rint(u * (n_frames - 1)))

    def in_timeline(self, y: float) -> bool:
        return self.timeline and y >= self.size[1] - TIMELINE_H

    def on_map(self, x: float, y: float, panel: bool) -> bool:
        """Whether a screen point lies on the map, not on the HUD, the timeline or (``panel``:
        the inspector is open) its panel: where the wheel zooms and a drag pans."""
        mx, my, mw, mh = self.free_rect() if panel else self.map_rect()
        return mx <= x < mx + mw and my <= y < my + mh

    def _draw_help(self) -> None:
        pg, canvas = self.pg, self.canvas
        w, h = self.size
        bw, bh = min(440, w - 8), 28 + 20 * len(HELP_LINES)  # (narrow windows: clipped)
        box = pg.Rect((w - bw) // 2, max(HUD_H + 8, (h - bh) // 2), bw, bh)
        shade = pg.Surface(box.size, pg.SRCALPHA)
        shade.fill((*pal.PANEL, 235))
        canvas.blit(shade, box)
        pg.draw.rect(canvas, pal.PANEL_EDGE, box, 1)
        y = box.y + 10
        for key, what in HELP_LINES:
            canvas.blit(self.text(key, 18, pal.TIMELINE), (box.x + 14, y))
            canvas.blit(self.text(what, 18), (box.x + 130, y))
            y += 20

    # -- output ----------------------------------------------------------------------------
    def rgb_array(self) -> np.ndarray:
        """The canvas as a uint8 ``(H, W, 3)`` array."""
        canvas = self.canvas
        w, h = canvas.get_size()
        shifts = canvas.get_shifts()[:3]
        if canvas.get_bytesize() != 4 or any(s % 8 for s in shifts) or np.little_endian is False:
            raw = self.pg.image.tobytes(canvas, "RGB")
            return np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3).copy()
        # Fast path: read the 32-bit pixels in place and pick the R, G, B bytes.
        pixels = self.pg.surfarray.pixels2d(canvas)
        try:
            b = pixels.T.view(np.uint8).reshape(h, w, 4)
            out = np.empty((h, w, 3), dtype=np.uint8)
            for ch, shift in enumerate(shifts):
                out[..., ch] = b[..., shift // 8]
        finally:
            del pixels
        return out
