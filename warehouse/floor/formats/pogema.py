"""POGEMA string maps, as a ``.txt`` file or a YAML file of named maps.

One character per cell: ``.`` free, ``#`` obstacle, ``@`` start-only cell (agents may start
there but are never sent there), ``$`` goal-only cell (a target, never a start).

Node attributes: ``@`` cells get ``start=True, goal=False``, ``$`` cells ``goal=True,
start=False``, free cells both True. Kinds follow the warehouse reading of POGEMA's
``wfi_warehouse`` (the same floor as RHCR's ``kiva.map``): ``@`` cells are pick faces (the
shelf-facing cells, RHCR ``e``), ``$`` cells are stations (RHCR ``r``); ``explicit_kinds`` is
then True. A map without ``@`` or ``$`` gets both kinds from
:func:`~warehouse.floor.grid.infer_pick_and_station_cells`.

The YAML form is a mapping ``name: map string`` (POGEMA's map collections); rows may also be
given as a list of strings. :func:`parse_pogema_yaml` takes ``map_name`` to pick one entry and
needs it only when the file holds several.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import yaml

from ...errors import InputError
from ..grid import graph_from_grid
from ..kinds import NodeKind
from .common import fill_missing_kinds, grid_codes, text_rows

START_ONLY, GOAL_ONLY = 10, 11
LEGEND = {".": NodeKind.AISLE, "#": NodeKind.BLOCKED, "@": START_ONLY, "$": GOAL_ONLY}


def parse_pogema(
    text: str,
    *,
    source: str | Path | None = None,
    name: str = "pogema",
    field: str = "",
    cell_size: float = 1.0,
) -> nx.Graph:
    """Floor graph of one POGEMA map string (see module docstring)."""
    rows = text_rows(text)
    if not rows:
        raise InputError(source, field or None, "the map is empty")
    codes = grid_codes(rows, LEGEND, source=source, prefix=field)
    start_only, goal_only = codes == START_ONLY, codes == GOAL_ONLY
    kinds = codes.astype(np.int8)
    kinds[start_only] = NodeKind.PICK
    kinds[goal_only] = NodeKind.STATION
    kinds, explicit, inferred = fill_missing_kinds(kinds)
    graph = graph_from_grid(
        kinds, cell_size=cell_size, name=name, start_mask=~goal_only, goal_mask=~start_only
    )
    graph.graph.update(explicit_kinds=explicit, inferred_kinds=inferred, format="pogema")
    return graph


def parse_pogema_yaml(
    text: str,
    *,
    source: str | Path | None = None,
    map_name: str | None = None,
    cell_size: float = 1.0,
) -> nx.Graph:
    """Floor graph of one entry of a POGEMA YAML map collection (``name: map string``)."""
    try:
        for _event in yaml.parse(text, Loader=yaml.SafeLoader):  # syntax first, as before
            pass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise InputError(source, where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    # then the bounded reading of scenario files: a key given twice is refused (plain PyYAML
    # keeps the last, so map_name could pick a map the file does not show under that name),
    # as are alias bombs, deep nesting and !!python tags
    from scenarios.safe_yaml import parse_yaml

    data = parse_yaml(text, source)
    if not isinstance(data, dict) or not data:
        raise InputError(source, None, "expected a mapping of map names to map strings")
    maps = {str(k): _map_string(v) for k, v in data.items()}
    names = [k for k, v in maps.items() if v is not None]
    if map_name is None:
        if not names:
            raise InputError(source, None, "no map strings found (expected name: map string)")
        other = next((k for k, v in maps.items() if v is None), None)
        if other is not None:  # not silently passed over: the file may not be what it seems
            raise InputError(source, other, "expected a map string (rows separated by newlines)")
        if len(names) > 1:
            raise InputError(
                source,
                None,
                f"the file holds {len(names)} maps ({', '.join(names[:5])}); choose one by "
                "name (a scenario's layout.map_name)",
            )
        key = names[0]
    elif map_name not in maps:
        raise InputError(source, map_name, f"no such map (available: {', '.join(names[:5])})")
    else:
        key = map_name
    value = maps[key]
    if value is None:
        raise InputError(source, key, "expected a map string (rows separated by newlines)")
    return parse_pogema(value, source=source, name=key, field=key, cell_size=cell_size)


def _map_string(value: object) -> str | None:
    """A YAML entry as one map string (rows may be a list of strings); None if it is not one."""
    if isinstance(value, list) and value and all(isinstance(row, str) for row in value):
        return "\n".join(value)
    return value if isinstance(value, str) else None
