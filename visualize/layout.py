"""World ↔ screen transform of the map area: integer pixels per cell, zoom and pan.

Cell ``(row, col)`` covers the screen pixels ``[ox + col·c, ox + (col+1)·c)`` horizontally and
``[oy + row·c, oy + (row+1)·c)`` vertically, where ``c`` (:attr:`View.cell`) is a whole number
of pixels, so cells stay crisp at every zoom and the static floor can be cached per zoom level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_CELL = 64


@dataclass
class View:
    """The map area ``rect = (x, y, w, h)`` of the canvas showing a ``(H, W)`` cell grid."""

    grid_shape: tuple[int, int]
    rect: tuple[int, int, int, int]
    cell: int = 1
    ox: int = 0
    oy: int = 0

    def fit(self, rect: tuple[int, int, int, int] | None = None) -> None:
        """Largest cell size showing the whole floor, centred in ``rect`` (default: the map)."""
        height, width = self.grid_shape
        x, y, w, h = rect or self.rect
        self.cell = int(np.clip(min(w // max(width, 1), h // max(height, 1)), 1, MAX_CELL))
        self.ox = x + (w - width * self.cell) // 2
        self.oy = y + (h - height * self.cell) // 2

    # -- transforms ----------------------------------------------------------------------
    def cell_to_screen(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-left pixel ``(x, y)`` of ``(…, 2)`` (row, col) cells."""
        cells = np.asarray(cells)
        return self.ox + cells[..., 1] * self.cell, self.oy + cells[..., 0] * self.cell

    def cell_center(self, row: float, col: float) -> tuple[int, int]:
        half = self.cell // 2
        return int(self.ox + col * self.cell + half), int(self.oy + row * self.cell + half)

    def screen_to_cell(self, x: float, y: float) -> tuple[int, int]:
        """(row, col) under a screen pixel (may lie outside the grid)."""
        return int((y - self.oy) // self.cell), int((x - self.ox) // self.cell)

    def contains(self, x: float, y: float) -> bool:
        rx, ry, rw, rh = self.rect
        return rx <= x < rx + rw and ry <= y < ry + rh

    def visible_cells(self) -> tuple[int, int, int, int]:
        """``(row0, row1, col0, col1)`` half-open range of grid cells inside the map area."""
        height, width = self.grid_shape
        x, y, w, h = self.rect
        c = self.cell
        col0 = max(0, (x - self.ox) // c)
        col1 = min(width, -(-(x + w - self.ox) // c))
        row0 = max(0, (y - self.oy) // c)
        row1 = min(height, -(-(y + h - self.oy) // c))
        return int(row0), int(max(row0, row1)), int(col0), int(max(col0, col1))

    # -- interaction ---------------------------------------------------------------------
    def zoom(self, steps: int, anchor: tuple[float, float]) -> None:
        """Zoom in (``steps`` > 0) or out around a screen point, keeping it on the same cell."""
        old = self.cell
        new = old
        for _ in range(abs(steps)):
            new = max(new + 1, round(new * 1.25)) if steps > 0 else min(new - 1, round(new / 1.25))
        new = int(np.clip(new, 1, MAX_CELL))
        if new == old:
            return
        ax, ay = anchor
        # World coordinate (in cells) under the anchor stays put.
        wx, wy = (ax - self.ox) / old, (ay - self.oy) / old
        self.cell = new
        self.ox = round(ax - wx * new)
        self.oy = round(ay - wy * new)

    def pan(self, dx: float, dy: float) -> None:
        self.ox += int(dx)
        self.oy += int(dy)

    def center_on(
        self, row: float, col: float, rect: tuple[int, int, int, int] | None = None
    ) -> None:
        x, y, w, h = rect or self.rect
        self.ox = int(x + w // 2 - (col + 0.5) * self.cell)
        self.oy = int(y + h // 2 - (row + 0.5) * self.cell)
