"""Scenario files: schema, built-in registry and loading into a compiled floor."""

from .load import apply_overrides, build_floor, load_scenario
from .registry import builtin_names, builtin_path
from .schema import Scenario

__all__ = [
    "Scenario",
    "apply_overrides",
    "build_floor",
    "builtin_names",
    "builtin_path",
    "load_scenario",
]
