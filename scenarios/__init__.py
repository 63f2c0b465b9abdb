"""Scenario files: schema, built-in registry and loading into a compiled floor."""

from .load import (
    apply_overrides,
    blame_override,
    build_floor,
    check_fits,
    graph_scenario,
    load_scenario,
    parse_assignment,
    validate_scenario,
)
from .registry import builtin_names, builtin_path, describe
from .schema import Scenario

__all__ = [
    "Scenario",
    "apply_overrides",
    "blame_override",
    "build_floor",
    "builtin_names",
    "builtin_path",
    "check_fits",
    "describe",
    "graph_scenario",
    "load_scenario",
    "parse_assignment",
    "validate_scenario",
]
