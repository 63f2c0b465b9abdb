"""Lazy pygame import: the core, the env and ``import visualize`` work without pygame."""

from __future__ import annotations

import os
from types import ModuleType

INSTALL_HINT = 'pip install -e ".[render]"'


def require_pygame(*, headless: bool = False) -> ModuleType:
    """Import pygame (pygame-ce) or raise an ImportError naming the extra to install.

    ``headless=True`` selects SDL's dummy video driver unless a driver was chosen already, so
    windows can be "opened" without a display (tests, frame dumps).
    """
    if headless:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            f"the visualizer needs pygame-ce, an optional extra: {INSTALL_HINT}"
        ) from exc
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame


def require_imageio() -> ModuleType:
    """Import imageio (GIF/MP4 capture) or raise an ImportError naming the extra."""
    try:
        import imageio.v2 as imageio
    except ImportError as exc:
        raise ImportError(f"recording GIF/MP4 needs imageio: {INSTALL_HINT}") from exc
    return imageio
