"""Floor map readers and writers; every grid format goes through
:func:`~warehouse.floor.grid.graph_from_grid`.

* ASCII drawing — :func:`parse_ascii` (:mod:`.ascii`);
* MovingAI / League of Robot Runners ``.map`` — :func:`parse_movingai` (:mod:`.movingai`);
* POGEMA string map / YAML collection — :func:`parse_pogema`, :func:`parse_pogema_yaml`
  (:mod:`.pogema`);
* RHCR ``.map`` — :func:`parse_rhcr` (:mod:`.rhcr`);
* networkx node-link JSON and GraphML (non-grid floors) — :func:`parse_node_link_json`,
  :func:`parse_graphml`, and :func:`save_graph` to write them (:mod:`.graphio`); an in-memory
  networkx graph — :func:`read_graph`, by the rules of a JSON file of it;
* any file — :func:`load_map`, with format detection (:mod:`.detect`);
* League of Robot Runners problem files (a map, agent starts and a task sequence) —
  :func:`~.lorr.read_lorr_problem` (:mod:`.lorr`), read as a scenario by
  :func:`scenarios.load.lorr_scenario`;
* MovingAI MAPF benchmark scenario files (``.scen``: a map, each agent's start and goal) —
  :func:`~.movingai_scen.read_movingai_scen` (:mod:`.movingai_scen`), read as a one-shot
  scenario by :func:`scenarios.load.movingai_scen_scenario`.
"""

from .ascii import parse_ascii
from .detect import FORMATS, detect_format, load_map
from .graphio import parse_graphml, parse_node_link_json, read_graph, save_graph
from .movingai import parse_movingai
from .pogema import parse_pogema, parse_pogema_yaml
from .rhcr import parse_rhcr

__all__ = [
    "FORMATS",
    "detect_format",
    "load_map",
    "parse_ascii",
    "parse_graphml",
    "parse_movingai",
    "parse_node_link_json",
    "parse_pogema",
    "parse_pogema_yaml",
    "parse_rhcr",
    "read_graph",
    "save_graph",
]
