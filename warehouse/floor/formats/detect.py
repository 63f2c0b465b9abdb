"""Load a floor map file of any supported format, detecting the format when asked to.

Detection (``fmt="auto"``), by extension first, then by content:

=====================  ==================================================================
``.json``              networkx node-link JSON
``.graphml`` ``.xml``  GraphML
``.yaml`` ``.yml``     POGEMA YAML map collection
``.map``               MovingAI when the first line starts with ``type``; RHCR when it is
                       ``rows,cols``; anything else is refused
other (``.txt`` …)     JSON if the text starts with ``{``, GraphML with ``<``, MovingAI with
                       ``type``, RHCR with ``rows,cols``; otherwise a drawn grid: POGEMA when
                       it has ``$``, or both ``#`` and ``@`` and none of ASCII's own marks
                       (``p S P C > < ^ v``); ASCII otherwise
=====================  ==================================================================

Unreadable, empty, binary (NUL bytes, not UTF-8) or oversized files (see
:mod:`warehouse.floor.formats.common`) raise :class:`~warehouse.errors.InputError`, as does
every malformed map; no other exception escapes for a bad file.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from ...errors import InputError
from .ascii import ASCII_ONLY_CHARS, parse_ascii
from .common import read_map_text, split_lines
from .graphio import parse_graphml, parse_node_link_json
from .movingai import parse_movingai
from .pogema import parse_pogema, parse_pogema_yaml
from .rhcr import SHAPE_LINE, parse_rhcr

FORMATS = ("auto", "movingai", "pogema", "rhcr", "ascii", "json", "graphml")
YAML_EXTS = (".yaml", ".yml")


def load_map(path: str | Path, *, fmt: str = "auto", map_name: str | None = None) -> nx.Graph:
    """Read a floor map file into a floor graph (see module docstring).

    ``map_name`` picks one map of a POGEMA YAML collection holding several.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise InputError(path, "format", f"unknown map format {fmt!r} (one of {FORMATS})")
    text = read_map_text(path)
    guessed = fmt == "auto"
    if guessed:
        fmt = detect_format(path, text)
    if map_name is not None and not (fmt == "pogema" and path.suffix.lower() in YAML_EXTS):
        raise InputError(path, "map_name", f"picks a map of a POGEMA YAML file; this is {fmt}")
    graph = _parse(path, text, fmt, map_name)
    if guessed and fmt == "pogema" and path.suffix.lower() not in YAML_EXTS and "$" not in text:
        graph.graph["reader_notes"] = [
            "read as a POGEMA map (# and @, no ASCII mark): its @ cells are pick faces, not "
            "shelves; layout.format: ascii reads @ as shelves"
        ]
    return graph


def _parse(path: Path, text: str, fmt: str, map_name: str | None) -> nx.Graph:
    """The floor graph of ``text`` read as ``fmt``."""
    name = path.stem
    try:
        if fmt == "movingai":
            return parse_movingai(text, source=path, name=name)
        if fmt == "rhcr":
            return parse_rhcr(text, source=path, name=name)
        if fmt == "pogema":
            if path.suffix.lower() in YAML_EXTS:
                return parse_pogema_yaml(text, source=path, map_name=map_name)
            return parse_pogema(text, source=path, name=name)
        if fmt == "ascii":
            return parse_ascii(text, source=path, name=name, field="")
        if fmt == "json":
            return parse_node_link_json(text, source=path, name=name)
        return parse_graphml(text, source=path, name=name)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
        # Safety net: a parser bug must still reach the user as one line, not a traceback.
        raise InputError(path, None, f"cannot read as {fmt}: {exc}") from None


def detect_format(path: str | Path, text: str) -> str:
    """The format of a map file (see module docstring)."""
    path = Path(path)
    ext = path.suffix.lower()
    first = next((line.strip() for line in split_lines(text) if line.strip()), "")
    if ext == ".json":
        return "json"
    if ext in (".graphml", ".xml"):
        return "graphml"
    if ext in YAML_EXTS:
        return "pogema"
    if ext == ".map":
        if first.lower().startswith("type"):
            return "movingai"
        if SHAPE_LINE.match(first):
            return "rhcr"
        raise InputError(
            path,
            "header",
            f"line 1: unrecognised .map header {first[:40]!r}: expected 'type octile' "
            "(MovingAI) or 'rows,cols' (RHCR)",
        )
    if first.startswith("{"):
        return "json"
    if first.startswith("<"):
        return "graphml"
    if first.lower().split(maxsplit=1)[:1] == ["type"]:  # 'type octile', 'type\toctile'
        return "movingai"
    if SHAPE_LINE.match(first):
        return "rhcr"
    chars = set(text)
    if "$" in chars:
        return "pogema"
    if "#" in chars and "@" in chars and not chars & ASCII_ONLY_CHARS:
        return "pogema"
    return "ascii"
